#!/usr/bin/env bash
# The write path (issue 11): POST /api/v2/tickets.json through an external load generator (wrk) at several
# connection counts, on SQLite and on PostgreSQL, next to the database's own speed for the same rows measured in
# the same run (SQLite through its C library, PostgreSQL through pgbench), plus ticket shows and a mixed load.
# Release build; client and server share this machine's cores.
# Usage: bench/writes.sh            (DURATION=30 seconds per run, LEVELS="1 8 32 128", BACKENDS="sqlite postgres")
# Output: a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
LEVELS=${LEVELS:-1 8 32 128}
BACKENDS=${BACKENDS:-sqlite postgres}
PG_BASE=${PARTNERDESK_TEST_PG:-postgres://postgres@127.0.0.1:5432}
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin partnerdesk
PD="$PWD/target/release/partnerdesk"
export PD_BENCH_DIR="$PWD/bench/writes"
WORK=$(mktemp -d "${BENCH_DIR:-$PWD/target}/pd-writes-XXXX")
PG_DB="pd_bench_writes_$$"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 8192

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no server at $1" >&2; return 1; }
# wrk's RESULT line as table cells: per second | p50 | p99 | max | errors
run_wrk() {
  local conns=$1 script=$2 url=$3 threads=2
  [ "$conns" -lt 2 ] && threads=1
  wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s -s "bench/writes/$script" "$url" | awk '/^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%.0f | %.2f | %.2f | %.1f | %d\n", v["requests"] / v["seconds"], v["p50"], v["p99"], v["max"], v["non2xx"] + v["socket_errors"]
    if (v["non2xx"] + v["socket_errors"] > 0) printf "  (%s: %d non-2xx, %d socket errors)\n", FILENAME, v["non2xx"], v["socket_errors"] > "/dev/stderr" }'
}

# A seeded server: an admin with a token and a session cookie, an organization; prints nothing.
start_server() {
  local backend=$1
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  export PARTNERDESK_DATA_DIR="$WORK/$backend" PARTNERDESK_LISTEN="127.0.0.1:$port" PARTNERDESK_PUBLIC_URL="$BASE" RUST_LOG=error
  if [ "$backend" = postgres ]; then
    psql -q "$PG_BASE/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
    export PARTNERDESK_DATABASE_URL="$PG_BASE/$PG_DB"
  else
    unset PARTNERDESK_DATABASE_URL
  fi
  "$PD" migrate >/dev/null
  echo "a long enough passphrase" | "$PD" admin create-user --email admin@vendor.example --name Admin --role admin --password-stdin >/dev/null
  export PD_TOKEN
  PD_TOKEN=$("$PD" admin api-token --email admin@vendor.example 2>/dev/null)
  "$PD" serve & server_pid=$!
  wait_http "$BASE/readyz"
  local jar="$WORK/jar-$backend" csrf
  csrf=$(curl -s -c "$jar" "$BASE/signin" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
  curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "email=admin@vendor.example" \
    --data-urlencode "password=a long enough passphrase" --data-urlencode "csrf=$csrf" "$BASE/signin"
  export PD_COOKIE
  PD_COOKIE=$(awk '!/^#/ && NF >= 7 {c = c $6 "=" $7 "; "} END {print c}' "$jar")
  PD_COOKIE=${PD_COOKIE%; }
}

reference() {
  local backend=$1
  export RUST_LOG=error
  if [ "$backend" = sqlite ]; then
    local db="$WORK/reference/partnerdesk.db"
    PARTNERDESK_DATA_DIR="$WORK/reference" PARTNERDESK_DATABASE_URL="sqlite://$db" "$PD" migrate >/dev/null
    echo "x passphrase long" | PARTNERDESK_DATA_DIR="$WORK/reference" PARTNERDESK_DATABASE_URL="sqlite://$db" \
      "$PD" admin create-user --email admin@vendor.example --name Admin --role admin --password-stdin >/dev/null
    python3 bench/writes/reference_sqlite.py "$db" "$DURATION"
  else
    local ref="${PG_DB}_ref"
    psql -q "$PG_BASE/postgres" -c "CREATE DATABASE $ref" >/dev/null
    PARTNERDESK_DATA_DIR="$WORK/reference-pg" PARTNERDESK_DATABASE_URL="$PG_BASE/$ref" "$PD" migrate >/dev/null
    echo "x passphrase long" | PARTNERDESK_DATA_DIR="$WORK/reference-pg" PARTNERDESK_DATABASE_URL="$PG_BASE/$ref" \
      "$PD" admin create-user --email admin@vendor.example --name Admin --role admin --password-stdin >/dev/null
    pgbench -n -c 32 -j 2 -T "$DURATION" -f bench/writes/reference.pgbench "$PG_BASE/$ref" 2>/dev/null |
      awk '/^tps/ {printf "%.0f\n", $3}'
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $ref WITH (FORCE)" >/dev/null
  fi
}

echo "| database | load | connections | per second | p50 ms | p99 ms | max ms | errors | ratio to reference |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for backend in $BACKENDS; do
  ref=$(reference "$backend")
  if [ "$backend" = sqlite ]; then
    echo "| sqlite | reference: ticket + comment + audit row per transaction, C library, 1 writer | 1 | $ref | | | | | 1.00 |"
  else
    echo "| postgres | reference: ticket + comment + audit row per transaction, pgbench | 32 | $ref | | | | | 1.00 |"
  fi
  start_server "$backend"
  for c in $LEVELS; do
    row=$(run_wrk "$c" create.lua "$BASE")
    rate=${row%% *}
    echo "| $backend | POST /api/v2/tickets.json | $c | $row | $(python3 -c "print(f'{$rate / $ref:.2f}')") |"
  done
  export PD_IDS="$WORK/ids-$backend"
  if [ "$backend" = sqlite ]; then
    python3 -c 'import sqlite3,sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT id FROM tickets")]' \
      "$PARTNERDESK_DATA_DIR/partnerdesk.db" >"$PD_IDS"
  else
    psql -tA "$PARTNERDESK_DATABASE_URL" -c "SELECT id FROM tickets" >"$PD_IDS"
  fi
  echo "| $backend | GET /api/v2/tickets/{id}.json | 32 | $(run_wrk 32 show.lua "$BASE") | |"
  echo "| $backend | mixed: 45% ticket show, 45% partner queue page, 10% create | 32 | $(run_wrk 32 mixed.lua "$BASE") | |"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done
