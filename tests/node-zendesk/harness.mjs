// Starts the real partnerdesk binary for the node-zendesk tests: a fresh data dir with the demo data, on SQLite or on
// a fresh PostgreSQL database (made and dropped with psql; skipped when PostgreSQL cannot be reached), as
// tests/tus-node does it.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const bin = process.env.PARTNERDESK_BIN || join(root, "target/debug/partnerdesk");
const pgBase = process.env.PARTNERDESK_TEST_PG || "postgres://postgres@127.0.0.1:5432";

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => ok(port)); });
    srv.on("error", fail);
  });
}

function psql(sql) {
  execFileSync("psql", [`${pgBase}/postgres`, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], { stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether PostgreSQL answers (the PostgreSQL runs are skipped when it does not, unless PARTNERDESK_TEST_REQUIRE_PG=1). */
export function postgresReachable() {
  try {
    psql("SELECT 1");
    return true;
  } catch (e) {
    if (process.env.PARTNERDESK_TEST_REQUIRE_PG === "1") throw e;
    return false;
  }
}

/** `backend`: "sqlite" or "postgres". */
export async function startServer(backend) {
  const dir = mkdtempSync(join(tmpdir(), "partnerdesk-node-zendesk-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, PARTNERDESK_DATA_DIR: dir, PARTNERDESK_LISTEN: `127.0.0.1:${port}`, PARTNERDESK_PUBLIC_URL: base, RUST_LOG: process.env.RUST_LOG || "warn" };
  let database = null;
  if (backend === "postgres") {
    database = `pd_node_zendesk_${process.pid}_${Date.now()}`;
    psql(`CREATE DATABASE ${database}`);
    env.PARTNERDESK_DATABASE_URL = `${pgBase}/${database}`;
  }
  const cli = (...args) => execFileSync(bin, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  cli("demo");
  const proc = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise((r) => proc.once("exit", r));
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not up yet */ }
    if (i > 300 || proc.exitCode !== null) throw new Error("partnerdesk did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    token: (email) => cli("admin", "api-token", "--email", email),
    async close() {
      proc.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
      if (database) psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}
