"""The zenpy client tests run against the real binary (see tests/pdserver.py) on SQLite and on PostgreSQL."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pdserver import databases, run_server  # noqa: E402


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request):
    for database_url in databases(request, "pd_zenpy"):
        yield from run_server(database_url)


@pytest.fixture(autouse=True)
def zenpy_points_at_server(server, monkeypatch):
    # zenpy's own switches for talking to a server that is not *.zendesk.com.
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{server.port}")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
