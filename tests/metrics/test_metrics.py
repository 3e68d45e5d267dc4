"""/metrics on the real binary, read by Prometheus' own Python parser: every documented series is there, in the
text exposition format, behind the bearer token when one is set, and nothing personal is in it."""

import base64
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pdserver import databases, run_server  # noqa: E402

TOKEN = "metrics-bearer-token-for-the-test"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request):
    for database_url in databases(request, "pd_metrics"):
        yield from run_server(database_url, PARTNERDESK_METRICS_TOKEN=TOKEN)


def call(server, method, path, body=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def scrape(server):
    status, headers, text = call(server, "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, text
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    return text, {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_need_the_token(server):
    assert call(server, "GET", "/metrics")[0] == 401
    assert call(server, "GET", "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401


def test_every_series_is_there_and_parses(server):
    token = server.token_for("admin@vendor.example")
    auth = "Basic " + base64.b64encode(f"admin@vendor.example/token:{token}".encode()).decode()
    subject = "Secret project Falcon is down"
    for _ in range(3):
        status, _, text = call(
            server, "POST", "/api/v2/tickets.json",
            body=f'{{"ticket": {{"subject": "{subject}", "comment": {{"body": "details"}}}}}}'.encode(),
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        assert status == 201, text
    assert call(server, "GET", "/api/v2/tickets/987654321.json", headers={"Authorization": auth})[0] == 404

    text, families = scrape(server)
    # The parser strips `_total` from counter names.
    for name, kind in {
        "partnerdesk_http_requests": "counter",
        "partnerdesk_http_request_duration_seconds": "histogram",
        "partnerdesk_db_pool_connections": "gauge",
        "partnerdesk_db_acquire_waiting": "gauge",
        "partnerdesk_db_acquire_seconds": "histogram",
        "partnerdesk_outbox_pending": "gauge",
        "partnerdesk_outbox_oldest_pending_seconds": "gauge",
        "partnerdesk_escalations": "gauge",
        "partnerdesk_large_uploads_in_progress": "gauge",
        "partnerdesk_large_upload_bytes": "counter",
        "partnerdesk_bucket_bytes_streamed": "counter",
    }.items():
        assert name in families, f"{name} missing from:\n{text}"
        assert families[name].type == kind, (name, families[name].type)
        assert families[name].documentation, f"{name} has no HELP"

    created = [
        s for s in families["partnerdesk_http_requests"].samples
        if s.labels == {"method": "POST", "route": "/api/v2/tickets.json", "status": "201"}
    ]
    assert created and created[0].value >= 3, families["partnerdesk_http_requests"].samples
    not_found = [s for s in families["partnerdesk_http_requests"].samples if s.labels.get("status") == "404"]
    assert any(s.labels["route"] == "/api/v2/tickets/{id}" for s in not_found), not_found
    durations = [s for s in families["partnerdesk_http_request_duration_seconds"].samples
                 if s.name.endswith("_count") and s.labels.get("route") == "/api/v2/tickets.json"]
    assert durations and durations[0].value >= 3
    pools = {(s.labels["pool"], s.labels["state"]) for s in families["partnerdesk_db_pool_connections"].samples}
    assert {state for _, state in pools} == {"in_use", "idle"}
    assert {s.labels["state"] for s in families["partnerdesk_escalations"].samples} == {"open", "acknowledged", "resolved"}

    # Labels are templates and statuses: no subject, e-mail, token or raw path.
    for secret in [subject, "admin@vendor.example", token, "tickets/987654321"]:
        assert secret not in text
