#!/usr/bin/env bash
# Benchmark: builds release, serves the example app on a fresh data dir, drives it with wrk and
# reports throughput, latency percentiles, non-2xx answers and the server's memory. Not a test:
# figures go in the README. Usage: bench/run.sh [seconds] [connections]
#
# Runs, each with wrk -t2 -c$CONNECTIONS -d$DURATION:
#   1. cloud function   POST /parse/functions/hello
#   2. object create    POST /parse/classes/BenchItem (master key; each answer is a durable write)
#   3. get by id        GET  /parse/classes/BenchItem/<one id>
#   4. query            GET  /parse/classes/BenchRow?where={"group":"g3","score":{"$gte":5000}}&order=-score&limit=10
#                       over 10,000 seeded BenchRow objects (score 0..9999, group g0..g9)
#   5. httpRequest      an upstream cloudrt's /health directly, then POST /parse/functions/fetchStatus
#                       (one Parse.Cloud.httpRequest to that upstream per call)
#   6. waiting calls    POST /parse/functions/fetchStatus against an upstream answering after 20 ms
#                       (bench/slow_upstream.rs), always wrk -t2 -c64: 64 calls wait at once, the
#                       latency bound is 64 / 20 ms = 3,200 calls/s
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
PORT="${BENCH_PORT:-0}" # 0: a free port, read from the server's start-up line
APP_ID=myapp
MASTER_KEY=bench-master # also in bench/*.lua
ROWS=10000

die() {
  echo "bench: $*" >&2
  exit 1
}
command -v wrk >/dev/null || die "wrk is not installed (make bench installs it)"

cargo build --release --quiet --bin cloudrt --example slow-upstream
DATA_DIR="$(mktemp -d -t cloudrt-bench.XXXXXX)"
LOG="$DATA_DIR.log" # removed on success, kept (and named) on failure
./target/release/cloudrt serve ./cloud --port "$PORT" --app-id "$APP_ID" --master-key "$MASTER_KEY" \
  --data-dir "$DATA_DIR" >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
  local status=$?
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA_DIR"
  if [[ $status -eq 0 ]]; then rm -f "$LOG"; else echo "bench: server log kept in $LOG" >&2; fi
}
trap cleanup EXIT

# The URL comes from the server's own start-up line, so that another process on the port
# cannot be mistaken for it.
BASE=""
for _ in $(seq 1 200); do
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; die "the server exited during start-up (log above)"; }
  url="$(sed -n 's/^cloudrt: listening on //p' "$LOG" | head -1)"
  if [[ -n "$url" ]] && curl -sf "$url/health" >/dev/null; then
    BASE="$url"
    break
  fi
  sleep 0.05
done
[[ -n "$BASE" ]] || { cat "$LOG" >&2; die "the server did not answer /health within 10 s (log above)"; }
ORIGIN="${BASE%/parse}" # wrk takes the origin plus the path below
IDLE_MEMORY="$(grep -E 'VmRSS' "/proc/$SERVER/status" | tr -s ' \t\n' ' ')"

