#!/usr/bin/env python3
"""Scale bench: fills one class through /batch, then times the queries an app repeats.

Starts the release binary on a fresh data dir (port 0, read from its start-up line), fills
N objects shaped like {"category": "c<i%100>", "score": i%1000, "tag": "t<i%7>", "name": "n<i>"}
through POST /batch (50 per batch, CLIENTS concurrent clients), reports the fill rate, the
server's CPU time per object filled and its RSS, times a full scan (a count no index serves), then:
- times the first run of each query kind (no index on its fields yet: a scan, or a walk of the
  natural order) and runs each twice more, as an app repeats them: automatic indexes appear;
- waits until `explain=1` shows each query on an index (at most 5 min: they build in the
  background), then times each query kind (median of REPEAT runs) and names the index;
- restarts the server on the same data and times it to healthy and its first query.
Reports the server's RSS after the fill, after the queries and after the restart.

Usage: bench/scale.py [objects]   (env: CLIENTS=4, REPEAT=15, BIN=target/release/cloudrt, KEEP=1)
Build first: cargo build --release
"""
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

OBJECTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
CLIENTS = int(os.environ.get("CLIENTS", "4"))
REPEAT = int(os.environ.get("REPEAT", "15"))
PER_BATCH = 50
APP_ID = "scale-app"
MASTER_KEY = "scale-master"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BIN", os.path.join(ROOT, "target", "release", "cloudrt"))

QUERIES = [
    ("equality on one field, limit 10", {"where": {"category": "c42"}, "limit": 10}),
    ("range + order + limit 10", {"where": {"score": {"$gt": 900}}, "order": "score", "limit": 10}),
    ("count of an equality", {"where": {"category": "c42"}, "count": 1, "limit": 0}),
    ("two-field equality", {"where": {"category": "c42", "tag": "t3"}, "limit": 10}),
    ("$in on one field, limit 10", {"where": {"category": {"$in": ["c1", "c2", "c3"]}}, "limit": 10}),
    ("count of a range", {"where": {"score": {"$gte": 100, "$lt": 200}}, "count": 1, "limit": 0}),
]


def start_server(data_dir, log_path):
    log = open(log_path, "w")
    server = subprocess.Popen(
        [BIN, "serve", os.path.join(ROOT, "cloud"), "--port", "0", "--app-id", APP_ID,
         "--master-key", MASTER_KEY, "--data-dir", data_dir],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"server exited: {open(log_path).read()}")
        found = re.search(r"listening on (http://\S+)", open(log_path).read())
        if found:
            return server, urllib.parse.urlparse(found.group(1))
        time.sleep(0.05)
    server.kill()
    sys.exit("server did not start")


def connect(url):
    return http.client.HTTPConnection(url.hostname, url.port, timeout=120)


def request(conn, method, path, body=None, master=False):
    headers = {"X-Parse-Application-Id": APP_ID, "Content-Type": "application/json"}
    if master:
        headers["X-Parse-Master-Key"] = MASTER_KEY
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    if answer.status >= 300:
        sys.exit(f"{method} {path}: {answer.status} {data[:300]!r}")
    return json.loads(data)


def fill(url):
    batches = [range(start, min(start + PER_BATCH, OBJECTS)) for start in range(0, OBJECTS, PER_BATCH)]
    lock = threading.Lock()
    failures = []

    def client():
        conn = connect(url)
        while True:
            with lock:
                if not batches:
                    return
                batch = batches.pop()
            requests = [{"method": "POST", "path": "/parse/classes/Item",
                         "body": {"category": f"c{i % 100}", "score": i % 1000, "tag": f"t{i % 7}", "name": f"n{i}"}}
                        for i in batch]
            answers = request(conn, "POST", "/parse/batch", {"requests": requests}, master=True)
            if any("success" not in a for a in answers):
                with lock:
                    failures.append(answers[:3])
                    batches.clear()
                return

    started = time.time()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(f"batch failed: {failures[0]}")
    return OBJECTS / (time.time() - started)


def query_path(params, explain=False):
    params = dict(params, explain=1) if explain else params
    query = urllib.parse.urlencode({k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()})
    return f"/parse/classes/Item?{query}"


def timed(conn, path):
    started = time.perf_counter()
    answer = request(conn, "GET", path)
    return (time.perf_counter() - started) * 1000, answer


