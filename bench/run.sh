#!/usr/bin/env bash
# Benchmark: builds release, serves the example app, drives it with wrk and reports
# throughput, latency percentiles and the server's peak memory. Not a test: figures go in
# the README. Usage: bench/run.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
PORT="${BENCH_PORT:-13370}"

cargo build --release --quiet
./target/release/cloudrt serve ./cloud --port "$PORT" --app-id myapp --master-key bench-master \
  --data-dir "$(mktemp -d)" >/tmp/cloudrt-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/parse/health" >/dev/null && break
  sleep 0.05
done

run() {
  local name="$1" script="$2" path="$3"
  echo "== $name: wrk -t2 -c$CONNECTIONS -d${DURATION}s -s $script $path"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "http://127.0.0.1:$PORT$path" \
    | grep -E "Requests/sec|50%|90%|99%|Non-2xx|errors"
}

run "cloud function hello" bench/hello.lua /parse/functions/hello
echo "== server memory: $(grep -E 'VmHWM|VmRSS' /proc/$SERVER/status | tr -s ' \n' ' ')"
