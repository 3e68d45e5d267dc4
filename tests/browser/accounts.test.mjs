// Accounts are provisioned: an invited user sets a password and signs in; a suspended user cannot sign in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

test("sign-in page says accounts are created by the account manager", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.base}/signin`);
  assert.ok((await page.textContent("#no-account")).includes("account manager"));
  await shot(page, "signin");
  await signIn(page, server.base, "nobody@unknown.example", "whatever-password");
  assert.ok((await page.textContent(".error")).includes("do not match"));
});

test("invited user sets a password and signs in; suspended user cannot", async () => {
  const admin = await browser.newPage();
  await signIn(admin, server.base, "agent@vendor.example");
  // The agent is Acme's account manager: they provision Acme's representatives from the organization page.
  await admin.goto(`${server.base}/admin/organizations`);
  await admin.click("text=Acme Integrations");
  await admin.fill("#new-name", "Ivy Invited");
  await admin.fill("#new-email", "ivy@acme.example");
  await admin.click("text=Create and get invitation link");
  const text = await admin.textContent("#invitation");
  const link = text.match(/https?:\/\/\S+/)[0];
  // The same link is e-mailed to Ivy.
  const invitation = await server.mailTo("ivy@acme.example", /account/);
  assert.ok(invitation.text.includes(link), invitation.text);
  await shot(admin, "admin-organization");

  const ivy = await (await browser.newContext()).newPage();
  await ivy.goto(link);
  await ivy.fill("#password", "ivy's long passphrase");
  await ivy.fill("#confirm", "ivy's long passphrase");
  await shot(ivy, "set-password");
  await ivy.click("text=Set password");
  assert.ok((await ivy.textContent(".notice")).includes("password is set"));
  await signIn(ivy, server.base, "ivy@acme.example", "ivy's long passphrase");
  assert.match(ivy.url(), /\/portal$/);
  // The link works once.
  await ivy.goto(link);
  await ivy.fill("#password", "another passphrase!");
  await ivy.fill("#confirm", "another passphrase!");
  await ivy.click("text=Set password");
  assert.ok((await ivy.textContent(".error")).includes("already been used"));

  // Suspended: the open session stops working and signing in is refused.
  await admin.goto(`${server.base}/admin/organizations`);
  await admin.click("text=Acme Integrations");
  await admin.locator("tr", { hasText: "ivy@acme.example" }).locator("button", { hasText: "Suspend" }).click();
  assert.ok((await admin.locator("tr", { hasText: "ivy@acme.example" }).textContent()).includes("suspended"));
  await ivy.goto(`${server.base}/portal`);
  assert.match(ivy.url(), /\/signin/);
  await signIn(ivy, server.base, "ivy@acme.example", "ivy's long passphrase");
  assert.ok((await ivy.textContent(".error")).includes("suspended"));
});

test("every page above satisfied the Content-Security-Policy", () => {
  assert.deepEqual(browser.cspViolations, []);
});
