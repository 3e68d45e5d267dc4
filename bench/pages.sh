#!/usr/bin/env bash
# Agent queue and ticket page latency with 100,000 tickets (SQLite), next to /healthz in the same run.
# Usage: bench/pages.sh [TICKETS] [REQUESTS]    Output: a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example bench_pages
cd "$(mktemp -d)"
RUST_LOG=warn "$OLDPWD/target/release/examples/bench_pages" "$@"
