// Escalations in the browser: a partner escalates from the ticket, the manager on call acknowledges it on the
// dashboard, the partner sees the state. Also the personalised link form, and the admin's on-call page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

test("partner escalates, the manager on call acknowledges, the partner sees it", async () => {
  const partner = await browser.newPage();
  await signIn(partner, server.base, "pat@acme.example");
  await partner.goto(`${server.base}/portal/tickets/new`);
  await partner.fill("#subject", "Checkout down");
  await partner.fill("#description", "Nobody can pay.");
  await partner.click("text=Submit ticket");
  const ticketUrl = partner.url();
  await partner.click("#escalate");
  await partner.fill("#impact", "All EU customers cannot pay since 10:00");
  await partner.fill("#needed", "An engineer on a call now");
  await shot(partner, "escalation-form");
  await partner.click("button:has-text('Escalate')");
  assert.ok((await partner.textContent("#escalation-received")).includes("Alex Agent"), "names the manager on call");
  await shot(partner, "escalation-received");

  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  await agent.goto(`${server.base}/agent/escalations`);
  assert.ok((await agent.textContent("#escalations")).includes("All EU customers cannot pay"));
  await shot(agent, "escalations-dashboard");
  await agent.click("#escalations button:has-text('Acknowledge')");
  await agent.goto(`${server.base}/agent/escalations?status=acknowledged`);
  assert.ok((await agent.textContent("#escalations")).includes("acknowledged"));

  await partner.goto(ticketUrl);
  assert.ok((await partner.textContent("#escalation-state")).includes("acknowledged"));
  const t = await partner.textContent("section[aria-label=Conversation]");
  assert.ok(t.includes("support manager on call"));
});

test("the personalised link form accepts only the organization's contacts; the admin sees who is on call", async () => {
  const admin = await browser.newPage();
  await signIn(admin, server.base, "admin@vendor.example");
  await admin.goto(`${server.base}/admin/organizations`);
  await admin.click("text=Acme Integrations");
  const url = (await admin.textContent("#escalation-link")).trim();
  await shot(admin, "admin-organization-escalation");
  await admin.goto(`${server.base}/admin/oncall`);
  assert.ok((await admin.textContent("main")).includes("On call now: Alex Agent"));
  // A swap: the admin covers the next two hours.
  const fmt = (d) => d.toISOString().slice(0, 16);
  const now = Date.now();
  await admin.selectOption("#o-user", { label: "Avery Admin <admin@vendor.example>" });
  await admin.fill("#o-from", fmt(new Date(now - 3600e3)));
  await admin.fill("#o-to", fmt(new Date(now + 7200e3)));
  await admin.fill("#o-reason", "swap");
  await admin.click("#override-form button");
  assert.ok((await admin.textContent("main")).includes("On call now: Avery Admin (Override)"));
  await shot(admin, "admin-oncall");

  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(url);
  await visitor.fill("#contact", "stranger@elsewhere.example");
  await visitor.fill("#ticket_id", "1");
  await visitor.fill("#impact", "x");
  await visitor.fill("#needed", "y");
  await visitor.click("button:has-text('Escalate')");
  assert.ok((await visitor.textContent(".error")).includes("not a provisioned contact"));
});

test("every page above satisfied the Content-Security-Policy", () => {
  assert.deepEqual(browser.cspViolations, []);
});
