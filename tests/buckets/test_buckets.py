"""Partner S3 buckets end to end: an admin connects organization 1 (Acme) to a moto bucket, agents list, page,
download (whole, ranged, presigned, redirected) and copy into a ticket; end-users see 404 everywhere; bad keys are
422; a deleted bucket is reported as such; every access is in the audit log; the secret is nowhere but sealed.

The tests run in file order and share one moto server and one partnerdesk per module."""

import hashlib
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from bucketenv import ACCESS_KEY_ID, SECRET

ORG = 1
BUCKET = "acme-partner-files"
BASE = f"/api/v2/organizations/{ORG}/bucket"
MANY = 2500
BIG = 5 * 1024 * 1024 + 123  # not a multiple of anything
UNICODE_KEY = "reports/Q3 résumé ✓.txt"
TRICKY_KEYS = [
    UNICODE_KEY,
    "reports/with  two spaces/and a tab-free name.txt",
    "reports/a+b=c&d;e,f@g$h.txt",
    "reports/percent %20 literal.txt",
    "reports/日本語/ファイル.txt",
]
LOGS = ["logs/2026/11/a.log", "logs/2026/11/b.log", "logs/2026/12/c.log", "logs/2025/01/old.log"]


def body_of(key: str) -> bytes:
    return f"contents of {key}\n".encode() * 7


@pytest.fixture(scope="module")
def fill(moto):
    s3 = moto.client()
    s3.create_bucket(Bucket=BUCKET)
    big = os.urandom(BIG)
    puts = {"readme.txt": b"top level\n", "big/five-mb.bin": big}
    for k in TRICKY_KEYS + LOGS:
        puts[k] = body_of(k)
    for i in range(MANY):
        puts[f"many/obj-{i:05d}.dat"] = f"object {i}".encode()

    def put(item):
        s3.put_object(Bucket=BUCKET, Key=item[0], Body=item[1])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, puts.items()))
    return {"s3": s3, "big": big}


@pytest.fixture(scope="module")
def admin(server):
    return server.api("admin@vendor.example")


@pytest.fixture(scope="module")
def agent(server):
    return server.api("agent@vendor.example")


@pytest.fixture(scope="module")
def pat(server):
    return server.api("pat@acme.example")


@pytest.fixture(scope="module")
def ticket(pat):
    r = pat.post("/api/v2/requests.json", json={"request": {"subject": "bucket files", "comment": {"body": "please"}}})
    assert r.status_code == 201, r.text
    return r.json()["request"]["id"]


def connection(moto, **over):
    c = {
        "endpoint": moto.endpoint,
        "region": "us-east-1",
        "bucket": BUCKET,
        "prefix": "",
        "path_style": True,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET,
        "download_mode": "stream",
        "presign_ttl_secs": 300,
    }
    c.update(over)
    return {"bucket_connection": c}


def test_connect_as_admin(moto, fill, admin, agent):
    r = agent.put(BASE, json=connection(moto))
    assert r.status_code == 403, (r.status_code, r.text)
    r = admin.put(BASE, json=connection(moto))
    assert r.status_code == 200, r.text
    c = r.json()["bucket_connection"]
    assert c["has_secret"] is True
    assert "secret_access_key" not in c
    assert (c["endpoint"], c["bucket"], c["path_style"], c["access_key_id"]) == (moto.endpoint, BUCKET, True, ACCESS_KEY_ID)
    shown = agent.get(BASE)
    assert shown.status_code == 200, shown.text
    assert shown.json()["bucket_connection"]["has_secret"] is True
    assert "secret_access_key" not in shown.json()["bucket_connection"]


def test_connection_test_ok(agent):
    r = agent.post(f"{BASE}/test")
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True}


def test_top_level_listing(agent):
    r = agent.get(f"{BASE}/objects")
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["prefix"] == ""
    assert j["prefixes"] == ["big/", "logs/", "many/", "reports/"]
    assert [o["key"] for o in j["objects"]] == ["readme.txt"]
    o = j["objects"][0]
    assert o["name"] == "readme.txt" and o["size"] == len(b"top level\n") and o["etag"] and o["last_modified"]
    assert j["meta"]["has_more"] is False and j["links"]["next"] is None