# curl with the keys; fails (and so stops the script) on a non-2xx answer.
api() {
  curl -sS --fail-with-body -H "X-Parse-Application-Id: $APP_ID" -H "X-Parse-Master-Key: $MASTER_KEY" \
    -H "Content-Type: application/json" "$@"
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

run() {
  local name="$1" script="$2" path="$3" out
  echo "== $name: wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency -s $script '$path'"
  kill -0 "$SERVER" 2>/dev/null || die "the server is gone (log: $LOG)"
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$ORIGIN$path")"
  grep -E "requests in|Requests/sec| 50%| 90%| 99%|Non-2xx|Socket errors" <<<"$out" | sed 's/^ */  /'
  grep -q "Non-2xx" <<<"$out" || echo "  Non-2xx or 3xx responses: 0"
  kill -0 "$SERVER" 2>/dev/null || die "the server died during '$name' (log: $LOG)"
}

run "cloud function hello" bench/hello.lua /parse/functions/hello

run "object create (durable write)" bench/create.lua /parse/classes/BenchItem
created="$(api "$BASE/classes/BenchItem?count=1&limit=0" | json_field count)"
echo "  BenchItem objects stored afterwards: $created"

ID="$(api -X POST -d '{"name":"the one","n":1}' "$BASE/classes/BenchItem" | json_field objectId)"
[[ -n "$ID" ]] || die "could not create the object to get"
run "get by id" bench/get.lua "/parse/classes/BenchItem/$ID"

echo "== seeding $ROWS BenchRow objects (POST /parse/batch, 500 per batch, 4 batches at a time)"
start=$(date +%s%N)
python3 - "$BASE" "$APP_ID" "$MASTER_KEY" "$ROWS" <<'EOF'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor

base, app_id, master_key, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CHUNK = 500

def batch(start):
    requests = [
        {"method": "POST", "path": "/parse/classes/BenchRow", "body": {"score": i, "group": f"g{i % 10}", "label": f"row {i}"}}
        for i in range(start, min(start + CHUNK, rows))
    ]
    req = urllib.request.Request(
        f"{base}/batch",
        data=json.dumps({"requests": requests}).encode(),
        headers={"X-Parse-Application-Id": app_id, "X-Parse-Master-Key": master_key, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=300) as response:
        answers = json.load(response)
    failed = [a for a in answers if "success" not in a]
    if len(answers) != len(requests) or failed:
        raise SystemExit(f"batch at {start}: {len(answers)} answers for {len(requests)} requests, failures: {failed[:3]}")

with ThreadPoolExecutor(4) as pool:
    list(pool.map(batch, range(0, rows, CHUNK)))
EOF
seeded="$(api "$BASE/classes/BenchRow?count=1&limit=0" | json_field count)"
echo "  $seeded objects in $(( ($(date +%s%N) - start) / 1000000 )) ms"
[[ "$seeded" == "$ROWS" ]] || die "seeding stored $seeded BenchRow objects, expected $ROWS"

WHERE='{"group":"g3","score":{"$gte":5000}}'
QUERY="where=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$WHERE")&order=-score&limit=10"
# The answer must be right before its speed means anything: g3's ten highest scores.
api "$BASE/classes/BenchRow?$QUERY" | python3 -c '
import json, sys
scores = [r["score"] for r in json.load(sys.stdin)["results"]]
expected = list(range(9993, 5000, -10))[:10]
if scores != expected:
    raise SystemExit(f"bench: the query answered scores {scores}, expected {expected}")
' || die "the benchmark query answers wrongly"
run "query 10 of $ROWS (where group+score, order -score, limit 10)" bench/get.lua "/parse/classes/BenchRow?$QUERY"

MEMORY="$(grep -E 'VmHWM|VmRSS' "/proc/$SERVER/status" | tr -s ' \t\n' ' ')"

# Parse.Cloud.httpRequest: an upstream cloudrt (its /health answers without JavaScript) is
# called directly, then through the example app's fetchStatus function; the difference is
# what one httpRequest costs inside a cloud function.
UPSTREAM_DIR="$(mktemp -d -t cloudrt-upstream.XXXXXX)"
./target/release/cloudrt serve ./cloud --port 0 --app-id upstream --master-key upstream-master --workers 1 \
  --data-dir "$UPSTREAM_DIR" >"$UPSTREAM_DIR.log" 2>&1 &
UPSTREAM=$!
UPSTREAM_URL=""
for _ in $(seq 1 200); do
  UPSTREAM_URL="$(sed -n 's/^cloudrt: listening on //p' "$UPSTREAM_DIR.log" | head -1)"
  [[ -n "$UPSTREAM_URL" ]] && curl -sf "$UPSTREAM_URL/health" >/dev/null && break
  sleep 0.05
done
[[ -n "$UPSTREAM_URL" ]] || die "the upstream server did not start"
FETCH_LUA="$UPSTREAM_DIR.lua"
cat >"$FETCH_LUA" <<LUA
wrk.method = "POST"
wrk.body = '{"url":"$UPSTREAM_URL/health"}'
wrk.headers["X-Parse-Application-Id"] = "$APP_ID"
wrk.headers["Content-Type"] = "application/json"
LUA
echo "== upstream directly: wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency '$UPSTREAM_URL/health'"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$UPSTREAM_URL/health" | grep -E "Requests/sec| 50%| 99%|Non-2xx" | sed 's/^ */  /'
run "one httpRequest per call (fetchStatus -> upstream /health)" "$FETCH_LUA" /parse/functions/fetchStatus
kill "$UPSTREAM" 2>/dev/null || true
wait "$UPSTREAM" 2>/dev/null || true
rm -rf "$UPSTREAM_DIR" "$UPSTREAM_DIR.log" "$FETCH_LUA"

# Cloud code that waits: each call awaits one httpRequest to an upstream answering after 20 ms.
SLOW_LOG="$(mktemp -t cloudrt-slow.XXXXXX)"
./target/release/examples/slow-upstream 20 >"$SLOW_LOG" 2>&1 &
SLOW=$!
SLOW_URL=""
for _ in $(seq 1 200); do
  SLOW_URL="$(sed -n 's/^slow-upstream: listening on //p' "$SLOW_LOG" | head -1)"
  [[ -n "$SLOW_URL" ]] && break
  sleep 0.05
done
[[ -n "$SLOW_URL" ]] || die "the slow upstream did not start"
SLOW_LUA="$SLOW_LOG.lua"
cat >"$SLOW_LUA" <<LUA
wrk.method = "POST"
wrk.body = '{"url":"$SLOW_URL/"}'
wrk.headers["X-Parse-Application-Id"] = "$APP_ID"
wrk.headers["Content-Type"] = "application/json"
LUA
api -X POST -d "{\"url\":\"$SLOW_URL/\"}" "$BASE/functions/fetchStatus" | grep -q '"result":200' || die "fetchStatus against the slow upstream failed"
CONNECTIONS_BEFORE="$CONNECTIONS"
CONNECTIONS=64
run "waiting calls: one httpRequest to an upstream answering after 20 ms (bound 3,200 calls/s)" "$SLOW_LUA" /parse/functions/fetchStatus
CONNECTIONS="$CONNECTIONS_BEFORE"
kill "$SLOW" 2>/dev/null || true
wait "$SLOW" 2>/dev/null || true
rm -f "$SLOW_LOG" "$SLOW_LUA"

echo "== server memory idle after start-up: $IDLE_MEMORY"
echo "== server memory (before the httpRequest runs): $MEMORY"
echo "== server memory (after them): $(grep -E 'VmHWM|VmRSS' "/proc/$SERVER/status" | tr -s ' \t\n' ' ')"