def plan_of(conn, params):
    return request(conn, "GET", query_path(params, explain=True), master=True)["results"][0]


def wait_for_indexes(conn):
    """Until every query reads an index of its own (not a scan or the natural order)."""
    deadline = time.time() + 300
    while time.time() < deadline:
        if all(plan_of(conn, params)["index"] not in ("scan", "natural") for _, params in QUERIES):
            return True
        time.sleep(0.5)
    return False


def healthy_after(url, started):
    while True:
        try:
            conn = connect(url)
            conn.request("GET", "/parse/health")
            if conn.getresponse().status == 200:
                return (time.perf_counter() - started) * 1000
        except OSError:
            pass
        time.sleep(0.01)


def cpu_seconds(pid):
    """User + system CPU the process has used: on a shared machine a steadier figure than the
    wall-clock rate, which other processes' load moves."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# A full scan: no index serves an equality on a boolean (and a count walks no index), and no
# object holds `flag`, so the store's byte prefilter refuses every object undecoded. Run before
# the queries below build their indexes (the first query on a field builds one).
SCAN = ("unindexed equality (full scan)", {"where": {"flag": True}, "count": 1, "limit": 0})


def time_scan(conn, pid):
    name, params = SCAN
    query = urllib.parse.urlencode({k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()})
    times = []
    cpu_before = cpu_seconds(pid)
    for _ in range(max(REPEAT, 3)):
        started = time.perf_counter()
        request(conn, "GET", f"/parse/classes/Item?{query}")
        times.append((time.perf_counter() - started) * 1000)
    cores = (cpu_seconds(pid) - cpu_before) * 1000 / sum(times)
    print(f"{name:34} median {statistics.median(times):7.1f} ms  (min {min(times):.1f} ms, "
          f"{OBJECTS / statistics.median(times) / 1000:.2f} M objects/s, {cores:.1f} cores busy)")


def main():
    work = tempfile.mkdtemp(prefix="cloudrt-scale.")
    server, url = start_server(os.path.join(work, "data"), os.path.join(work, "server.log"))
    try:
        cpu_before = cpu_seconds(server.pid)
        rate = fill(url)
        cpu = cpu_seconds(server.pid) - cpu_before
        print(f"objects: {OBJECTS}, clients: {CLIENTS}, repeat: {REPEAT}")
        print(f"batch fill: {rate:,.0f} objects/s")
        print(f"server CPU during the fill: {cpu:.1f} s ({cpu / OBJECTS * 1e6:.0f} us an object)")
        print(f"server RSS after the fill: {rss_mb(server.pid):.0f} MB")
        conn = connect(url)
        time_scan(conn, server.pid)
        firsts = {}
        for name, params in QUERIES:
            firsts[name], _ = timed(conn, query_path(params))
            for _ in range(2):
                timed(conn, query_path(params))
        waited = time.perf_counter()
        complete = wait_for_indexes(conn)
        print(f"indexes complete {time.perf_counter() - waited:.1f} s after the first queries" if complete else "indexes NOT complete after 5 min")
        for name, params in QUERIES:
            path = query_path(params)
            times = []
            for _ in range(REPEAT):
                elapsed, answer = timed(conn, path)
                times.append(elapsed)
            shown = answer.get("count", len(answer.get("results", [])))
            index = plan_of(conn, params)["index"]
            print(f"{name:34} median {statistics.median(times):7.2f} ms  (first {firsts[name]:7.1f} ms, answer {shown}, index {index})")
        print(f"server RSS after the queries: {rss_mb(server.pid):.0f} MB")
        server.kill()
        server.wait()
        started = time.perf_counter()
        server, url = start_server(os.path.join(work, "data"), os.path.join(work, "server2.log"))
        print(f"restart to healthy: {healthy_after(url, started):.0f} ms")
        conn = connect(url)
        first, _ = timed(conn, query_path(QUERIES[0][1]))
        print(f"first query after the restart: {first:.1f} ms ({QUERIES[0][0]})")
        time.sleep(float(os.environ.get("SETTLE", "0")))
        print(f"server RSS after the restart: {rss_mb(server.pid):.0f} MB")
    finally:
        server.kill()
        server.wait()
        if os.environ.get("KEEP") == "1":
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
