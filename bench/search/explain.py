"""Query plans of the benchmark's searches, as the store writes them (crates/db/src/search/mod.rs, text.rs): the page
(ORDER BY id DESC LIMIT 26) and the count, each with EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (ANALYZE, BUFFERS)
(PostgreSQL), and its time in this client (median of 5).
Usage: explain.py BACKEND DB WORDS_JSON PARTNER_ORG"""
import json
import statistics
import sys
import time

backend, target, words_json, partner_org = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
W = json.load(open(words_json))
a, b = W["two"]
c, d = W["org_words"]
common = W["common"]
PUBLIC = "{subject description public_text} : "
OPEN = ["new", "open", "pending", "hold"]

if backend == "sqlite":
    import pysqlite3.dbapi2 as sqlite3
    db = sqlite3.connect(f"file:{target}?mode=ro", uri=True, isolation_level=None)

    def run(q, args):
        return db.execute(q, args).fetchall()

    def plan(q, args):
        return "\n".join(f"    {r[3]}" for r in db.execute("EXPLAIN QUERY PLAN " + q, args).fetchall())

    # Text alone: the text index drives (CROSS JOIN) and counts alone; with a scope or conditions: the matching ids
    # as an IN list, so that the tickets' own indexes can drive.
    def text(terms, negated=(), partner=False, alone=True):
        col = PUBLIC if partner else ""
        e = "(" + " AND ".join(f'({col}"{w}"*)' for w in terms) + ")"
        if negated:
            e += " NOT (" + " OR ".join(f'({col}"{w}"*)' for w in negated) + ")"
        if alone:
            return ("SELECT t.* FROM ticket_text CROSS JOIN tickets t ON t.id = ticket_text.rowid "
                    "WHERE ticket_text MATCH ?", [e], "ticket_text.rowid")
        return ("SELECT t.* FROM tickets t WHERE t.id IN (SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?)",
                [e], "t.id")

    def phrase(p):
        return text([], alone=True)[0], [f'(("{p}"))'], "ticket_text.rowid"
else:
    import psycopg
    db = psycopg.connect(target, autocommit=True)

    def run(q, args):
        with db.cursor() as cur:
            cur.execute(q.replace("?", "%s"), args, prepare=True)
            return cur.fetchall()

    def plan(q, args):
        with db.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + q.replace("?", "%s"), args)
            return "\n".join("    " + r[0] for r in cur.fetchall())

    def text(terms, negated=(), partner=False, alone=True):
        w = "ABC" if partner else ""
        parts = [f"'{t}':*{w}" for t in terms]
        ops = ["to_tsquery('partnerdesk', ?)"] * len(terms) + ["!!to_tsquery('partnerdesk', ?)"] * len(negated)
        parts += [f"'{t}':*{w}" for t in negated]
        return (f"SELECT t.* FROM ticket_search s JOIN tickets t ON t.id = s.ticket_id WHERE s.doc @@ ({' && '.join(ops)})",
                parts, "t.id")

    def phrase(p):
        return ("SELECT t.* FROM ticket_search s JOIN tickets t ON t.id = s.ticket_id "
                "WHERE s.doc @@ (to_tsquery('partnerdesk', ?))", [f"'{p}'"], "t.id")


def plain():
    return "SELECT t.* FROM tickets t WHERE 1 = 1", [], "t.id"


def with_conditions(base, conds):
    sql, args, col = base
    for cond, cargs in conds:
        sql += f" AND ({cond})"
        args = args + list(cargs)
    return sql, args, col


QUERIES = [
    ("1. two words", text([a, b])),
    ("2. a phrase", phrase(W["phrase"])),
    ("3. two words + status + organization", with_conditions(text([c, d], alone=False), [
        ("(t.status IN (?, ?, ?, ?))", OPEN), ("(t.organization_id IN (?))", [42])])),
    ("6. a date range", with_conditions(plain(), [("(t.created_at >= ?)", ["DATE0"]), ("(t.created_at < ?)", ["DATE1"])])),
    ("7. one word in ~10% of tickets", text([common])),
    ("9. a word without a common word", text([a], [common])),
    ("10. the common word as a partner", with_conditions(text([common], partner=True, alone=False), [("t.organization_id = ?", [partner_org])])),
]


def fix_dates(args):
    y, m = int(W["now"][:4]), int(W["now"][5:7])
    def back(n):
        yy, mm = y, m - n
        while mm < 1:
            yy, mm = yy - 1, mm + 12
        return f"{yy:04d}-{mm:02d}-01" + ("T00:00:00.000000Z" if backend == "sqlite" else "T00:00:00Z")
    return [back(14) if x == "DATE0" else back(13) if x == "DATE1" else x for x in args]


for what, (sql, args, col) in QUERIES:
    args = fix_dates(args)
    for kind, q in (("page", f"{sql} ORDER BY {col} DESC LIMIT 26 OFFSET 0"),
                    ("count", "SELECT COUNT(*) AS n FROM ticket_text WHERE ticket_text MATCH ?"
                     if "CROSS JOIN" in sql and " AND (" not in sql else f"SELECT COUNT(*) AS n FROM ({sql}) AS found")):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows = run(q, args)
            times.append(time.perf_counter() - t0)
        print(f"{backend} {what}, {kind}: {statistics.median(times) * 1000:.1f} ms "
              f"({len(rows)} rows{', n = ' + str(rows[0][0]) if kind == 'count' else ''})\n  {q}\n  {args}")
        print(plan(q, args))
