#!/usr/bin/env bash
# What fresh JavaScript state per request would cost on this engine (issue 11, part 7), with
# the example app: a fresh runtime per request, and fresh module state in the warm runtime.
# Prints time per request and the RSS left behind; figures go in README "Concurrency".
# Not a test: it only measures. Usage: bench/isolation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --quiet --bin cloudrt isolation_per_request_costs -- --ignored --nocapture 2>&1 |
  grep -E "^fresh "
