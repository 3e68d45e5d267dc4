// Custom fields on the partner form: a partner picks the integration, and the connector version appears (with
// JavaScript) only when the Acme Connector is chosen, required then; without JavaScript it is shown with a
// sentence saying when it is needed. The values land on the ticket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser, token;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  token = server.cli("admin", "api-token", "--email", "admin@vendor.example").split(/\s+/).pop();
});
after(async () => { await browser?.close(); await server?.stop(); });

async function api(method, path, body) {
  const r = await fetch(`${server.base}/api/v2/${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

test("a partner files through the partner form with a conditional field", async () => {
  const integration = (await api("POST", "ticket_fields.json", { ticket_field: { type: "tagger", title: "Integration",
    visible_in_portal: true, editable_in_portal: true, required_in_portal: true,
    custom_field_options: [{ name: "Acme Connector", value: "acme_connector" }, { name: "Other", value: "other_integration" }] } })).ticket_field.id;
  const version = (await api("POST", "ticket_fields.json", { ticket_field: { type: "text", title: "Connector version",
    visible_in_portal: true, editable_in_portal: true } })).ticket_field.id;
  const forms = (await api("GET", "ticket_forms.json")).ticket_forms;
  const partnerForm = forms.find((f) => f.audience === "partners").id;
  await api("PUT", `ticket_forms/${partnerForm}.json`, { ticket_form: { ticket_field_ids: [integration, version],
    end_user_conditions: [{ parent_field_id: integration, value: "acme_connector", child_fields: [{ id: version, is_required: true }] }] } });

  const partner = await browser.newPage();
  await signIn(partner, server.base, "pat@acme.example");
  await partner.goto(`${server.base}/portal/tickets/new`);
  assert.ok(await partner.isVisible(`#field_${integration}`));
  assert.ok(!(await partner.isVisible(`#field_${version}`)), "hidden until the Acme Connector is chosen");
  await partner.selectOption(`#field_${integration}`, "acme_connector");
  assert.ok(await partner.isVisible(`#field_${version}`));
  await partner.fill("#subject", "Connector drops records");
  await partner.fill("#description", "Since the last update some records are missing.");
  await partner.click("text=Submit ticket");
  assert.match(await partner.textContent("[role=alert]"), /Connector version.*required/);
  assert.equal(await partner.inputValue(`#field_${integration}`), "acme_connector", "the choice is kept");
  await partner.fill(`#field_${version}`, "4.2.1");
  await shot(partner, "portal-new-ticket-fields");
  await partner.click("text=Submit ticket");
  assert.match(partner.url(), /\/portal\/tickets\/\d+$/);
  const id = partner.url().split("/").pop();
  const ticket = (await api("GET", `tickets/${id}.json`)).ticket;
  const values = Object.fromEntries(ticket.custom_fields.map((f) => [f.id, f.value]));
  assert.deepEqual(values, { [integration]: "acme_connector", [version]: "4.2.1" });
  assert.ok(ticket.tags.includes("acme_connector"));

  // The agent sees the values on the ticket page and changes one; a colleague's change to another field, made
  // while the page was open, is not undone.
  await api("PUT", `tickets/${id}.json`, { ticket: { status: "open" } });
  const agent = await (await browser.newContext()).newPage();
  await signIn(agent, server.base, "agent@vendor.example");
  await agent.goto(`${server.base}/agent/tickets/${id}`);
  assert.equal(await agent.inputValue(`#field_${version}`), "4.2.1");
  assert.equal(await agent.inputValue(`#field_${integration}`), "acme_connector");
  await api("PUT", `tickets/${id}.json`, { ticket: { custom_fields: [{ id: integration, value: "other_integration" }] } });
  await agent.fill(`#field_${version}`, "4.3.0");
  await shot(agent, "agent-ticket-fields");
  await agent.click("text=Update ticket");
  assert.match(agent.url(), new RegExp(`/agent/tickets/${id}$`));
  const after = (await api("GET", `tickets/${id}.json`)).ticket;
  assert.deepEqual(Object.fromEntries(after.custom_fields.map((f) => [f.id, f.value])), { [integration]: "other_integration", [version]: "4.3.0" });
  assert.equal(await agent.inputValue(`#field_${version}`), "4.3.0");

  // Without JavaScript the conditional field is there, saying when it is needed.
  const plain = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signIn(plain, server.base, "pat@acme.example");
  await plain.goto(`${server.base}/portal/tickets/new`);
  assert.ok(await plain.isVisible(`#field_${version}`));
  assert.match(await plain.textContent(`#wrap_field_${version} .hint`), /Required when Integration is Acme Connector/);
});
