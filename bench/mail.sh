#!/usr/bin/env bash
# E-mail in and out (issue 12), on SQLite and on PostgreSQL.
# Inbound: a 10,000-message mailbox on a throw-away dovecot (IMAP, loopback) read by `partnerdesk serve` into
# tickets and comments, in messages per second from the server's start until /metrics has counted every message,
# next to the rate at which mail-parser alone (and the crate's own `inbound::parse`) parses the same .eml files in
# the same run (crates/mail/examples/parse_only.rs, one thread, files in memory) and to the IMAP work alone (each
# message fetched and flagged, one after the other, by Python's imaplib from a copy of the mailbox on the same
# dovecot), with the server's peak RSS.
# Outbound: an agent's public replies through the API (an external Python client at a steady pace) → the notice to
# the requester accepted by an SMTP server (aiosmtpd in another process, recording each arrival): p50/p99/max of
# (accepted − API answered). Target p99 < 1 s. Release build; client, servers and database share this machine's cores.
# The mail (new tickets, replies, other charsets, attachments, unknown senders, auto-replies, repeats) is made by
# bench/mail/generate.py, which describes the mix; the partners and their tickets are created through the API first.
# Usage: bench/mail.sh    (MESSAGES=10000 PARTNERS=450 TICKETS=1000 REPLIES=500 RATE=20 per second,
#                          BACKENDS="sqlite postgres")
# Output: a Markdown table for BENCHMARKS.md, then what each run's mail became. Needs dovecot-imapd (installed with
# apt-get when missing) and python3; installs aiosmtpd into target/bench-mail-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-10000}
PARTNERS=${PARTNERS:-450}
TICKETS=${TICKETS:-1000}
REPLIES=${REPLIES:-500}
RATE=${RATE:-20}
BACKENDS=${BACKENDS:-sqlite postgres}
PG_BASE=${PARTNERDESK_TEST_PG:-postgres://postgres@127.0.0.1:5432}
if ! command -v dovecot >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi
VENV="$PWD/target/bench-mail-venv"
if ! "$VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check aiosmtpd
fi
PY="$VENV/bin/python"
cargo build --release --quiet --bin partnerdesk
cargo build --release --quiet -p partnerdesk-mail --example parse_only
PD="$PWD/target/release/partnerdesk"
PARSE="$PWD/target/release/examples/parse_only"
B="$PWD/bench/mail"
WORK=$(mktemp -d "${BENCH_DIR:-$PWD/target}/pd-mail-XXXX")
chmod 755 "$WORK" # dovecot's mail processes (user dovecot) reach their maildir through it
PG_DB="pd_bench_mail_$$"
DOVECOT_CONFS=()
cleanup() {
  for conf in "${DOVECOT_CONFS[@]}"; do doveadm -c "$conf" stop 2>/dev/null || true; done
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 8192

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no server at $1" >&2; return 1; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# A throw-away dovecot on loopback port $2: users support (partnerdesk's mailbox) and reference (the IMAP-alone
# reference's copy), password secret, maildirs in $1/mail/USER. Dovecot's defaults otherwise.
start_dovecot() {
  local d=$1 port=$2
  mkdir -p "$d/run" "$d/state" "$d/mail"
  chmod 755 "$d"
  chown dovecot:dovecot "$d/mail"
  printf 'support:{PLAIN}secret\nreference:{PLAIN}secret\n' >"$d/passwd"
  chmod 644 "$d/passwd"
  cat >"$d/dovecot.conf" <<EOF
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
default_internal_group = dovecot
first_valid_uid = 100
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$d/mail/%u
passdb {
  driver = passwd-file
  args = $d/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$d/mail/%u
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
ssl = no
EOF
  DOVECOT_CONFS+=("$d/dovecot.conf")
  dovecot -F -c "$d/dovecot.conf" >/dev/null 2>&1 &
  wait_port "$port"
}

# One backend: seed, generate, parse alone, read the mailbox, reply; prints the table row, leaves JSON in $dir.
run_backend() {
  local backend=$1 dir="$WORK/$1"
  mkdir -p "$dir"
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  local smtp_port imap_port
  smtp_port=$(free_port)
  imap_port=$(free_port)
  export PARTNERDESK_DATA_DIR="$dir/data" PARTNERDESK_LISTEN="127.0.0.1:$port" PARTNERDESK_PUBLIC_URL="$BASE"
  export PARTNERDESK_SMTP_URL="smtp://127.0.0.1:$smtp_port" PARTNERDESK_MAIL_FROM="Partner Support <support@vendor.example>"
  export PARTNERDESK_MAIL_REPLY_ADDRESS="support@vendor.example" RUST_LOG=warn
  unset PARTNERDESK_IMAP_URL PARTNERDESK_IMAP_AFTER PARTNERDESK_WORKER_INTERVAL_MS
  if [ "$backend" = postgres ]; then
    psql -q "$PG_BASE/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
    export PARTNERDESK_DATABASE_URL="$PG_BASE/$PG_DB"
  else
    unset PARTNERDESK_DATABASE_URL
  fi
  "$PD" migrate >/dev/null
  echo "a long enough passphrase" | "$PD" admin create-user --email admin@vendor.example --name Admin --role admin --password-stdin >/dev/null
  echo "a long enough passphrase" | "$PD" admin create-user --email jordan@vendor.example --name "Jordan (Partner Support)" --role agent --password-stdin >/dev/null
  local admin_token agent_token
  admin_token=$("$PD" admin api-token --email admin@vendor.example 2>/dev/null)
  agent_token=$("$PD" admin api-token --email jordan@vendor.example 2>/dev/null)
  "$PD" admin create-group --name "Alliance partners" >/dev/null
  "$PD" admin create-form --name "Alliance Partner" --group "Alliance partners" --audience partners --priority normal --tags partner >/dev/null
  "$PD" admin create-org --name "Acme Integrations" --alliance-partner >/dev/null

  "$PY" "$B/smtp_sink.py" "$smtp_port" "$dir/smtp.jsonl" 2>/dev/null &
  local sink=$!
  wait_port "$smtp_port"

  # Seeding through the API of a server that does not read mail yet.
  "$PD" serve 2>"$dir/server-seed.log" &
  local pid=$!
  wait_http "$BASE/readyz"
  (cd "$B" && "$PY" seed.py "$BASE" "$admin_token" "Acme Integrations" "$PARTNERS" "$TICKETS" "$dir/seed.json" 2>/dev/null)
  kill "$pid"; wait "$pid" 2>/dev/null || true

  "$PY" "$B/generate.py" "$dir/seed.json" "$MESSAGES" "$dir/eml" >"$dir/generated.json"
  "$PARSE" "$dir/eml" >"$dir/parse.txt"

  start_dovecot "$dir/dovecot" "$imap_port"
  "$PY" "$B/deliver.py" "$dir/eml" "$dir/dovecot/mail/support" "$imap_port" support secret >/dev/null
  "$PY" "$B/deliver.py" "$dir/eml" "$dir/dovecot/mail/reference" "$imap_port" reference secret >/dev/null
  "$PY" "$B/imap_ref.py" "$imap_port" reference secret >"$dir/imap_ref.json"

  # Inbound: from the server's start until every message has been counted.
  local start
  start=$(date +%s.%N)
  PARTNERDESK_IMAP_URL="imap://support:secret@127.0.0.1:$imap_port/INBOX" PARTNERDESK_IMAP_AFTER=seen \
    "$PD" serve 2>"$dir/server.log" &
  pid=$!
  if ! (cd "$B" && "$PY" inbound.py "$BASE" "$pid" "$MESSAGES" "$start" 900 >"$dir/inbound.json"); then
    echo "$backend: inbound did not finish: $(cat "$dir/inbound.json")" >&2
    tail -n 20 "$dir/server.log" >&2
    return 1
  fi
  # What the mail caused (answers to refused mail, notices of colleagues' replies) is delivered before replies start.
  for _ in $(seq 1 600); do
    [ "$(metric partnerdesk_outbox_pending)" = 0 ] && break
    sleep 0.2
  done
  local pending
  pending=$(metric partnerdesk_outbox_pending)
  echo "{\"outbox_pending_before_replies\": ${pending:-null}, \"mail_sent_so_far\": $(wc -l <"$dir/smtp.jsonl")}" >"$dir/drain.json"

  (cd "$B" && "$PY" outbound.py "$BASE" jordan@vendor.example "$agent_token" "$dir/seed.json" "$dir/smtp.jsonl" \
    "$REPLIES" "$RATE" >"$dir/outbound.json")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  doveadm -c "$dir/dovecot/dovecot.conf" stop 2>/dev/null || true
  kill "$sink"; wait "$sink" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
  fi
  "$PY" "$B/report.py" row "$backend" "$dir"
}

echo "| database | inbound msgs/s | mail-parser alone msgs/s | crate parse msgs/s | inbound / mail-parser | IMAP fetch + flag alone msgs/s | inbound / IMAP alone | peak RSS at 10 % / all of the mail | outbound p50 ms | p99 ms | max ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for backend in $BACKENDS; do
  run_backend "$backend"
done
echo
for backend in $BACKENDS; do
  "$PY" "$B/report.py" notes "$backend" "$WORK/$backend"
done
