#!/usr/bin/env bash
# Runs schemathesis against the OpenAPI document the server serves, once as the demo admin and once as the demo
# partner (an end-user), each against its own fresh `partnerdesk serve --demo` (so that what the admin run deletes or
# suspends cannot change what the end-user run sees). Every check is enabled; the run is bounded by examples per
# operation and by time. Uses target/debug/partnerdesk as built by scripts/test; builds nothing.
#
# Settings (environment): SCHEMATHESIS_MAX_EXAMPLES (per operation, default 30), SCHEMATHESIS_MAX_TIME (seconds per
# role, default 110), SCHEMATHESIS_SEED (default: random, printed by schemathesis so that a failure can be replayed),
# SCHEMATHESIS_ROLES (default "admin partner"). See docs/openapi-and-schemathesis.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

here=$PWD/tests/schemathesis
bin=$PWD/target/debug/partnerdesk
st=$PWD/.venv/bin/schemathesis
[ -x "$bin" ] || { echo "schemathesis: $bin is missing; run cargo build --bin partnerdesk first" >&2; exit 1; }
[ -x "$st" ] || { echo "schemathesis: $st is missing; install tests/schemathesis/requirements.txt into .venv" >&2; exit 1; }

max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-30}
max_time=${SCHEMATHESIS_MAX_TIME:-110}
roles=${SCHEMATHESIS_ROLES:-admin partner}
work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a fresh demo server for `$1`; sets `port` and prints the demo's sign-in lines into $work/$1/server.log.
start_server() {
  local dir="$work/$1"
  mkdir -p "$dir/data"
  port=$(free_port)
  # Partner buckets are reached through an egress proxy that is a closed port on this machine, so that whatever
  # endpoint the generated data names, no request (not even a DNS lookup) leaves the machine: bucket reads answer
  # 502 Bad Gateway.
  # Sign-in attempts are not limited here: the `ignored_auth` check sends wrong credentials to every operation, far
  # more than the limit, which the Rust tests check on its own (tokens, used for the run, are never limited).
  local dead
  dead="http://127.0.0.1:$(free_port)"
  PARTNERDESK_DATA_DIR="$dir/data" PARTNERDESK_LISTEN="127.0.0.1:$port" PARTNERDESK_LOG_FORMAT=json \
    PARTNERDESK_BUCKET_PROXY="$dead" PARTNERDESK_LOGIN_ATTEMPTS=1000000000 RUST_LOG=warn "$bin" serve --demo >"$dir/server.log" 2>"$dir/server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$dir/server.err" >&2
      echo "schemathesis: the server did not start" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "schemathesis: the server did not answer /healthz" >&2
  return 1
}

# The API token the demo printed for the person whose e-mail is `$2`.
demo_token() {
  sed -n "s|.*curl -u '$2/token:\([^']*\)'.*|\1|p" "$work/$1/server.log" | head -n 1
}

status=0
for role in $roles; do
  case "$role" in
    admin) email=admin@vendor.example ;;
    partner) email=pat@acme.example ;;
    *) echo "schemathesis: unknown role '$role'" >&2; exit 2 ;;
  esac
  start_server "$role"
  token=$(demo_token "$role" "$email")
  [ -n "$token" ] || { echo "schemathesis: no demo token for $email" >&2; exit 1; }
  echo "schemathesis: as $role ($email) against 127.0.0.1:$port, at most $max_examples examples per operation, ${max_time}s"
  seed_args=()
  if [ -n "${SCHEMATHESIS_SEED:-}" ]; then
    seed_args=(--seed "$SCHEMATHESIS_SEED")
  fi
  started=$SECONDS
  # Run from the role's temporary directory: schemathesis and hypothesis keep caches in the working directory, and
  # each run starts from none (a failure is reproduced with the seed it prints, or with SCHEMATHESIS_SEED).
  if ! (cd "$work/$role" && PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks "$st" --config-file "$here/schemathesis.toml" \
    run "http://127.0.0.1:$port/api/v2/openapi.json" --checks all -H "Authorization: Bearer $token" \
    --max-examples "$max_examples" --max-time "$max_time" "${seed_args[@]}" --generation-database :memory: \
    --no-color); then
    status=1
    echo "schemathesis: FAILED as $role; the server's log follows" >&2
    tail -n 50 "$work/$role/server.err" >&2 || true
  fi
  stop_server
  echo "schemathesis: $role done in $((SECONDS - started))s"
done
if [ $status -eq 0 ]; then
  echo "schemathesis: passed as $roles"
fi
exit $status
