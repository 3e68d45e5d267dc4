// Forgot password: the link on the sign-in page, the same answer for any address, the e-mailed link that sets a new
// password once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, PASSWORD } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

async function ask(page, email) {
  await page.goto(`${server.base}/signin`);
  await page.click("#forgot");
  await page.fill("#email", email);
  await page.click("text=Send me a link");
  return page.textContent("#reset-sent");
}

test("a partner who forgot their password gets a link by e-mail and sets a new one", async () => {
  const page = await (await browser.newContext()).newPage();
  const answer = await ask(page, "pat@acme.example");
  await shot(page, "forgot-password");
  assert.equal(await ask(page, "nobody@acme.example"), answer, "the same answer for an address without an account");

  const mail = await server.mailTo("pat@acme.example", /Reset/);
  const link = mail.text.match(/https?:\/\/\S+\/account\/set-password\?token=\S+/)[0];
  await page.goto(link);
  await page.fill("#password", "a brand new passphrase");
  await page.fill("#confirm", "a brand new passphrase");
  await page.click("text=Set password");
  assert.ok((await page.textContent(".notice")).includes("password is set"));
  await signIn(page, server.base, "pat@acme.example", PASSWORD);
  assert.match(page.url(), /\/signin/, "the old password no longer works");
  await signIn(page, server.base, "pat@acme.example", "a brand new passphrase");
  assert.match(page.url(), /\/portal$/);

  // The link worked once.
  await page.goto(link);
  await page.fill("#password", "yet another passphrase");
  await page.fill("#confirm", "yet another passphrase");
  await page.click("text=Set password");
  assert.ok((await page.textContent(".error")).includes("already been used"));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(server.mails.filter((m) => m.to?.text.includes("nobody@acme.example")).length, 0);
});

test("every page above satisfied the Content-Security-Policy", () => {
  assert.deepEqual(browser.cspViolations, []);
});