def test_nested_and_flat_listing(agent):
    j = agent.get(f"{BASE}/objects", params={"prefix": "logs/"}).json()
    assert j["prefixes"] == ["logs/2025/", "logs/2026/"] and j["objects"] == []
    j = agent.get(f"{BASE}/objects", params={"prefix": "logs/2026/11/"}).json()
    assert [o["key"] for o in j["objects"]] == ["logs/2026/11/a.log", "logs/2026/11/b.log"]
    j = agent.get(f"{BASE}/objects", params={"prefix": "logs/", "delimiter": ""}).json()
    assert j["prefixes"] == [] and sorted(o["key"] for o in j["objects"]) == sorted(LOGS)
    j = agent.get(f"{BASE}/objects", params={"prefix": "reports/"}).json()
    assert UNICODE_KEY in [o["key"] for o in j["objects"]]
    assert "reports/日本語/" in j["prefixes"]


def test_sort_within_page(agent):
    j = agent.get(f"{BASE}/objects", params={"prefix": "", "delimiter": "", "sort": "-size", "page[size]": "20"}).json()
    sizes = [o["size"] for o in j["objects"]]
    assert sizes == sorted(sizes, reverse=True)
    r = agent.get(f"{BASE}/objects", params={"sort": "colour"})
    assert r.status_code == 400, r.text


def test_page_through_many(server, agent):
    url = f"{BASE}/objects?prefix=many/&page[size]=1000"
    pages, keys = [], []
    while url:
        r = agent.get(url)
        assert r.status_code == 200, r.text
        j = r.json()
        pages.append(len(j["objects"]))
        keys += [o["key"] for o in j["objects"]]
        assert j["prefixes"] == []
        assert j["meta"]["has_more"] is (j["links"]["next"] is not None)
        url = j["links"]["next"]
        if url:
            assert url.startswith(server.url + BASE + "/objects?"), url
            assert j["meta"]["after_cursor"]
        assert len(pages) <= 5, "links.next does not end"
    assert pages == [1000, 1000, 500]
    assert keys == [f"many/obj-{i:05d}.dat" for i in range(MANY)]


def test_flat_listing_pages_stay_flat(agent):
    """A flat listing (delimiter= empty) of the whole bucket, followed through links.next, is every key."""
    url = f"{BASE}/objects?prefix=&delimiter=&page[size]=1000"
    keys, prefixes, pages = [], [], 0
    while url and pages < 10:
        j = agent.get(url).json()
        keys += [o["key"] for o in j["objects"]]
        prefixes += j["prefixes"]
        url = j["links"]["next"]
        pages += 1
    assert prefixes == [], f"page {pages} came back delimited: {prefixes[:5]}"
    assert len(keys) == MANY + len(TRICKY_KEYS) + len(LOGS) + 2


def test_foreign_cursor_is_400(agent):
    r = agent.get(f"{BASE}/objects", params={"prefix": "many/", "page[after]": "!!not-base64!!"})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("key", TRICKY_KEYS + ["readme.txt", "logs/2026/11/a.log"])
def test_download_streamed(agent, key):
    r = agent.get(f"{BASE}/download", params={"key": key})
    assert r.status_code == 200, r.text
    expected = b"top level\n" if key == "readme.txt" else body_of(key)
    assert r.content == expected
    assert r.headers["content-length"] == str(len(expected))
    assert r.headers["accept-ranges"] == "bytes"
    assert "attachment" in r.headers["content-disposition"]


