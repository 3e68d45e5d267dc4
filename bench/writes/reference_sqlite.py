"""The rows one API ticket writes (ticket, first comment, audit row), one transaction per ticket, through SQLite's
C library (Python's sqlite3) on a partnerdesk database with the server's pragmas (WAL, synchronous=NORMAL).
Usage: reference_sqlite.py DB SECONDS  -> prints transactions per second."""
import sqlite3, sys, time
from datetime import datetime, timezone

db, seconds = sys.argv[1], float(sys.argv[2])
con = sqlite3.connect(db, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=NORMAL")
con.execute("PRAGMA foreign_keys=ON")
body = "Since 4.2 the connector stops after 10,000 records. Logs are attached to the case."
after = '{"ticket":{"subject":"Sync stops after 10k records","status":"new","priority":"high"},"comment":{"body":"%s"}}' % body
n, start = 0, time.monotonic()
while time.monotonic() - start < seconds:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for _ in range(100):
        con.execute("BEGIN IMMEDIATE")
        cur = con.execute(
            "INSERT INTO tickets (subject, description, status, priority, requester_id, submitter_id, tags, via, routing,"
            " created_at, updated_at) VALUES (?, ?, 'new', 'high', 1, 1, '', 'api', '{}', ?, ?)",
            (f"Sync stops after 10k records ({n})", body, now, now))
        tid = cur.lastrowid
        con.execute("INSERT INTO comments (ticket_id, author_id, body, public, via, created_at) VALUES (?, 1, ?, 1, 'api', ?)",
                    (tid, body, now))
        con.execute("INSERT INTO audit_log (actor_id, actor_label, action, entity_type, entity_id, after_json, created_at)"
                    " VALUES (1, 'admin@vendor.example', 'ticket.create', 'ticket', ?, ?, ?)", (tid, after, now))
        con.execute("COMMIT")
        n += 1
print(f"{n / (time.monotonic() - start):.0f}")
