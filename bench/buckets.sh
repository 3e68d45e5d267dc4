#!/usr/bin/env bash
# Partner-bucket throughput and listing overhead, in one run, with moto_server as the partner's S3 service:
#   (a) a large object read straight from S3 (a boto3-presigned URL) vs through partnerdesk
#       (GET /api/v2/organizations/1/bucket/download?key=, streamed), both with python requests streaming to nowhere,
#       plus boto3 get_object for reference, and partnerdesk's peak RSS (VmHWM) before and after;
#   (b) listing COUNT objects straight from S3 (boto3 list_objects_v2 paginator, 1000 a page) vs through partnerdesk
#       (page[size]=1000, following links.next).
# Each measurement is run ROUNDS times, alternating direct and partnerdesk; the table shows the medians.
# Usage: bench/buckets.sh [SIZE_MIB] [COUNT] [ROUNDS]     (defaults: 1024, 10000 and 3)
# PARTNERDESK_BIN=path uses that binary instead of building target/release/partnerdesk first.
# Needs python3; installs moto[server], boto3 and requests into .venv from tests/buckets/requirements.txt if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
COUNT=${2:-10000}
ROUNDS=${3:-3}
if [ -n "${PARTNERDESK_BIN:-}" ]; then
  PD=$(realpath "$PARTNERDESK_BIN")
else
  cargo build --release --quiet --bin partnerdesk
  PD="$PWD/target/release/partnerdesk"
fi
VENV="$PWD/.venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import moto, boto3, requests' 2>/dev/null || "$VENV/bin/pip" install -q -r tests/buckets/requirements.txt
PY="$VENV/bin/python"
WORK=$(mktemp -d "${BENCH_DIR:-$PWD/target}/pd-buckets-bench-XXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; return 1; }

echo "preparing a $SIZE_MIB MiB file..." >&2
head -c "$((SIZE_MIB * 1048576))" /dev/urandom > "$WORK/big.bin"

# moto keeps objects in spooled temporary files: keep them under $WORK too.
MOTO_PORT=$(free_port)
TMPDIR="$WORK" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$WORK/moto.log" 2>&1 &
wait_http "http://127.0.0.1:$MOTO_PORT/"

PD_PORT=$(free_port)
export PARTNERDESK_DATA_DIR="$WORK/pd" PARTNERDESK_LISTEN=127.0.0.1:$PD_PORT PARTNERDESK_PUBLIC_URL=http://127.0.0.1:$PD_PORT RUST_LOG=warn PARTNERDESK_BUCKET_ALLOW_PRIVATE_ENDPOINTS=true
"$PD" demo > /dev/null
ADMIN_TOKEN=$("$PD" admin api-token --email admin@vendor.example 2>/dev/null)
AGENT_TOKEN=$("$PD" admin api-token --email agent@vendor.example 2>/dev/null)
"$PD" serve > "$WORK/partnerdesk.log" 2>&1 &
PD_PID=$!
wait_http "http://127.0.0.1:$PD_PORT/readyz"

export MOTO_URL="http://127.0.0.1:$MOTO_PORT" PD_URL="http://127.0.0.1:$PD_PORT" PD_PID ADMIN_TOKEN AGENT_TOKEN \
  BIG_FILE="$WORK/big.bin" COUNT ROUNDS
"$PY" - > "$WORK/results" <<'PY'
import os, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor

import boto3, requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MOTO, PD, PID = os.environ["MOTO_URL"], os.environ["PD_URL"], os.environ["PD_PID"]
COUNT, ROUNDS, BIG = int(os.environ["COUNT"]), int(os.environ["ROUNDS"]), os.environ["BIG_FILE"]
BUCKET, BASE = "bench-bucket", f"{PD}/api/v2/organizations/1/bucket"
SIZE = os.path.getsize(BIG)
log = lambda *a: print(*a, file=sys.stderr, flush=True)

s3 = boto3.client("s3", endpoint_url=MOTO, region_name="us-east-1", aws_access_key_id="AKIABENCH",
                  aws_secret_access_key="bench-secret", config=Config(s3={"addressing_style": "path"}, max_pool_connections=64))
s3.create_bucket(Bucket=BUCKET)
log(f"uploading {SIZE >> 20} MiB (multipart)...")
t = time.perf_counter()
s3.upload_file(BIG, BUCKET, "big.bin", Config=TransferConfig(multipart_chunksize=64 << 20, max_concurrency=4))
log(f"  {time.perf_counter() - t:.1f} s")
log(f"creating {COUNT} objects...")
t = time.perf_counter()
with ThreadPoolExecutor(32) as pool:
    list(pool.map(lambda i: s3.put_object(Bucket=BUCKET, Key=f"list/obj-{i:06d}", Body=b"x"), range(COUNT)))
log(f"  {time.perf_counter() - t:.1f} s")

admin = requests.Session(); admin.headers["Authorization"] = "Bearer " + os.environ["ADMIN_TOKEN"]
agent = requests.Session(); agent.headers["Authorization"] = "Bearer " + os.environ["AGENT_TOKEN"]
r = admin.put(BASE, json={"bucket_connection": {"endpoint": MOTO, "region": "us-east-1", "bucket": BUCKET, "path_style": True,
              "access_key_id": "AKIABENCH", "secret_access_key": "bench-secret", "download_mode": "stream"}})
assert r.status_code == 200, r.text
assert agent.post(BASE + "/test").json() == {"ok": True}

def hwm_kib():
    for line in open(f"/proc/{PID}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

def cpu_s():  # user + system CPU seconds of partnerdesk so far
    f = open(f"/proc/{PID}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def drain(resp):
    n = 0
    for chunk in resp.iter_content(chunk_size=1 << 20):
        n += len(chunk)
    assert n == SIZE, (n, SIZE)

def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t

def direct_requests():
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "big.bin"}, ExpiresIn=600)
    with requests.get(url, stream=True, timeout=600) as r:
        r.raise_for_status(); drain(r)

def direct_boto3():
    body = s3.get_object(Bucket=BUCKET, Key="big.bin")["Body"]
    n = 0
    for chunk in body.iter_chunks(1 << 20):
        n += len(chunk)
    assert n == SIZE

def through_pd():
    with agent.get(BASE + "/download", params={"key": "big.bin"}, stream=True, timeout=600) as r:
        assert r.status_code == 200, r.text
        drain(r)

rss_before = hwm_kib()
dl = {"direct": [], "pd": [], "boto3": []}
pd_cpu = []
for i in range(ROUNDS):
    dl["direct"].append(timed(direct_requests))
    c0 = cpu_s(); dl["pd"].append(timed(through_pd)); pd_cpu.append(cpu_s() - c0)
    dl["boto3"].append(timed(direct_boto3))
    log(f"download round {i + 1}: direct {dl['direct'][-1]:.2f} s, partnerdesk {dl['pd'][-1]:.2f} s, boto3 {dl['boto3'][-1]:.2f} s")
rss_after = hwm_kib()

def list_direct():
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="list/", Delimiter="/", PaginationConfig={"PageSize": 1000}):
        n += len(page.get("Contents", []))
    assert n == COUNT, n

