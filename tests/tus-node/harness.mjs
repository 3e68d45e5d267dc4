// Starts the real partnerdesk binary (fresh data dir, demo data plus a second partner organization) for the
// tus-js-client tests, and can restart it on the same port and data dir (SIGTERM, then `serve` again).
// Clients reach it through a TCP proxy in this process (PARTNERDESK_PUBLIC_URL points at the proxy, so the absolute
// upload URLs the server hands out do too). The proxy can hold a request mid-body, so that a test can abort the
// client while a PATCH is half sent, and then cut that connection.
import { spawn, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createServer, connect } from "node:net";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const bin = process.env.PARTNERDESK_BIN || join(root, "target/debug/partnerdesk");
export const MiB = 1024 * 1024;

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => ok(port)); });
    srv.on("error", fail);
  });
}

/**
 * A TCP proxy to 127.0.0.1:upstreamPort. `holdAfter(n)` lets n more client→server bytes through, then stops
 * forwarding that connection and resolves; `cutHeld()` then ends the upstream side (the server sees the body end
 * early) and destroys the client side.
 */
class HoldingProxy {
  constructor(upstreamPort) {
    this.upstreamPort = upstreamPort;
    this.sent = 0;
    this.hold = null;
    this.held = [];
    this.sockets = new Set();
    this.server = createServer((client) => this.#pipe(client));
  }
  listen() {
    return new Promise((ok) => this.server.listen(0, "127.0.0.1", () => { this.port = this.server.address().port; ok(); }));
  }
  holdAfter(n) {
    return new Promise((resolve) => { this.hold = { at: this.sent + n, resolve }; });
  }
  cutHeld() {
    for (const { client, upstream } of this.held.splice(0)) {
      upstream.end();
      client.destroy();
    }
  }
  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((ok) => this.server.close(ok));
  }
  #pipe(client) {
    const upstream = connect(this.upstreamPort, "127.0.0.1");
    let holding = false;
    const kill = () => { client.destroy(); upstream.destroy(); };
    for (const s of [client, upstream]) { this.sockets.add(s); s.on("close", () => this.sockets.delete(s)); }
    // Once a connection is held, only cutHeld() ends its upstream side, whatever the client does meanwhile.
    client.on("error", () => (holding ? client.destroy() : kill()));
    upstream.on("error", kill);
    upstream.on("data", (d) => { if (!client.write(d)) { upstream.pause(); client.once("drain", () => upstream.resume()); } });
    upstream.on("end", () => client.end());
    client.on("end", () => { if (!holding) upstream.end(); });
    client.on("data", (d) => {
      if (holding) return;
      if (this.hold && this.sent + d.length >= this.hold.at) {
        const { at, resolve } = this.hold;
        this.hold = null;
        d = d.subarray(0, at - this.sent);
        holding = true;
        client.pause();
        this.held.push({ client, upstream });
        this.sent += d.length;
        upstream.write(d, () => resolve());
        return;
      }
      this.sent += d.length;
      if (!upstream.write(d)) { client.pause(); upstream.once("drain", () => { if (!holding) client.resume(); }); }
    });
  }
}

export const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

/** 20 MiB and a bit of random bytes (not a multiple of any chunk size), in memory and in a file. */
export function randomFile(dir, name) {
  const bytes = randomBytes(20 * MiB + 12345);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { bytes, path, name, size: bytes.length, sha256: sha256(bytes) };
}

export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "partnerdesk-tus-node-"));
  const port = await freePort();
  const proxy = new HoldingProxy(port);
  await proxy.listen();
  const base = `http://127.0.0.1:${proxy.port}`;
  const env = { ...process.env, PARTNERDESK_DATA_DIR: dir, PARTNERDESK_LISTEN: `127.0.0.1:${port}`, PARTNERDESK_PUBLIC_URL: base, RUST_LOG: process.env.RUST_LOG || "warn" };
  const cli = (...args) => execFileSync(bin, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  cli("demo");
  cli("admin", "create-org", "--name", "Globex", "--alliance-partner");
  cli("admin", "create-user", "--email", "sid@globex.example", "--name", "Sid", "--role", "end-user", "--org", "Globex");

  let proc = null;
  async function start() {
    proc = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", "inherit"] });
    const exited = new Promise((r) => proc.once("exit", r));
    proc.exited = exited;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return; } catch { /* not up yet */ }
      if (i > 300 || proc.exitCode !== null) throw new Error("partnerdesk did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async function stop(signal = "SIGTERM") {
    if (!proc) return;
    const p = proc;
    proc = null;
    p.kill(signal);
    let late = false;
    const timer = setTimeout(() => { late = true; p.kill("SIGKILL"); }, 15000);
    await p.exited;
    clearTimeout(timer);
    if (late) throw new Error(`partnerdesk did not stop within 15 s of ${signal}`);
  }
  await start();

  const auth = (token) => ({ Authorization: `Bearer ${token}` });
  return {
    base,
    proxy,
    endpoint: `${base}/api/v2/large_uploads/`,
    cli,
    auth,
    token: (email) => cli("admin", "api-token", "--email", email),
    dataDir: dir,
    restart: async () => { await stop(); await start(); },
    /** Kills the server (SIGKILL: nothing in flight is finished or recorded) and starts it again. */
    crashAndRestart: async () => { await stop("SIGKILL"); await start(); },
    async close() {
      try { await stop(); } finally { await proxy.close(); rmSync(dir, { recursive: true, force: true }); }
    },
    async createTicket(token, subject = "Large file") {
      const r = await fetch(`${base}/api/v2/requests.json`, {
        method: "POST",
        headers: { ...auth(token), "Content-Type": "application/json" },
        body: JSON.stringify({ request: { subject, comment: { body: "See the attached file." } } }),
      });
      if (r.status !== 201) throw new Error(`creating a ticket: ${r.status} ${await r.text()}`);
      return (await r.json()).request.id;
    },
    async lastAttachment(token, ticketId) {
      const r = await fetch(`${base}/api/v2/requests/${ticketId}/comments.json`, { headers: auth(token) });
      if (r.status !== 200) throw new Error(`comments: ${r.status} ${await r.text()}`);
      const { comments } = await r.json();
      return comments.at(-1).attachments[0];
    },
    async download(token, url) {
      const r = await fetch(url, { headers: auth(token) });
      if (r.status !== 200) throw new Error(`download: ${r.status} ${await r.text()}`);
      return Buffer.from(await r.arrayBuffer());
    },
    /** The server's Upload-Offset for an upload (HEAD). */
    async offset(token, uploadUrl) {
      const r = await fetch(uploadUrl, { method: "HEAD", headers: { ...auth(token), "Tus-Resumable": "1.0.0" } });
      if (r.status !== 200) throw new Error(`HEAD ${uploadUrl}: ${r.status}`);
      return Number(r.headers.get("upload-offset"));
    },
  };
}