def test_download_range(fill, agent):
    big = fill["big"]
    r = agent.get(f"{BASE}/download", params={"key": "big/five-mb.bin"}, headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206, r.text
    assert r.content == big[1000:2000]
    assert r.headers["content-range"] == f"bytes 1000-1999/{BIG}"
    assert r.headers["content-length"] == "1000"
    r = agent.get(f"{BASE}/download", params={"key": "big/five-mb.bin"}, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == big[-10:]
    r = agent.get(f"{BASE}/download", params={"key": "big/five-mb.bin"})
    assert r.status_code == 200 and hashlib.sha256(r.content).digest() == hashlib.sha256(big).digest()


def test_download_missing_key_is_404(agent):
    r = agent.get(f"{BASE}/download", params={"key": "reports/nope.txt"})
    assert r.status_code == 404, r.text


def test_presign_url(moto, agent):
    r = agent.get(f"{BASE}/download", params={"key": UNICODE_KEY, "presign": "1"})
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["url"].startswith(moto.endpoint + "/") and j["expires_at"]
    assert "X-Amz-Signature" in j["url"]
    direct = requests.get(j["url"], timeout=30)
    assert direct.status_code == 200, direct.text
    assert direct.content == body_of(UNICODE_KEY)


def test_presign_mode_redirects(moto, admin, agent):
    # No secret in the body: the stored one is kept.
    c = connection(moto, download_mode="presign")
    del c["bucket_connection"]["secret_access_key"]
    r = admin.put(BASE, json=c)
    assert r.status_code == 200, r.text
    assert r.json()["bucket_connection"]["download_mode"] == "presign"
    r = agent.get(f"{BASE}/download", params={"key": UNICODE_KEY})
    assert r.status_code == 307, (r.status_code, r.text)
    loc = r.headers["location"]
    assert loc.startswith(moto.endpoint + "/")
    assert requests.get(loc, timeout=30).content == body_of(UNICODE_KEY)
    r = admin.put(BASE, json=connection(moto))  # back to stream, secret sent again
    assert r.status_code == 200 and r.json()["bucket_connection"]["download_mode"] == "stream"
    assert agent.get(f"{BASE}/download", params={"key": UNICODE_KEY}).content == body_of(UNICODE_KEY)


def test_copy_to_ticket(fill, agent, ticket):
    r = agent.post(f"/api/v2/tickets/{ticket}/bucket_attachments", json={"key": "big/five-mb.bin"})
    assert r.status_code == 201, r.text
    a = r.json()["attachment"]
    assert a["size"] == BIG
    assert a["sha256"] == hashlib.sha256(fill["big"]).hexdigest()
    assert a["file_name"] == "five-mb.bin"
    got = agent.get(a["content_url"], allow_redirects=True)
    assert got.status_code == 200, got.text[:300]
    assert hashlib.sha256(got.content).hexdigest() == a["sha256"]


def test_copy_unicode_key_to_ticket(agent, ticket):
    r = agent.post(f"/api/v2/tickets/{ticket}/bucket_attachments", json={"key": UNICODE_KEY})
    assert r.status_code == 201, r.text
    a = r.json()["attachment"]
    assert a["file_name"] == "Q3 résumé ✓.txt"
    assert a["sha256"] == hashlib.sha256(body_of(UNICODE_KEY)).hexdigest()


def test_end_user_gets_404_everywhere(moto, pat, ticket):
    routes = [
        ("GET", BASE, {}),
        ("PUT", BASE, {"json": connection(moto)}),
        ("DELETE", BASE, {}),
        ("POST", f"{BASE}/test", {}),
        ("GET", f"{BASE}/objects", {}),
        ("GET", f"{BASE}/objects?prefix=many/&page[size]=10", {}),
        ("GET", f"{BASE}/download?key=readme.txt", {}),
        ("GET", f"{BASE}/download?key=readme.txt&presign=1", {}),
        ("POST", f"/api/v2/tickets/{ticket}/bucket_attachments", {"json": {"key": "readme.txt"}}),
    ]
    for method, path, kw in routes:
        r = pat.request(method, path, **kw)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert SECRET not in r.text and BUCKET not in r.text


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../../b", "./a", "http://evil.example/x", "a\nb", ""])
def test_bad_keys_are_422(agent, ticket, key):
    r = agent.get(f"{BASE}/download?key={quote(key, safe='')}")
    assert r.status_code == 422, (key, r.status_code, r.text)
    r = agent.get(f"{BASE}/download?key={quote(key, safe='')}&presign=1")
    assert r.status_code == 422, (key, r.status_code, r.text)
    r = agent.post(f"/api/v2/tickets/{ticket}/bucket_attachments", json={"key": key})
    assert r.status_code == 422, (key, r.status_code, r.text)
    if key:
        r = agent.get(f"{BASE}/objects", params={"prefix": key})
        assert r.status_code == 422, (key, r.status_code, r.text)


def test_prefix_connection_confines_agents(moto, admin, agent):
    r = admin.put(BASE, json=connection(moto, prefix="logs"))
    assert r.status_code == 200 and r.json()["bucket_connection"]["prefix"] == "logs/", r.text
    try:
        j = agent.get(f"{BASE}/objects").json()
        assert j["prefixes"] == ["2025/", "2026/"] and j["objects"] == []
        j = agent.get(f"{BASE}/objects", params={"prefix": "2026/11/"}).json()
        # `name` is the key relative to the connection's prefix (what download takes); `key` is the bucket's key.
        assert [o["name"] for o in j["objects"]] == ["2026/11/a.log", "2026/11/b.log"]
        assert [o["key"] for o in j["objects"]] == ["logs/2026/11/a.log", "logs/2026/11/b.log"]
        r = agent.get(f"{BASE}/download", params={"key": "2026/11/a.log"})
        assert r.status_code == 200 and r.content == body_of("logs/2026/11/a.log")
        # Outside the prefix: not reachable.
        assert agent.get(f"{BASE}/download", params={"key": "readme.txt"}).status_code == 404
        assert agent.get(f"{BASE}/download", params={"key": "../readme.txt"}).status_code == 422
    finally:
        r = admin.put(BASE, json=connection(moto))
        assert r.status_code == 200 and r.json()["bucket_connection"]["prefix"] == ""


@pytest.mark.parametrize(
    "endpoint,problem",
    [("http://127.0.0.1:1", "connect"), ("http://no-such-host.invalid", "dns")],
)
def test_problem_codes(moto, admin, agent, endpoint, problem):
    c = connection(moto, endpoint=endpoint)
    del c["bucket_connection"]["secret_access_key"]
    assert admin.put(BASE, json=c).status_code == 200
    try:
        j = agent.post(f"{BASE}/test").json()
        assert j["ok"] is False and j["problem"] == problem, j
        r = agent.get(f"{BASE}/objects")
        assert r.status_code == 502, r.text
    finally:
        assert admin.put(BASE, json=connection(moto)).status_code == 200
    assert agent.post(f"{BASE}/test").json() == {"ok": True}


# Fixed deviations found while writing these tests: end-users 404 before key checks, 416 for bad ranges, TLS named as tls.


def test_end_user_gets_404_even_for_bad_keys(pat, ticket):
    assert pat.get(f"{BASE}/download", params={"key": "../x"}).status_code == 404
    assert pat.get(f"{BASE}/objects", params={"prefix": "../x"}).status_code == 404
    assert pat.post(f"/api/v2/tickets/{ticket}/bucket_attachments", json={"key": "../x"}).status_code == 404


def test_unsatisfiable_range_is_416(agent):
    r = agent.get(f"{BASE}/download", params={"key": "readme.txt"}, headers={"Range": "bytes=5000-"})
    assert r.status_code == 416, (r.status_code, r.text)


def test_tls_problem_code(moto, admin, agent):
    c = connection(moto, endpoint=f"https://127.0.0.1:{moto.port}")
    del c["bucket_connection"]["secret_access_key"]
    assert admin.put(BASE, json=c).status_code == 200
    try:
        j = agent.post(f"{BASE}/test").json()
        assert j["problem"] == "tls", j
    finally:
        assert admin.put(BASE, json=connection(moto)).status_code == 200


def test_accesses_are_audited(server):
    db = server.data_dir / "partnerdesk.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT action, count(*) FROM audit_log WHERE organization_id = ? AND action LIKE 'bucket%' GROUP BY action",
            (ORG,),
        ).fetchall()
    finally:
        con.close()
    actions = dict(rows)
    for a in ["bucket.test", "bucket.list", "bucket.download", "bucket.presign", "bucket.copy"]:
        assert actions.get(a, 0) >= 1, (a, actions)
    assert actions["bucket.list"] >= 3 + 1  # at least the three pages of many/
    assert actions["bucket.copy"] == 2


def test_deleted_bucket_is_reported(fill, agent):
    s3 = fill["s3"]
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys += [o["Key"] for o in page.get("Contents", [])]
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True})
    s3.delete_bucket(Bucket=BUCKET)
    r = agent.post(f"{BASE}/test")
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["ok"] is False and j["problem"] == "no_such_bucket", j
    assert j["description"]
    r = agent.get(f"{BASE}/objects")
    assert r.status_code >= 400, r.text


