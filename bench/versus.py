#!/usr/bin/env python3
"""Side by side: cloudrt (default flags, its embedded store; with BACKEND=postgres, on the same
PostgreSQL server as Parse Server, a database each) and Parse Server 8 on PostgreSQL, running the
same cloud code (bench/cloud/main.js), driven by the same wrk scenarios in one run.

Scenarios (wrk -t2 -cCONNECTIONS -dDURATION each, servers taking turns):
  hello          POST /functions/hello
  create         POST /classes/BenchItem (master key): one durable write
  get            GET  /classes/BenchItem/<id>
  query          GET  /classes/BenchRow?where={"group":"g3"}&limit=10, "group" indexed through
                 the schema API on both servers
  triggers       POST /classes/BenchTriggered: a beforeSave that changes the object + an afterSave
  findTen        POST /functions/findTen: a cloud function running a 10-object query over
                 10,000 seeded BenchRow objects
  waiting        POST /functions/fetchStatus: one HTTP request to an upstream that answers
                 after 20 ms (bench/slow_upstream.rs), always -c64; Parse.Cloud.httpRequest on
                 cloudrt, Node's fetch on Parse Server 8 (which dropped httpRequest)
and each server's RSS when idle and at the end (Parse Server's Node process only: PostgreSQL's
own memory is not counted). With BACKEND=postgres it then starts a second cloudrt node on the
same database and runs get, query and findTen against both nodes at once (two wrk, half the
connections each), beside one node with all of them. Not a test: figures go in the README.

Usage: bench/versus.py [seconds] [connections]
       (defaults 10, 32; env DATABASE=postgres://… the server, BACKEND=sled|postgres,
       BIN=path the cloudrt binary to run, not built then (to A/B an old build against a new),
       SCENARIOS=findTen,query only those scenarios (in both tables),
       PARSE_SERVER=off cloudrt's figures only, for quick A/B runs)
Needs: wrk, Node 20, PostgreSQL on 127.0.0.1:5432 (a database is created and dropped), and
`npm ci --prefix bench/parse_server` (done by `./scripts/setup.sh --bench`).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DURATION = sys.argv[1] if len(sys.argv) > 1 else "10"
CONNECTIONS = sys.argv[2] if len(sys.argv) > 2 else "32"
APP_ID, MASTER_KEY = "myapp", "bench-master"  # also in bench/*.lua
ROWS = 10_000
PG = os.environ.get("DATABASE", "postgres://postgres@127.0.0.1:5432")
BACKEND = os.environ.get("BACKEND", "sled")
if BACKEND not in ("sled", "postgres"):
    sys.exit(f"versus: BACKEND must be sled or postgres, not {BACKEND!r}")
QUERY = "/parse/classes/BenchRow?where=%7B%22group%22%3A%22g3%22%7D&limit=10"
BENCH = os.path.join(ROOT, "bench")
BIN = os.environ.get("BIN")
SCENARIOS = os.environ.get("SCENARIOS")
WITH_PARSE = os.environ.get("PARSE_SERVER", "on") != "off"


def die(message):
    sys.exit(f"versus: {message}")


def wait_for(log_path, pattern, process, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            die(f"{what} exited: {open(log_path).read()[-2000:]}")
        found = re.search(pattern, open(log_path).read())
        if found:
            return found.group(1)
        time.sleep(0.05)
    die(f"{what} did not start: {open(log_path).read()[-2000:]}")


def api(base, method, path, body=None, master=True):
    headers = {"X-Parse-Application-Id": APP_ID, "Content-Type": "application/json"}
    if master:
        headers["X-Parse-Master-Key"] = MASTER_KEY
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        die(f"{method} {base}{path} answered {error.code}: {error.read()[:500]!r}")


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed(base):
    for start in range(0, ROWS, 50):
        requests = [{"method": "POST", "path": "/parse/classes/BenchRow", "body": {"score": i, "group": f"g{i % 10}", "label": f"row {i}"}}
                    for i in range(start, start + 50)]
        api(base, "POST", "/batch", {"requests": requests})
    api(base, "PUT", "/schemas/BenchRow", {"className": "BenchRow", "indexes": {"group_1": {"group": 1}}})


def wrk_command(base, script, path, connections):
    origin = base[: -len("/parse")]
    return ["wrk", "-t2", f"-c{connections}", f"-d{DURATION}s", "--latency", "-s", script, origin + path]


def wrk(base, script, path, connections):
    return wrk_figures(subprocess.run(wrk_command(base, script, path, connections), capture_output=True, text=True, check=True).stdout)


def wrk_figures(out):
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(errors.group(1)) if errors else 0


def lua(name, body, master=False):
    path = os.path.join(WORK, name + ".lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = '{json.dumps(body)}'\n")
        f.write(f'wrk.headers["X-Parse-Application-Id"] = "{APP_ID}"\n')
        if master:
            f.write(f'wrk.headers["X-Parse-Master-Key"] = "{MASTER_KEY}"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
    return path


if shutil.which("wrk") is None:
    die("wrk is not installed (./scripts/setup.sh --bench installs it)")
if not os.path.isdir(os.path.join(BENCH, "parse_server", "node_modules", "parse-server")):
    die("Parse Server is not installed: npm ci --prefix bench/parse_server (or ./scripts/setup.sh --bench)")
subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "slow-upstream"] + ([] if BIN else ["--bin", "cloudrt"]), cwd=ROOT, check=True)
BIN = os.path.abspath(BIN) if BIN else os.path.join(ROOT, "target/release/cloudrt")

WORK = tempfile.mkdtemp(prefix="cloudrt-versus.")
database = f"cloudrt_versus_{os.getpid()}"
cloudrt_database = f"{database}_cloudrt"
databases = [database] + ([cloudrt_database] if BACKEND == "postgres" else [])
for name in databases:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
processes = []
try:
    def start(command, log_name, pattern, what, cwd=ROOT):
        log = os.path.join(WORK, log_name)
        process = subprocess.Popen(command, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=cwd)
        processes.append(process)
        return process, wait_for(log, pattern, process, what)

    slow, slow_url = start([os.path.join(ROOT, "target/release/examples/slow-upstream"), "20"], "slow.log",
                           r"slow-upstream: listening on (\S+)", "the slow upstream")
    def cloudrt_node(node):
        # On PostgreSQL the data directory keeps only the node's files and script log.
        store = ["--data-dir", os.path.join(WORK, f"data{node}")] + (["--database-uri", f"{PG}/{cloudrt_database}"] if BACKEND == "postgres" else [])
        return start([BIN, "serve", os.path.join(BENCH, "cloud"), "--port", "0",
                      "--app-id", APP_ID, "--master-key", MASTER_KEY, "--allow-client-class-creation"] + store,
                     f"cloudrt{node}.log", r"listening on (http://\S+)", f"cloudrt node {node}")

    cloudrt, cloudrt_url = cloudrt_node(1)
    servers = [("cloudrt", cloudrt, cloudrt_url)]
    if WITH_PARSE:
        port = 20000 + os.getpid() % 20000
        # Run in the scratch directory: Parse Server writes a logs/ folder into its working directory.
        parse, parse_url = start(["node", os.path.join(BENCH, "parse_server", "server.mjs"), f"{PG}/{database}", str(port),
                                  os.path.join(BENCH, "cloud", "main.js")], "parse.log",
                                 r"parse-server: listening on (\S+)", "Parse Server", cwd=WORK)
        servers.append(("Parse Server 8", parse, parse_url))
    time.sleep(1)
    idle = {name: rss_mb(process.pid) for name, process, _ in servers}
    ids = {}
    for name, _, base in servers:
        seed(base)
        ids[name] = api(base, "POST", "/classes/BenchItem", {"name": "the one", "n": 1})["objectId"]
    scenarios = [
        ("hello", lua("hello", {"name": "Ada"}), lambda name: "/parse/functions/hello", CONNECTIONS),
        ("create", os.path.join(BENCH, "create.lua"), lambda name: "/parse/classes/BenchItem", CONNECTIONS),
        ("get", os.path.join(BENCH, "get.lua"), lambda name: f"/parse/classes/BenchItem/{ids[name]}", CONNECTIONS),
        ("query", os.path.join(BENCH, "get.lua"), lambda name: QUERY, CONNECTIONS),
        ("triggers", lua("triggered", {"n": 1}), lambda name: "/parse/classes/BenchTriggered", CONNECTIONS),
        ("findTen", lua("find_ten", {}), lambda name: "/parse/functions/findTen", CONNECTIONS),
        ("waiting", lua("fetch", {"url": slow_url + "/"}), lambda name: "/parse/functions/fetchStatus", "64"),
    ]
    if SCENARIOS:
        scenarios = [s for s in scenarios if s[0] in SCENARIOS.split(",")]
    store = "PostgreSQL (its own database on the same server)" if BACKEND == "postgres" else "its embedded store"
    print(f"cloudrt on {store}; wrk -t2 -c{CONNECTIONS} -d{DURATION}s per scenario (waiting: -c64), servers taking turns\n")
    print(f"| scenario | cloudrt req/s (p50, p99) | Parse Server 8 req/s (p50, p99) | ratio |")
    print(f"|---|---:|---:|---:|")
    for scenario, script, path, connections in scenarios:
        figures = {}
        for name, process, base in servers:
            figures[name] = wrk(base, script, path(name), connections)
            if process.poll() is not None:
                die(f"{name} died during {scenario}")
        ours = figures["cloudrt"]
        theirs = figures.get("Parse Server 8")
        errors = "".join(f" ({f[3]} non-2xx from {n})" for n, f in figures.items() if f[3])
        print(f"| {scenario} | {ours[0]:,.0f} ({ours[1]}, {ours[2]}) | "
              + (f"{theirs[0]:,.0f} ({theirs[1]}, {theirs[2]}) | {ours[0] / theirs[0]:.1f}× |" if theirs else "not run | |")
              + errors)
    end = {name: rss_mb(process.pid) for name, process, _ in servers}
    parse_rss = f"{idle['Parse Server 8']:.0f} → {end['Parse Server 8']:.0f} MB (PostgreSQL not counted)" if WITH_PARSE else "not run"
    print(f"| RSS idle → at the end | {idle['cloudrt']:.0f} → {end['cloudrt']:.0f} MB | {parse_rss} | |")
    if BACKEND == "postgres":
        second, second_url = cloudrt_node(2)
        half = str(max(1, int(CONNECTIONS) // 2))
        print(f"\nTwo cloudrt nodes on one database: wrk -c{half} at each at once, beside one node at -c{CONNECTIONS}\n")
        print("| scenario | one node req/s | two nodes req/s (sum) | ratio |")
        print("|---|---:|---:|---:|")
        for scenario, script, path, _ in [s for s in scenarios if s[0] in ("get", "query", "findTen")]:
            one = wrk(cloudrt_url, script, path("cloudrt"), CONNECTIONS)[0]
            runs = [subprocess.Popen(wrk_command(url, script, path("cloudrt"), half), stdout=subprocess.PIPE, text=True)
                    for url in (cloudrt_url, second_url)]
            two = sum(wrk_figures(run.communicate()[0])[0] for run in runs)
            print(f"| {scenario} | {one:,.0f} | {two:,.0f} | {two / one:.2f}× |")
finally:
    for process in processes:
        process.kill()
        process.wait()
    for name in databases:
        subprocess.run(["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"])
    shutil.rmtree(WORK, ignore_errors=True)
