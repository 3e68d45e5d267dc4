"""Partner-bucket tests against real processes: a moto S3 server on a free loopback port stands in for the partner's
bucket, and the real partnerdesk binary (fresh SQLite data dir, seeded with `partnerdesk demo`) talks to it.

Every answer partnerdesk gives through `Api` is kept (status, headers, body) so that the last test can check that
the bucket's secret never left the server; the server runs with RUST_LOG=debug and its stdout+stderr go to a file
that is searched too."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PARTNERDESK_BIN", ROOT / "target" / "debug" / "partnerdesk"))
MOTO = Path(sys.executable).parent / "moto_server"

from bucketenv import ACCESS_KEY_ID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{what} did not start: " + log.read_text(errors="replace")[-4000:])
            time.sleep(0.1)


class Moto:
    def __init__(self, port: int):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key="moto-does-not-check-this",
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=32, retries={"max_attempts": 3}),
        )


@pytest.fixture(scope="module")
def moto():
    if not MOTO.exists():
        pytest.fail(f"{MOTO} missing: .venv/bin/pip install -r tests/buckets/requirements.txt")
    with tempfile.TemporaryDirectory(prefix="partnerdesk-moto-") as d:
        port = free_port()
        log_path = Path(d) / "moto.log"
        log = open(log_path, "w")
        proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
        try:
            wait_http(f"http://127.0.0.1:{port}/", proc, "moto_server", log_path)
            yield Moto(port)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


class Api:
    """requests with a bearer token; keeps every answer for the secret-hygiene check."""

    def __init__(self, server: "Server", token: str):
        self.server = server
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path_or_url: str, **kw) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else self.server.url + path_or_url
        kw.setdefault("timeout", 60)
        kw.setdefault("allow_redirects", False)
        r = self.http.request(method, url, **kw)
        self.server.answers.append((f"{method} {url} -> {r.status_code}", dict(r.headers), r.content))
        return r

    def get(self, p, **kw):
        return self.request("GET", p, **kw)

    def post(self, p, **kw):
        return self.request("POST", p, **kw)

    def put(self, p, **kw):
        return self.request("PUT", p, **kw)

    def delete(self, p, **kw):
        return self.request("DELETE", p, **kw)


class Server:
    def __init__(self, data_dir: Path, port: int):
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = data_dir.parent / "server.log"
        self.answers: list[tuple[str, dict, bytes]] = []
        self.proc: subprocess.Popen | None = None
        self.env = dict(os.environ)
        self.env.update(
            PARTNERDESK_DATA_DIR=str(data_dir),
            PARTNERDESK_LISTEN=f"127.0.0.1:{port}",
            # moto_server runs on this machine: allow the partner bucket endpoint to be local.
            PARTNERDESK_BUCKET_ALLOW_PRIVATE_ENDPOINTS="true",
            PARTNERDESK_PUBLIC_URL=self.url,
            RUST_LOG="debug",
        )

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN), *args], env=self.env, capture_output=True, text=True, timeout=60)
        with open(self.log_path, "a") as log:
            log.write(done.stdout + done.stderr)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done.stdout.strip()

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([str(BIN), "serve"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(f"{self.url}/readyz", self.proc, "partnerdesk", self.log_path)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
            self.proc = None

    def api(self, email: str) -> Api:
        return Api(self, self.cli("admin", "api-token", "--email", email))


@pytest.fixture(scope="module")
def server():
    if not BIN.exists():
        pytest.fail(f"{BIN} missing: cargo build --bin partnerdesk")
    top = Path(tempfile.mkdtemp(prefix="partnerdesk-buckets-"))
    data = top / "data"
    data.mkdir()
    srv = Server(data, free_port())
    srv.cli("demo")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if os.environ.get("PARTNERDESK_KEEP_TEST_DIR") == "1":
            print(f"kept {top}", file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)
