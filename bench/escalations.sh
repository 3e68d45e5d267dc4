#!/usr/bin/env bash
# Escalation submitted → e-mail accepted by the SMTP server: p50/p99 over N escalations, next to a direct SMTP send.
# Usage: bench/escalations.sh [N]    Output: a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example bench_escalations
cd "$(mktemp -d)"
RUST_LOG=warn "$OLDPWD/target/release/examples/bench_escalations" "$@"