def test_secret_is_nowhere(server):
    """Last: stop the server (so its log is complete and the WAL is checkpointed or left behind), then search."""
    assert server.answers, "no answers recorded"
    server.stop()
    needle = SECRET.encode()
    for what, headers, body in server.answers:
        assert needle not in body, what
        assert SECRET not in repr(headers), what
    log = server.log_path.read_bytes()
    assert b"DEBUG" in log, "the server did not log at debug level; the log check would prove nothing"
    assert needle not in log, "secret in the server's log"
    db = server.data_dir / "partnerdesk.db"
    assert db.exists()
    checked = []
    for f in [db, db.with_name("partnerdesk.db-wal"), db.with_name("partnerdesk.db-shm")]:
        if f.exists():
            assert needle not in f.read_bytes(), f"secret in {f.name}"
            checked.append(f.name)
    # Anything else the server wrote (blobs, uploads, keys).
    for p in server.data_dir.rglob("*"):
        if p.is_file():
            assert needle not in p.read_bytes(), f"secret in {p}"
    # The sealed form is there (so the search above looked at the right place).
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (sealed,) = con.execute("SELECT secret_sealed FROM bucket_connections WHERE organization_id = ?", (ORG,)).fetchone()
    finally:
        con.close()
    assert sealed and SECRET not in sealed
