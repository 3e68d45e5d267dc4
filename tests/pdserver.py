"""The real partnerdesk binary on a free loopback port with a fresh SQLite database or PostgreSQL database, seeded
through the admin CLI: shared by the client tests (zenpy, metrics)."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("PARTNERDESK_BIN", ROOT / "target" / "debug" / "partnerdesk"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: str, port: int, database_url: str | None):
        self.port = port
        self.env = dict(os.environ)
        self.env.update(
            PARTNERDESK_DATA_DIR=data_dir,
            PARTNERDESK_LISTEN=f"127.0.0.1:{port}",
            PARTNERDESK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        )
        if database_url:
            self.env["PARTNERDESK_DATABASE_URL"] = database_url

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(BIN), *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done.stdout.strip()

    def token_for(self, email: str) -> str:
        return self.cli("admin", "api-token", "--email", email)


PG_BASE = os.environ.get("PARTNERDESK_TEST_PG", "postgres://postgres@127.0.0.1:5432")


def psql(sql: str) -> bool:
    try:
        done = subprocess.run(["psql", f"{PG_BASE}/postgres", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return False
    return done.returncode == 0


def run_server(database_url, **env):
    with tempfile.TemporaryDirectory(prefix="partnerdesk-test-") as data_dir:
        port = free_port()
        srv = Server(data_dir, port, database_url)
        srv.env.update(env)
        srv.cli("migrate")
        srv.cli("admin", "create-user", "--email", "admin@vendor.example", "--name", "Admin", "--role", "admin")
        log = open(Path(data_dir) / "server.log", "w")
        proc = subprocess.Popen([str(BIN), "serve"], env=srv.env, stdout=log, stderr=log)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError("partnerdesk did not start: " + (Path(data_dir) / "server.log").read_text())
                    time.sleep(0.1)
            yield srv
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def databases(request, prefix: str):
    """A context for the `server` fixtures: yields the database URL for `request.param` (None for SQLite)."""
    if request.param != "postgres":
        yield None
        return
    pg_name = f"{prefix}_{os.getpid()}_{int(time.time() * 1000)}"
    if not psql(f"CREATE DATABASE {pg_name}"):
        if os.environ.get("PARTNERDESK_TEST_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (PARTNERDESK_TEST_REQUIRE_PG=1) but unreachable")
        pytest.skip("PostgreSQL unreachable")
    try:
        yield f"{PG_BASE}/{pg_name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
