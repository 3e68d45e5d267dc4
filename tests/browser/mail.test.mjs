// Mail from a stranger is not filed: admins see it, with why, on the Mail page (escaped), and never as a ticket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

test("refused mail is listed for admins with the reason, as text", async () => {
  const raw = [
    "From: Sam Stranger <sam@nowhere.example>",
    "To: support@vendor.example",
    "Subject: Please add me <b>now</b>",
    "Message-ID: <stranger-1@nowhere.example>",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "I need access. <script>alert(1)</script>",
    "",
  ].join("\r\n");
  assert.match(server.ingest(raw), /^refused: the sender has no account/);
  assert.equal(server.ingest(raw), "already handled");

  const admin = await browser.newPage();
  await signIn(admin, server.base, "admin@vendor.example");
  await admin.click("nav >> text=Mail");
  const row = admin.locator("table[aria-label='Refused mail'] tr", { hasText: "sam@nowhere.example" });
  assert.equal(await row.count(), 1);
  const text = await row.textContent();
  assert.ok(text.includes("the sender has no account"), text);
  assert.ok(text.includes("Please add me <b>now</b>"), "the subject is shown as text: " + text);
  assert.ok(text.includes("<script>alert(1)</script>"), "the body is shown as text: " + text);
  assert.equal(await admin.locator("table[aria-label='Refused mail'] b").count(), 0, "no markup from the message");
  await shot(admin, "admin-mail");

  // Agents who are not admins do not get the page.
  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  const resp = await agent.goto(`${server.base}/admin/mail`);
  assert.equal(resp.status(), 403);
});

test("an agent chooses what they are e-mailed about and which groups they follow", async () => {
  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  await agent.click("nav >> text=Notifications");
  assert.equal(await agent.isChecked("#ticket_assigned"), true, "on by default");
  await agent.uncheck("#ticket_assigned");
  const group = agent.locator("input[name=follow]").first();
  assert.equal(await group.isChecked(), false);
  await group.check();
  await agent.click("text=Save");
  assert.ok((await agent.textContent("#saved")).includes("saved"));
  assert.equal(await agent.isChecked("#ticket_assigned"), false);
  assert.equal(await agent.isChecked("#requester_replied"), true);
  assert.equal(await agent.locator("input[name=follow]").first().isChecked(), true);
  await shot(agent, "agent-notifications");
});

test("every page above satisfied the Content-Security-Policy", () => {
  assert.deepEqual(browser.cspViolations, []);
});
