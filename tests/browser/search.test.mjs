// The search box in the header: an agent finds a ticket by a word of its conversation, sees the word highlighted
// and the query's filters as chips that come off again; a partner searches their own tickets and never finds one by
// the words of an internal note; a bad query says where it went wrong.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

test("agents and partners search from the header", async () => {
  const partner = await browser.newPage();
  await signIn(partner, server.base, "pat@acme.example");
  await partner.goto(`${server.base}/portal/tickets/new`);
  await partner.fill("#subject", "Kumquat importer times out");
  await partner.fill("#description", "The nightly kumquat import stops after an hour with a gateway timeout.");
  await partner.click("text=Submit ticket");
  const id = partner.url().split("/").pop();

  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  await agent.click(`a[href="/agent/tickets/${id}"]`);
  await agent.check("input[value=internal]");
  await agent.fill("#body", "Internal: the persimmon cluster is overloaded.");
  await agent.click("text=Update ticket");

  // From the header of any agent page.
  await agent.fill("header input[type=search]", "gateway status<solved");
  await agent.press("header input[type=search]", "Enter");
  assert.match(agent.url(), /\/search\?q=gateway\+status%3Csolved/);
  assert.ok((await agent.textContent("main")).includes("Kumquat importer times out"));
  assert.equal((await agent.textContent(".snippet mark")).toLowerCase(), "gateway");
  assert.equal((await agent.textContent(".chip code")).trim(), "status<solved");
  await shot(agent, "agent-search");
  await agent.click(".chip a");
  assert.equal(await agent.locator(".chip").count(), 0, "the chip came off");
  assert.equal(await agent.inputValue("#q"), "gateway");
  // Internal notes are staff's to find.
  await agent.goto(`${server.base}/search?q=persimmon`);
  assert.ok((await agent.textContent("main")).includes("Kumquat importer times out"));

  await partner.fill("header input[type=search]", "kumquat");
  await partner.press("header input[type=search]", "Enter");
  assert.ok((await partner.textContent("main")).includes("Kumquat importer times out"));
  assert.ok((await partner.getAttribute(`main a[href="/portal/tickets/${id}"]`, "href")).endsWith(id));
  await shot(partner, "portal-search");
  await partner.goto(`${server.base}/search?q=persimmon`);
  assert.ok((await partner.textContent("main")).includes("Nothing found"));
  assert.ok(!(await partner.content()).includes("persimmon cluster"), "no snippet of an internal note");

  const bad = await partner.goto(`${server.base}/search?q=${encodeURIComponent("colour:red")}`);
  assert.equal(bad.status(), 400);
  assert.match(await partner.textContent("[role=alert]"), /unknown keyword 'colour'.*character 1/);
});
