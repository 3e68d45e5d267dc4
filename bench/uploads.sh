#!/usr/bin/env bash
# Large-file upload throughput and memory, in one run on one disk:
#   dd (sequential write, conv=fdatasync)  vs  a tus upload to partnerdesk  vs  the same upload to rustus,
# all with the same client (`partnerdesk upload`, release build), plus the server's peak RSS (VmHWM) for a
# small and a large upload to show that memory does not grow with file size.
# Usage: bench/uploads.sh [SIZE_MIB] [SMALL_MIB]     (defaults: 1024 and 100)
# Needs rustus on PATH or in RUSTUS (cargo install rustus --locked); skips it with a note otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
SMALL_MIB=${2:-100}
CHUNK_MIB=64
cargo build --release --quiet --bin partnerdesk
PD="$PWD/target/release/partnerdesk"
RUSTUS=${RUSTUS:-$(command -v rustus || echo /tmp/rustus-bin/bin/rustus)}
WORK=$(mktemp -d "${BENCH_DIR:-$PWD/target}/pd-bench-XXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$1/1048576/($3-$2):.0f}')"; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; return 1; }

echo "preparing test files..." >&2
head -c "$((SIZE_MIB * 1048576))" /dev/urandom > "$WORK/big.bin"
head -c "$((SMALL_MIB * 1048576))" /dev/urandom > "$WORK/small.bin"
BYTES=$((SIZE_MIB * 1048576))

# 1. dd
sync
t0=$(now); dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$SIZE_MIB" conv=fdatasync status=none; t1=$(now)
DD=$(mbps "$BYTES" "$t0" "$t1"); rm -f "$WORK/dd.bin"

# 2. partnerdesk: a fresh server per file, so that each peak RSS belongs to one upload.
pd_upload() { # FILE -> "MBps peakKiB"
  local file=$1 data="$WORK/pd-$(basename "$1")" port; port=$(free_port)
  export PARTNERDESK_DATA_DIR=$data PARTNERDESK_LISTEN=127.0.0.1:$port PARTNERDESK_PUBLIC_URL=http://127.0.0.1:$port RUST_LOG=warn
  "$PD" demo > /dev/null
  local token; token=$("$PD" admin api-token --email pat@acme.example)
  "$PD" serve & local pid=$!
  wait_http "http://127.0.0.1:$port/readyz"
  local ticket; ticket=$(curl -s -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"request":{"subject":"bench","comment":{"body":"bench"}}}' "http://127.0.0.1:$port/api/v2/requests.json" | python3 -c 'import sys,json; print(json.load(sys.stdin)["request"]["id"])')
  sync
  local t0 t1; t0=$(now)
  "$PD" upload --quiet --url "http://127.0.0.1:$port" --token "$token" --ticket "$ticket" --chunk-mib $CHUNK_MIB --state-file "$WORK/state.json" "$file" > /dev/null
  t1=$(now)
  echo "$(mbps "$(stat -c %s "$file")" "$t0" "$t1") $(peak_kib $pid)"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$data"
}
read -r PD_BIG PD_BIG_RSS < <(pd_upload "$WORK/big.bin")
read -r PD_SMALL PD_SMALL_RSS < <(pd_upload "$WORK/small.bin")

# 3. rustus, same client, same chunk size.
RU="n/a"; RU_RSS="n/a"
if [ -x "$RUSTUS" ]; then
  port=$(free_port)
  "$RUSTUS" --host 127.0.0.1 --port "$port" --data-dir "$WORK/rustus" --info-dir "$WORK/rustus-info" --max-body-size $(( (CHUNK_MIB + 1) * 1048576 )) > "$WORK/rustus.log" 2>&1 & rpid=$!
  wait_http "http://127.0.0.1:$port/files/" || true
  sync
  t0=$(now)
  "$PD" upload --quiet --url "http://127.0.0.1:$port/files" --token none --ticket 1 --chunk-mib $CHUNK_MIB --state-file "$WORK/rstate.json" "$WORK/big.bin" > /dev/null
  t1=$(now)
  RU=$(mbps "$BYTES" "$t0" "$t1"); RU_RSS=$(( $(peak_kib $rpid) / 1024 ))
  kill $rpid; wait $rpid 2>/dev/null || true
fi

ratio() { python3 -c "a,b='$1','$2'; print('n/a' if 'n/a' in (a,b) else f'{float(a)/float(b):.2f}')"; }
cat <<TABLE
| measurement ($SIZE_MIB MiB unless noted; client: \`partnerdesk upload\`, $CHUNK_MIB MiB PATCHes) | MiB/s | ratio to dd | peak RSS of the server |
|---|---:|---:|---:|
| dd if=/dev/zero bs=1M conv=fdatasync (reference) | $DD | 1.00 | |
| tus upload to partnerdesk (local disk, fdatasync after each PATCH, sha256 of the file) | $PD_BIG | $(ratio "$PD_BIG" "$DD") | $((PD_BIG_RSS / 1024)) MiB |
| tus upload to partnerdesk, $SMALL_MIB MiB file | $PD_SMALL | $(ratio "$PD_SMALL" "$DD") | $((PD_SMALL_RSS / 1024)) MiB |
| tus upload to rustus (file storage, defaults) | $RU | $(ratio "$RU" "$DD") | $RU_RSS MiB |

partnerdesk / rustus throughput: $(ratio "$PD_BIG" "$RU")
TABLE
