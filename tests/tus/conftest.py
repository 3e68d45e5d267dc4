"""Runs the real partnerdesk binary (fresh data dir, demo data) for the tuspy client tests.

Clients reach the server through a small TCP proxy in this process: PARTNERDESK_PUBLIC_URL points at the proxy,
so the absolute Location the server hands out for an upload also goes through it. The proxy counts the bytes the
clients send and can cut a connection in the middle of a request, which is how these tests interrupt an upload
without touching tuspy. The server can be restarted (SIGTERM, then `serve` again on the same port and data dir)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PARTNERDESK_BIN", ROOT / "target" / "debug" / "partnerdesk"))
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CuttingProxy:
    """Forwards 127.0.0.1:port to the server. `sent` counts client→server bytes (headers included);
    `cut_after(n)` makes the proxy cut the connection carrying the n-th next byte, both ways, mid-request."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.sent = 0
        self.cut_at: int | None = None
        self.cuts = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset_count(self) -> None:
        with self.lock:
            self.sent = 0

    def cut_after(self, n: int) -> None:
        with self.lock:
            self.cut_at = self.sent + n

    def close(self) -> None:
        self.closed = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _kill(*socks: socket.socket) -> None:
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            self._kill(client)
            return
        remaining = [2]
        remaining_lock = threading.Lock()

        def done() -> None:
            with remaining_lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                client.close()
                upstream.close()

        threading.Thread(target=self._down, args=(upstream, client, done), daemon=True).start()
        draining = False  # the server stopped reading (it answered early): swallow the rest, like a socket would
        try:
            while True:
                data = client.recv(256 * 1024)
                if not data:
                    if not draining:
                        upstream.shutdown(socket.SHUT_WR)
                    break
                if draining:
                    continue
                cut = False
                with self.lock:
                    if self.cut_at is not None and self.sent + len(data) >= self.cut_at:
                        data = data[: max(self.cut_at - self.sent, 0)]
                        self.cut_at = None
                        self.cuts += 1
                        cut = True
                    self.sent += len(data)
                try:
                    if data:
                        upstream.sendall(data)
                except OSError:
                    draining = True
                if cut:
                    self._kill(client, upstream)
                    break
        except OSError:
            self._kill(client, upstream)
        done()

    @staticmethod
    def _down(upstream: socket.socket, client: socket.socket, done) -> None:
        try:
            while True:
                data = upstream.recv(256 * 1024)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    break
                client.sendall(data)
        except OSError:
            CuttingProxy._kill(client, upstream)
        done()


class Server:
    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.proxy = CuttingProxy(self.port)
        self.base = f"http://127.0.0.1:{self.proxy.port}"
        self.tus_url = f"{self.base}/api/v2/large_uploads/"
        self.env = dict(os.environ)
        self.env.update(
            PARTNERDESK_DATA_DIR=data_dir,
            PARTNERDESK_LISTEN=f"127.0.0.1:{self.port}",
            PARTNERDESK_PUBLIC_URL=self.base,
            RUST_LOG=os.environ.get("RUST_LOG", "warn"),
        )
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(data_dir) / "server.log"

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN), *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done.stdout.strip()

    def token_for(self, email: str) -> str:
        return self.cli("admin", "api-token", "--email", email)

    def start(self) -> None:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([str(BIN), "serve"], env=self.env, stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("partnerdesk did not start: " + self.log_path.read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("partnerdesk did not stop within 15 s of SIGTERM")
        finally:
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- API helpers (plain HTTP, through the proxy) ---

    def auth(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def create_ticket(self, token: str, subject: str = "Large file") -> int:
        r = requests.post(
            f"{self.base}/api/v2/requests.json",
            headers=self.auth(token),
            json={"request": {"subject": subject, "comment": {"body": "See the attached file."}}},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        return r.json()["request"]["id"]

    def last_attachment(self, token: str, ticket_id: int) -> dict:
        r = requests.get(f"{self.base}/api/v2/requests/{ticket_id}/comments.json", headers=self.auth(token), timeout=10)
        assert r.status_code == 200, r.text
        comments = r.json()["comments"]
        assert comments[-1]["attachments"], comments[-1]
        return comments[-1]["attachments"][0]

    def download(self, token: str, url: str, dest: Path) -> None:
        with requests.get(url, headers=self.auth(token), stream=True, timeout=30) as r:
            assert r.status_code == 200, r.text
            with open(dest, "wb") as f:
                for block in r.iter_content(1024 * 1024):
                    f.write(block)

    def server_offset(self, token: str, upload_url: str) -> int:
        r = requests.head(upload_url, headers={**self.auth(token), "Tus-Resumable": "1.0.0"}, timeout=10)
        assert r.status_code == 200, (r.status_code, dict(r.headers))
        return int(r.headers["Upload-Offset"])


@pytest.fixture(scope="session")
def server():
    data_dir = tempfile.mkdtemp(prefix="partnerdesk-tus-")
    srv = Server(data_dir)
    try:
        srv.cli("demo")
        srv.cli("admin", "create-org", "--name", "Globex", "--alliance-partner")
        srv.cli("admin", "create-user", "--email", "sid@globex.example", "--name", "Sid", "--role", "end-user", "--org", "Globex")
        srv.start()
        yield srv
    finally:
        try:
            srv.stop()
        finally:
            srv.proxy.close()
            if os.environ.get("PARTNERDESK_KEEP_DATA") != "1":
                shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pat(server) -> str:
    return server.token_for("pat@acme.example")


@pytest.fixture(scope="session")
def sid(server) -> str:
    return server.token_for("sid@globex.example")


@pytest.fixture
def big_file(tmp_path) -> Path:
    """20 MiB and a bit of random bytes (not a multiple of any chunk size)."""
    path = tmp_path / "dump.bin"
    with open(path, "wb") as f:
        for _ in range(20):
            f.write(os.urandom(MiB))
        f.write(os.urandom(12345))
    return path
