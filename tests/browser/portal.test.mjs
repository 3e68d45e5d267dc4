// A partner files through the partner form and replies; an agent works the ticket from the partner queue with the
// organization notes in front of them; the partner sees only the public reply.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

test("partner files, agent answers internally and publicly, partner sees only the public reply", async () => {
  const partner = await browser.newPage();
  await signIn(partner, server.base, "pat@acme.example");
  assert.match(partner.url(), /\/portal$/);
  await partner.click("text=New ticket");
  // The Alliance Partner form is offered first, and selected.
  assert.equal((await partner.textContent("form.card h2")).trim(), "Alliance Partner");
  await partner.fill("#subject", "Connector sync stalls");
  await partner.fill("#description", "Since 4.2 the sync stops after 10k records.");
  await shot(partner, "portal-new-ticket");
  await partner.click("text=Submit ticket");
  assert.match(partner.url(), /\/portal\/tickets\/\d+$/);
  const ticketUrl = partner.url();
  const id = ticketUrl.split("/").pop();
  assert.equal(await partner.locator("#misrouted-notice").count(), 0);
  await partner.fill("#body", "Logs are attached to our shared drive.");
  await partner.click("text=Send");
  assert.ok((await partner.textContent("section[aria-label=Conversation]")).includes("Logs are attached"));
  await partner.goto(`${server.base}/portal`);
  assert.ok((await partner.textContent("table")).includes("Connector sync stalls"));
  await shot(partner, "portal-home");

  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  assert.match(agent.url(), /\/agent$/);
  // The partner queue is the first queue and the default view.
  assert.equal((await agent.textContent("main h1")).trim(), "Partner Queue");
  await shot(agent, "agent-partner-queue");
  await agent.click(`a[href="/agent/tickets/${id}"]`);
  const banner = agent.locator("#org-notes");
  assert.ok(await banner.isVisible(), "organization notes banner is visible");
  assert.ok((await banner.textContent()).includes("Always check their integration version first"));
  const bannerBox = await banner.boundingBox();
  const titleBox = await agent.locator("main h1").boundingBox();
  assert.ok(bannerBox.y < titleBox.y, "the banner sits above the ticket");
  assert.ok((await agent.textContent("#routing")).includes("Alliance Partner"));
  await agent.check("input[value=internal]");
  await agent.fill("#body", "INTERNAL: known bug PD-42, fix in 4.3");
  await agent.click("text=Update ticket");
  await agent.fill("#body", "Thanks, this is a known issue; a fix ships in 4.3.");
  await agent.selectOption("#status", "pending");
  await agent.click("text=Update ticket");
  assert.equal(await agent.locator("article.comment.internal").count(), 1);
  assert.ok((await agent.textContent("article.comment.internal")).includes("Internal note"));
  assert.ok((await agent.textContent("#audit")).includes("internal note added"));
  await shot(agent, "agent-ticket");

  await partner.goto(ticketUrl);
  const conversation = await partner.textContent("section[aria-label=Conversation]");
  assert.ok(conversation.includes("a fix ships in 4.3"));
  assert.ok(!conversation.includes("PD-42"), "internal note must not reach the partner");
  assert.ok(!(await partner.content()).includes("Always check their integration version"), "org notes must not reach the partner");
  await shot(partner, "portal-ticket");
});

test("a partner filing through the general form is routed to the partner queue and told", async () => {
  const partner = await (await browser.newContext()).newPage();
  await signIn(partner, server.base, "pat@acme.example");
  await partner.goto(`${server.base}/portal/tickets/new`);
  await partner.click("text=General Support");
  assert.equal((await partner.textContent("form.card h2")).trim(), "General Support");
  await partner.fill("#subject", "Question about licensing");
  await partner.fill("#description", "Filed through the wrong form.");
  await partner.click("text=Submit ticket");
  const notice = partner.locator("#misrouted-notice");
  assert.ok(await notice.isVisible());
  assert.ok((await notice.textContent()).includes("Alliance Partner"));
  await shot(partner, "portal-misrouted-notice");
  const id = partner.url().split("/").pop();

  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  assert.ok(await agent.locator(`a[href="/agent/tickets/${id}"]`).isVisible(), "ticket is in the partner queue");
  await agent.click(`a[href="/agent/tickets/${id}"]`);
  assert.ok((await agent.textContent("#routing")).includes("misrouted form corrected"));
});

test("a partner copies a colleague and the agent copies a colleague of theirs; both see who is copied", async () => {
  server.cli("admin", "create-user", "--email", "lee@acme.example", "--name", "Lee Colleague", "--role", "end-user", "--org", "Acme Integrations");
  const partner = await (await browser.newContext()).newPage();
  await signIn(partner, server.base, "pat@acme.example");
  await partner.goto(`${server.base}/portal/tickets/new`);
  await partner.fill("#subject", "Token refresh fails");
  await partner.fill("#description", "Refresh answers 401.");
  await partner.click("text=Submit ticket");
  const id = partner.url().split("/").pop();
  await partner.fill("#ccs", "lee@acme.example");
  await partner.click("text=Send");
  assert.equal((await partner.textContent("#copied")).trim(), "Copied: lee@acme.example");
  // Someone outside the organization cannot be copied: the page says why.
  await partner.fill("#ccs", "lee@acme.example, admin@vendor.example");
  await partner.click("text=Send");
  assert.ok((await partner.textContent("main")).includes("cannot copy admin@vendor.example"));

  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  await agent.goto(`${server.base}/agent/tickets/${id}`);
  assert.equal(await agent.inputValue("#ccs"), "lee@acme.example");
  await agent.fill("#ccs", "lee@acme.example, admin@vendor.example");
  await agent.click("text=Update ticket");
  assert.ok((await agent.textContent("#copied")).includes("lee@acme.example, admin@vendor.example"));
  await shot(agent, "agent-ticket-ccs");
  // The copied colleague is told of the agent's public answer.
  await agent.fill("#body", "A new token is on its way.");
  await agent.click("text=Update ticket");
  const mail = await server.mailTo("lee@acme.example", new RegExp(`\\[#${id}\\]`));
  assert.ok(mail.text.includes("A new token is on its way."), mail.text);
});

test("every page above satisfied the Content-Security-Policy", () => {
  assert.deepEqual(browser.cspViolations, []);
});
