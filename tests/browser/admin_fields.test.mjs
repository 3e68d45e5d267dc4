// The admin pages for custom fields, in a real browser: an admin defines a drop-down field on /admin/fields (a
// first try without options is refused with the reason, and what was typed is kept), attaches it to the Alliance
// Partner form on the form's page, and a partner then picks from it on the new-ticket page; the choice lands on the
// ticket with its tag.
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

async function api(path) {
  const r = await fetch(`${server.base}/api/v2/${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await r.text();
  assert.ok(r.ok, `${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

test("an admin defines a drop-down, attaches it to the partner form, and a partner fills it", async () => {
  const admin = await browser.newPage();
  await signIn(admin, server.base, "admin@vendor.example");
  await admin.click("header nav >> text=Fields");
  assert.match(admin.url(), /\/admin\/fields$/);
  await admin.selectOption("#type", "tagger");
  await admin.fill("#title", "Deployment");
  await admin.fill("#description", "Where the product runs");
  await admin.check("input[name=required_in_portal]");
  await admin.click("text=Create field");
  assert.match(await admin.textContent("[role=alert]"), /a drop-down or multi-select field needs options/);
  assert.equal(await admin.inputValue("#title"), "Deployment", "the title is kept");
  assert.equal(await admin.inputValue("#type"), "tagger", "the type is kept");
  assert.ok(await admin.isChecked("input[name=required_in_portal]"), "the flags are kept");
  await admin.fill("#options", "On premises=on_premises\nCloud (SaaS)=cloud");
  await shot(admin, "admin-new-field");
  await admin.click("text=Create field");
  assert.match(admin.url(), /\/admin\/fields\/\d+\?saved=created$/);
  const field = Number(new URL(admin.url()).pathname.split("/").pop());
  assert.match(await admin.textContent("[role=status]"), /Field created/);

  await admin.click("header nav >> text=Forms");
  await admin.click("table >> text=Alliance Partner");
  assert.match(admin.url(), /\/admin\/forms\/\d+$/);
  await admin.check(`#on_${field}`);
  await admin.fill(`#order_${field}`, "1");
  await shot(admin, "admin-form-fields");
  await admin.click("text=Save form");
  assert.match(await admin.textContent("[role=status]"), /Saved/);
  assert.ok(await admin.isChecked(`#on_${field}`));

  const partner = await (await browser.newContext()).newPage();
  await signIn(partner, server.base, "pat@acme.example");
  await partner.goto(`${server.base}/portal/tickets/new`);
  assert.equal((await partner.textContent("form.card h2")).trim(), "Alliance Partner");
  assert.match(await partner.textContent(`label[for=field_${field}]`), /Deployment \(required\)/);
  const options = await partner.locator(`#field_${field} option`).allTextContents();
  assert.deepEqual(options, ["-", "On premises", "Cloud (SaaS)"]);
  await partner.selectOption(`#field_${field}`, "cloud");
  await partner.fill("#subject", "Sync stalls in the cloud");
  await partner.fill("#description", "Since Monday the nightly sync stops halfway.");
  await shot(partner, "portal-new-ticket-admin-field");
  await partner.click("text=Submit ticket");
  assert.match(partner.url(), /\/portal\/tickets\/\d+$/);
  const id = partner.url().split("/").pop();
  const ticket = (await api(`tickets/${id}.json`)).ticket;
  assert.deepEqual(ticket.custom_fields.find((f) => f.id === field)?.value, "cloud");
  assert.ok(ticket.tags.includes("cloud"), ticket.tags.join(" "));
  assert.deepEqual(browser.cspViolations, []);
});
