#!/usr/bin/env bash
# Search with 1,000,000 tickets (issue 13), on SQLite and on PostgreSQL.
# Data: TICKETS tickets with 3 comments each (the first is the description; an internal note for 40% of tickets),
# 200 organizations, a Zipf-distributed vocabulary of 4,000 words, tags, statuses, priorities, two years of dates,
# written straight into the migrated database by bench/search/generate.py (Python's SQLite library, or COPY into
# PostgreSQL), then indexed by `partnerdesk admin reindex` (timed).
# Queries: ten typical searches through GET /api/v2/search.json (first page of 25, an external Python client on one
# keep-alive connection, sequential) next to the same filter without text as a plain indexed SELECT (its page of 26
# and its COUNT(*), as the search answers both) through the database's C client library, interleaved request by
# request in the same run: p50/p95 in ms (REQUESTS each, fewer (at least 20) when a query has taken 2 minutes).
# Target p95 < 50 ms.
# Export: every ticket through search/export.json (pages of 1,000, following links.next), the server's RSS sampled
# every 20 ms from /proc; the reference reads the same rows by keyset pages of 1,000 through the client library.
# Target: flat, < 100 MiB. Size: the index (ticket text, tag rows, user and organization text) against the rest of
# the database. Target < 60%. Release build; client, server and database share this machine's cores.
# Usage: bench/search.sh [TICKETS]    (default 1000000; REQUESTS=200 per query, BACKENDS="sqlite postgres")
# Output: Markdown tables for BENCHMARKS.md; details (counts, query plans) on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS=${1:-1000000}
REQUESTS=${REQUESTS:-200}
BACKENDS=${BACKENDS:-sqlite postgres}
PG_BASE=${PARTNERDESK_TEST_PG:-postgres://postgres@127.0.0.1:5432}
VENV="$PWD/target/bench-search-venv"
if ! "$VENV/bin/python" -c 'import pysqlite3, psycopg' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check pysqlite3-binary "psycopg[binary]"
fi
PY="$VENV/bin/python"
cargo build --release --quiet --bin partnerdesk
PD="$PWD/target/release/partnerdesk"
B="$PWD/bench/search"
WORK=$(mktemp -d "${BENCH_DIR:-$PWD/target}/pd-search-XXXX")
PG_DB="pd_bench_search_$$"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no server at $1" >&2; return 1; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$1" "$(date +%s.%N)"; }

run_backend() {
  local backend=$1 dir="$WORK/$1"
  mkdir -p "$dir"
  local port
  port=$(free_port)
  local base="http://127.0.0.1:$port" db
  export PARTNERDESK_DATA_DIR="$dir/data" PARTNERDESK_LISTEN="127.0.0.1:$port" PARTNERDESK_PUBLIC_URL="$base" RUST_LOG=error
  if [ "$backend" = postgres ]; then
    psql -q "$PG_BASE/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
    export PARTNERDESK_DATABASE_URL="$PG_BASE/$PG_DB"
    db="$PARTNERDESK_DATABASE_URL"
  else
    unset PARTNERDESK_DATABASE_URL
    db="$PARTNERDESK_DATA_DIR/partnerdesk.db"
  fi
  "$PD" migrate >/dev/null

  local t0 gen
  t0=$(date +%s.%N)
  if [ "$backend" = sqlite ]; then
    "$PY" "$B/generate.py" sqlite "$db" "$TICKETS" "$NOW" "$dir/words.json"
  else
    "$PY" "$B/generate.py" postgres "$dir/tsv" "$TICKETS" "$NOW" "$dir/words.json"
    {
      echo "BEGIN;"
      for t in organizations users tickets comments; do
        echo "\\copy $t ($(cat "$dir/tsv/$t.cols")) FROM '$dir/tsv/$t.tsv'"
        echo "SELECT setval(pg_get_serial_sequence('$t', 'id'), (SELECT max(id) FROM $t));"
      done
      echo "COMMIT;"
    } | psql -q -v ON_ERROR_STOP=1 "$db" >/dev/null
    rm -rf "$dir/tsv"
  fi
  gen=$(elapsed "$t0")
  local reindex
  reindex=$("$PD" admin reindex | sed -n 's/.* in \([0-9.]*\) s/\1/p')
  if [ "$backend" = postgres ]; then
    psql -q "$db" -c "VACUUM ANALYZE" >/dev/null # what autovacuum does after a bulk load
  fi
  local sizes
  sizes=$("$PY" "$B/sizes.py" "$backend" "$db")

  echo "a long enough passphrase" | "$PD" admin create-user --email admin@vendor.example --name Admin --role admin --password-stdin >/dev/null
  echo "a long enough passphrase" | "$PD" admin create-user --email partner@partner007.example --name Partner \
    --role end-user --org "Partner 007" --password-stdin >/dev/null
  local admin_token partner_token
  admin_token=$("$PD" admin api-token --email admin@vendor.example 2>/dev/null)
  partner_token=$("$PD" admin api-token --email partner@partner007.example 2>/dev/null)
  "$PD" serve 2>"$dir/server.log" &
  local pid=$!
  wait_http "$base/readyz"
  "$PY" "$B/run.py" "$backend" "$base" "$admin_token" "$partner_token" 7 "$dir/words.json" "$db" "$pid" \
    "$REQUESTS" >"$dir/out.txt"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  "$PY" "$B/explain.py" "$backend" "$db" "$dir/words.json" 7 >"$dir/plans.txt"
  echo "SIZES|$backend|$gen|$reindex|$sizes" >>"$dir/out.txt"
  if [ "$backend" = postgres ] && [ -z "${KEEP:-}" ]; then
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
  fi
}

for backend in $BACKENDS; do
  run_backend "$backend"
  echo "== $backend: generated data, reindex, search counts, query plans" >&2
  grep -v '^| \|^EXPORT\|^SIZES' "$WORK/$backend/out.txt" >&2 || true
  cat "$WORK/$backend/plans.txt" >&2
done

n=$(printf "%'d" "$TICKETS")
echo "| database | query ($n tickets; first page of 25) | matches | search p50 ms | p95 ms | plain SELECT page p50 | p95 | page + COUNT(*) p50 | p95 | search / (page + count) p50 | p95 < 50 ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"
for backend in $BACKENDS; do grep '^| ' "$WORK/$backend/out.txt"; done
echo
echo "| database | export of every ticket (search/export.json, pages of 1,000) | tickets/s | plain SELECT keyset pages of 1,000, tickets/s | ratio | server RSS before / max in first third / max | VmHWM before / after |"
echo "|---|---|---:|---:|---:|---:|---:|"
for backend in $BACKENDS; do
  awk -F'|' '/^EXPORT/ {printf "| %s | %d tickets, %d pages, %s s | %s | %s (%s s) | %.2f | %s / %s / %s MiB | %s / %s MiB |\n",
    $2, $3, $4, $5, $6, $9, $8, $6 / $9, $10, $11, $12, $13, $14}' "$WORK/$backend/out.txt"
done
echo
echo "| database | data written (s) | admin reindex (s) | index MiB | rest of the database MiB | index / rest |"
echo "|---|---:|---:|---:|---:|---:|"
for backend in $BACKENDS; do
  awk -F'|' '/^SIZES/ {split($5, s, " "); printf "| %s | %s | %s | %.0f | %.0f | %.0f %% |\n",
    $2, $3, $4, s[1] / 1048576, s[2] / 1048576, 100 * s[1] / s[2]}' "$WORK/$backend/out.txt"
done
