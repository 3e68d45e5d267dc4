"""Bytes of the search index (ticket text, tag rows, user and organization text) and of everything else.
Usage: sizes.py sqlite DB_PATH | sizes.py postgres URL        Prints: index_bytes rest_bytes"""
import subprocess
import sys

backend, target = sys.argv[1], sys.argv[2]
SEARCH = ("ticket_text", "ticket_tags", "user_text", "organization_text")
if backend == "sqlite":
    # The sqlite3 CLI has the dbstat table; it reads the b-trees without opening the FTS5 tables.
    out = subprocess.run(["sqlite3", target, "PRAGMA wal_checkpoint(TRUNCATE);",
                          "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"],
                         check=True, capture_output=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        if line.count("|") == 1:
            name, size = line.split("|")
            sizes[name] = int(size)
    index = sum(v for k, v in sizes.items() if k.startswith(SEARCH))
    rest = sum(sizes.values()) - index
else:
    q = """SELECT COALESCE(SUM(CASE WHEN c.relname IN ('ticket_search', 'ticket_tags')
                  THEN pg_total_relation_size(c.oid) END), 0)
                + pg_relation_size('users_text') + pg_relation_size('organizations_text')
                + pg_relation_size('organizations_notes_text'),
              SUM(pg_total_relation_size(c.oid))
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r'"""
    out = subprocess.run(["psql", "-tA", "-F", " ", target, "-c", q], check=True, capture_output=True,
                         text=True).stdout.split()
    index, total = int(out[0]), int(out[1])
    rest = total - index
print(index, rest)
