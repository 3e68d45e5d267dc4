"""The measuring half of bench/search.sh: the search queries over HTTP (an external client, one keep-alive
connection, sequential) next to the same filters as plain indexed SELECTs without text through the database's own
C client library in the same run (SQLite: pysqlite3; PostgreSQL: libpq via psycopg), interleaved request by
request; then the whole export through search/export.json with the server's RSS sampled from /proc, next to the
same rows read by keyset pages of 1,000 through the client library; then the sizes of the index and of the rest.

Usage: run.py BACKEND BASE ADMIN_TOKEN PARTNER_TOKEN PARTNER_ORG WORDS_JSON DB SERVER_PID REQUESTS
Prints Markdown rows (queries, then export and sizes) and writes details to stderr.
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

backend, base, admin, partner, partner_org, words_json, db_target, pid, requests = sys.argv[1:10]
requests, partner_org = int(requests), int(partner_org)
W = json.load(open(words_json))
url = urllib.parse.urlparse(base)

if backend == "sqlite":
    import pysqlite3.dbapi2 as sqlite3
    db = sqlite3.connect(f"file:{db_target}?mode=ro", uri=True, isolation_level=None)

    def sql(q, args=()):
        return db.execute(q, args).fetchall()
else:
    import psycopg
    # Without JIT compilation, as the server runs its own statements (crates/db/src/conn.rs).
    db = psycopg.connect(db_target, autocommit=True, options="-c jit=off")

    def sql(q, args=()):
        with db.cursor() as cur:
            cur.execute(q.replace("?", "%s"), args, prepare=True)
            return cur.fetchall()


def day(s):
    return s + ("T00:00:00.000000Z" if backend == "sqlite" else "T00:00:00Z")


def month_start(months_back):
    y, m = int(W["now"][:4]), int(W["now"][5:7]) - months_back
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}-01"


# A month about 14 months back, and the last 6 months (the data spans the two years before now).
M0, M1, RECENT = month_start(14), month_start(13), month_start(6)


a, b = W["two"]
c, d = W["org_words"]
OPEN = "t.status IN ('new', 'open', 'pending', 'hold')"
# (what, query, token, reference filter over tickets t, its arguments)
QUERIES = [
    ("two words", f"type:ticket {a} {b}", admin, "1 = 1", ()),
    ("a phrase", f'type:ticket "{W["phrase"]}"', admin, "1 = 1", ()),
    ("two words + status + organization", f'type:ticket {c} {d} status<solved organization:"Partner 042"', admin,
     f"t.organization_id = ? AND {OPEN}", (42,)),
    ("a tag", "type:ticket tags:vip", admin, "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?)", ("vip",)),
    ("a tag + status + priority", "type:ticket tags:billing status:open priority:high", admin,
     "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?) AND t.status = ? AND t.priority = ?",
     ("billing", "open", "high")),
    ("a date range (one month)", f"type:ticket created>={M0} created<{M1}", admin,
     "t.created_at >= ? AND t.created_at < ?", (day(M0), day(M1))),
    ("one word in ~10% of tickets, first page", f"type:ticket {W['common']}", admin, "1 = 1", ()),
    ("a word + created in the last 6 months", f"type:ticket {W['word']} created>={RECENT}", admin,
     "t.created_at >= ?", (day(RECENT),)),
    ("a word, without a common word", f"type:ticket {a} -{W['common']}", admin, "1 = 1", ()),
    ("the word in ~10% of tickets, as a partner (own organization, public text)", f"type:ticket {W['common']}", partner,
     "t.organization_id = ?", (partner_org,)),
]


def conn():
    h = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    h.connect()
    return h


def get(h, path, token):
    h.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = h.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:300]!r}")
    return body


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(s):
    return f"{s * 1000:.2f}"


print(f"{backend} words: {W}", file=sys.stderr)
h = conn()
for i, (what, query, token, where, args) in enumerate(QUERIES, 1):
    path = "/api/v2/search.json?" + urllib.parse.urlencode({"query": query, "per_page": 25})
    page_sql = f"SELECT * FROM tickets t WHERE {where} ORDER BY t.id DESC LIMIT 26"
    count_sql = f"SELECT COUNT(*) FROM tickets t WHERE {where}"
    body = json.loads(get(h, path, token))
    for _ in range(5):
        get(h, path, token)
        sql(page_sql, args)
        sql(count_sql, args)
    search_t, page_t, both_t = [], [], []
    started = time.perf_counter()
    while len(search_t) < requests and (len(search_t) < 20 or time.perf_counter() - started < 120):
        t0 = time.perf_counter()
        get(h, path, token)
        t1 = time.perf_counter()
        sql(page_sql, args)
        t2 = time.perf_counter()
        ref_count = sql(count_sql, args)[0][0]
        t3 = time.perf_counter()
        search_t.append(t1 - t0)
        page_t.append(t2 - t1)
        both_t.append(t3 - t1)
    p95 = pct(search_t, 95)
    met = "yes" if p95 < 0.050 else "**no**"
    print(f"| {backend} | {i}. {what}: `{query}` | {body['count']} | {ms(pct(search_t, 50))} | {ms(p95)} | "
          f"{ms(pct(page_t, 50))} | {ms(pct(page_t, 95))} | {ms(pct(both_t, 50))} | {ms(pct(both_t, 95))} | "
          f"{pct(search_t, 50) / pct(both_t, 50):.1f} | {met} |", flush=True)
    print(f"{backend} q{i}: search count {body['count']}, reference filter count {ref_count}, "
          f"first ids {[r['id'] for r in body['results'][:3]]}, max {ms(max(search_t))} ms, {len(search_t)} requests", file=sys.stderr)
h.close()

# The export of every ticket, with the server's RSS sampled every 20 ms.
def rss_kib(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0


samples, done = [], threading.Event()


def sample():
    while not done.is_set():
        samples.append(rss_kib("VmRSS:"))
        time.sleep(0.02)


before = rss_kib("VmRSS:")
hwm_before = rss_kib("VmHWM:")
h = conn()
path = "/api/v2/search/export.json?" + urllib.parse.urlencode(
    {"query": "type:ticket", "filter[type]": "ticket", "page[size]": 1000})
sampler = threading.Thread(target=sample)
sampler.start()
t0 = time.perf_counter()
n = pages = 0
while path:
    page = json.loads(get(h, path, admin))
    n += len(page["results"])
    pages += 1
    nxt = page["links"]["next"]
    path = urllib.parse.urlparse(nxt)._replace(scheme="", netloc="").geturl() if nxt else None
took = time.perf_counter() - t0
done.set()
sampler.join()
hwm_after = rss_kib("VmHWM:")
t0 = time.perf_counter()
m, after = 0, 1 << 62
while True:
    got = sql("SELECT * FROM tickets WHERE id < ? ORDER BY id DESC LIMIT 1000", (after,))
    if not got:
        break
    m += len(got)
    after = got[-1][0]
ref_took = time.perf_counter() - t0
third = len(samples) // 3
print(f"EXPORT|{backend}|{n}|{pages}|{took:.1f}|{n / took:.0f}|{m}|{ref_took:.1f}|{m / ref_took:.0f}|"
      f"{before // 1024}|{max(samples[:third] or [0]) // 1024}|{max(samples) // 1024}|{hwm_before // 1024}|"
      f"{hwm_after // 1024}", flush=True)