def list_pd():
    n, url = 0, f"{BASE}/objects?prefix=list/&page[size]=1000"
    while url:
        r = agent.get(url); assert r.status_code == 200, r.text
        j = r.json(); n += len(j["objects"]); url = j["links"]["next"]
    assert n == COUNT, n

ls = {"direct": [], "pd": []}
for i in range(ROUNDS):
    ls["direct"].append(timed(list_direct))
    ls["pd"].append(timed(list_pd))
    log(f"listing round {i + 1}: direct {ls['direct'][-1]:.2f} s, partnerdesk {ls['pd'][-1]:.2f} s")

med = statistics.median
mibs = lambda k: SIZE / 1048576 / med(dl[k])
print(f"DIRECT_MIBS={mibs('direct'):.0f}")
print(f"PD_MIBS={mibs('pd'):.0f}")
print(f"BOTO3_MIBS={mibs('boto3'):.0f}")
print(f"DL_RATIO={mibs('pd') / mibs('direct'):.2f}")
print(f"PD_CPU_PER_GIB={med(pd_cpu) / (SIZE / (1 << 30)):.2f}")
print(f"RSS_BEFORE_MIB={rss_before / 1024:.0f}")
print(f"RSS_AFTER_MIB={rss_after / 1024:.0f}")
print(f"LS_DIRECT={med(ls['direct']):.2f}")
print(f"LS_PD={med(ls['pd']):.2f}")
print(f"LS_OVERHEAD={(med(ls['pd']) / med(ls['direct']) - 1) * 100:+.0f}")
print(f"LS_PAGES={-(-COUNT // 1000)}")
PY
# shellcheck disable=SC1091
source "$WORK/results"
pass() { python3 -c "print('yes' if $1 else 'no')"; }
cat <<TABLE
| measurement ($SIZE_MIB MiB object / $COUNT objects; moto_server on loopback; medians of $ROUNDS) | result | vs direct | target | met |
|---|---:|---:|---:|:---:|
| download straight from S3 (boto3-presigned URL, python requests streaming) | $DIRECT_MIBS MiB/s | 1.00 | | |
| download through partnerdesk (\`bucket/download?key=\`, stream mode, same client) | $PD_MIBS MiB/s | $DL_RATIO | ≥ 0.90 | $(pass "$DL_RATIO >= 0.90") |
| download straight from S3 with boto3 get_object (reference) | $BOTO3_MIBS MiB/s | | | |
| partnerdesk CPU time (user+system) per GiB streamed | $PD_CPU_PER_GIB s | | | |
| partnerdesk peak RSS (VmHWM) before / after the downloads | $RSS_BEFORE_MIB / $RSS_AFTER_MIB MiB | | | |
| list $COUNT objects straight from S3 (boto3 list_objects_v2 paginator, $LS_PAGES pages of 1000) | $LS_DIRECT s | 1.00 | | |
| list them through partnerdesk (\`bucket/objects?page[size]=1000\`, following links.next) | $LS_PD s | $LS_OVERHEAD % | < +20 % | $(pass "$LS_OVERHEAD < 20") |
TABLE
