#!/usr/bin/env bash
# Tickets created per second through the API on SQLite vs raw SQLite insert transactions, same run, same disk.
# Usage: bench/tickets.sh [N] [CONCURRENCY...]    Output: a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example bench_tickets
cd "$(mktemp -d)"
RUST_LOG=warn "$OLDPWD/target/release/examples/bench_tickets" "$@"
