#!/usr/bin/env bash
# create_or_update_many of organizations and users (100 per job) through a `partnerdesk serve` process, next to the
# same rows written by the store in bulk in the same run; samples the server's memory.
# Usage: bench/bulk.sh [ORGS] [USERS]   (defaults 10000 50000). BENCH_DATABASE_URL=postgres://.../name runs it on
# PostgreSQL (databases name_store and name_api are made afresh). Output: a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin partnerdesk --example bench_bulk
PARTNERDESK_BIN="$PWD/target/release/partnerdesk" RUST_LOG=warn ./target/release/examples/bench_bulk "$@"
