// Starts the real partnerdesk binary (fresh data dir, demo data) and Debian's chromium through playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const bin = process.env.PARTNERDESK_BIN || join(root, "target/debug/partnerdesk");
export const artifacts = join(here, "artifacts");
export const PASSWORD = "partnerdesk-demo";

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => ok(port)); });
    srv.on("error", fail);
  });
}

// A real SMTP server (nodemailer's smtp-server) that keeps what partnerdesk sends, parsed by mailparser.
async function startSmtp() {
  const mails = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, done) {
      simpleParser(stream).then((m) => { mails.push(m); done(); }, done);
    },
  });
  const port = await freePort();
  await new Promise((ok) => smtp.listen(port, "127.0.0.1", ok));
  return { smtp, mails, url: `smtp://127.0.0.1:${port}` };
}

export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "partnerdesk-browser-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { smtp, mails, url: smtpUrl } = await startSmtp();
  const env = {
    ...process.env, PARTNERDESK_DATA_DIR: dir, PARTNERDESK_LISTEN: `127.0.0.1:${port}`, PARTNERDESK_PUBLIC_URL: base,
    PARTNERDESK_SMTP_URL: smtpUrl, PARTNERDESK_WORKER_INTERVAL_MS: "200", RUST_LOG: "warn",
  };
  execFileSync(bin, ["demo"], { env, stdio: "ignore" });
  const proc = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not up yet */ }
    if (i > 300) throw new Error("partnerdesk did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base, env, mails,
    // The first message to `address` whose subject matches, once it has arrived.
    async mailTo(address, subject = /./) {
      for (let i = 0; i < 100; i++) {
        const m = mails.find((m) => m.to?.text.includes(address) && subject.test(m.subject));
        if (m) return m;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no mail to ${address} matching ${subject}`);
    },
    cli: (...args) => execFileSync(bin, args, { env, encoding: "utf8" }).trim(),
    // One e-mail through `partnerdesk mail-ingest`, as a mail server's pipe delivers it.
    ingest: (raw) => execFileSync(bin, ["mail-ingest"], { env, input: raw, encoding: "utf8" }).trim(),
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
      await new Promise((r) => smtp.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  // Every page is watched for what the Content-Security-Policy refused (see `cspViolations`).
  browser.cspViolations = [];
  const watch = (page) => page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) browser.cspViolations.push(`${page.url()}: ${m.text()}`);
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.on("page", watch);
    return context;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    watch(page);
    return page;
  };
  return browser;
}

export async function signIn(page, base, email, password = PASSWORD) {
  await page.goto(`${base}/signin`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
}

export async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}
