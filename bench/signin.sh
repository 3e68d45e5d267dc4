#!/usr/bin/env bash
# Server memory through bursts of concurrent sign-in attempts (issue 10): N connections at once, each sending a
# wrong password with Basic auth, against a release server on SQLite. The limit on failed attempts is raised so that
# every attempt reaches the password check (the worst case for memory); with the default limit nearly all would be
# refused before hashing. The reference is the same server's peak RSS before the burst, in the same run.
# Usage: bench/signin.sh [CONNECTIONS] [ROUNDS]    (defaults: 500 and 4)    Output: a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-500}
ROUNDS=${2:-4}
cargo build --release --quiet --bin partnerdesk
PD="$PWD/target/release/partnerdesk"
WORK=$(mktemp -d "${BENCH_DIR:-$PWD/target}/pd-bench-XXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; return 1; }

port=$(free_port)
export PARTNERDESK_DATA_DIR=$WORK/data PARTNERDESK_LISTEN=127.0.0.1:$port RUST_LOG=error
export PARTNERDESK_LOGIN_ATTEMPTS=100000000
echo "a long enough passphrase" | "$PD" admin create-user --email bench@vendor.test --name Bench --role admin --password-stdin > /dev/null
ulimit -n 4096
"$PD" serve & pid=$!
wait_http "http://127.0.0.1:$port/readyz"
# One correct sign-in first, so that the reference includes a password check.
curl -s -o /dev/null -u "bench@vendor.test:a long enough passphrase" "http://127.0.0.1:$port/api/v2/users/me.json"
IDLE=$(peak_kib $pid)

# The load generator: CONNECTIONS sockets opened at once, one request each, per round; prints status counts.
BURST=$(python3 - "$port" "$CONNECTIONS" "$ROUNDS" <<'PY'
import asyncio, base64, collections, sys, time
port, n, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
auth = base64.b64encode(b"bench@vendor.test:not the password").decode()
req = (f"GET /api/v2/users/me.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
       "Connection: close\r\n\r\n").encode()
async def one():
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(req); await w.drain()
    line = await r.readline()
    await r.read()
    w.close()
    return line.split()[1].decode() if line else "closed"
async def main():
    counts = collections.Counter()
    t0 = time.monotonic()
    for _ in range(rounds):
        counts.update(await asyncio.gather(*(one() for _ in range(n)), return_exceptions=False))
    took = time.monotonic() - t0
    print(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())), f"{took:.1f}")
asyncio.run(main())
PY
)
PEAK=$(peak_kib $pid)
kill $pid; wait $pid 2>/dev/null || true
read -r -a parts <<< "$BURST"
SECONDS_TAKEN=${parts[-1]}
STATUSES=$(printf '%s ' "${parts[@]:0:${#parts[@]}-1}")
cat <<TABLE
| measurement ($ROUNDS bursts of $CONNECTIONS simultaneous wrong-password requests, SQLite, release) | value |
|---|---:|
| peak RSS before the bursts, after one sign-in (reference) | $((IDLE / 1024)) MiB |
| peak RSS through the bursts | $((PEAK / 1024)) MiB |
| ratio to the reference | $(python3 -c "print(f'{$PEAK/$IDLE:.2f}')") |
| answers (status:count) | $STATUSES |
| time for all bursts | ${SECONDS_TAKEN} s |
TABLE
