// The large-file widget on the ticket page: a progress bar, pause, and resume after a page reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, createHash } from "node:crypto";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server, browser, dir;
before(async () => { server = await startServer(); browser = await launchBrowser(); dir = mkdtempSync(join(tmpdir(), "pd-upload-")); });
after(async () => { await browser?.close(); await server?.stop(); rmSync(dir, { recursive: true, force: true }); });

test("a partner uploads a large file with the widget, pausing and resuming after a reload", async () => {
  const size = 160 * 1024 * 1024;
  const bytes = randomBytes(size);
  const path = join(dir, "core-dump.bin");
  writeFileSync(path, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");

  const page = await browser.newPage();
  await signIn(page, server.base, "pat@acme.example");
  await page.goto(`${server.base}/portal/tickets/new`);
  await page.fill("#subject", "Crash with core dump");
  await page.fill("#description", "Core dump follows.");
  await page.click("text=Submit ticket");
  const ticketUrl = page.url();

  await page.setInputFiles("#large-file", path);
  await page.click("#large-start");
  // Pause once some of it is there.
  await page.waitForFunction(() => document.getElementById("large-progress").value > 16 * 1024 * 1024);
  await page.click("#large-pause");
  await page.waitForFunction(() => document.getElementById("large-status").textContent.includes("Paused"));
  const pausedAt = await page.evaluate(() => document.getElementById("large-progress").value);
  assert.ok(pausedAt > 0 && pausedAt < size, `paused at ${pausedAt}`);
  await shot(page, "upload-paused");

  // Reload: the page remembers the unfinished upload; choosing the same file resumes it, not restarts it.
  await page.reload();
  assert.ok((await page.textContent("#large-pending")).includes("core-dump.bin"));
  await page.setInputFiles("#large-file", path);
  await page.click("#large-start");
  await page.waitForFunction(() => document.getElementById("large-progress").value > 0);
  const resumedFrom = await page.evaluate(() => document.getElementById("large-progress").value);
  assert.ok(resumedFrom >= 8 * 1024 * 1024, `resumed from ${resumedFrom}, not from the start`);
  // 160 MB through a debug build on two shared cores: allow for a loaded machine.
  await page.waitForFunction(() => document.getElementById("large-upload").dataset.done === "1", null, { timeout: 180000 });
  await page.waitForLoadState("load");
  await page.goto(ticketUrl);
  const link = page.locator("ul.files a", { hasText: "core-dump.bin" });
  assert.equal(await link.count(), 1);
  assert.ok((await page.textContent("section[aria-label=Conversation]")).includes("Uploaded core-dump.bin (160.0 MB)"));
  await shot(page, "upload-done");

  // The stored file is the same file.
  const href = await link.getAttribute("href");
  const resp = await page.request.get(`${server.base}${href}`);
  assert.equal(resp.status(), 200);
  assert.equal(createHash("sha256").update(await resp.body()).digest("hex"), sha256);
});

test("every page above satisfied the Content-Security-Policy", () => {
  assert.deepEqual(browser.cspViolations, []);
});
