#!/usr/bin/env python3
"""Aggregates and distinct values over one class: the figures of the README's "Aggregates".

  bench/aggregate.py [--bin target/release/cloudrt] [--objects 20000]

Starts its own server (port 0, a temporary data directory), fills class `Play` through /batch
(`player` among 100 names, `score` 0..999, `tags` of two), then prints the median time of 5 runs
of: distinct player; distinct tags with a where; a $group by player with $sum/$avg/$max and a
$sort; a $match + $count.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

APP_ID = "bench-app"
MASTER_KEY = "bench-master"


def start(binary):
    data = tempfile.mkdtemp(prefix="cloudrt-bench-aggregate-")
    proc = subprocess.Popen(
        [binary, "serve", "fixtures/basics/cloud", "--port", "0", "--app-id", APP_ID, "--master-key", MASTER_KEY, "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        match = re.search(r"listening on (\S+)", line)
        if match:
            return proc, match.group(1)
    raise SystemExit("the server did not start")


def call(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={
        "X-Parse-Application-Id": APP_ID, "X-Parse-Master-Key": MASTER_KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/cloudrt")
    parser.add_argument("--objects", type=int, default=20000)
    args = parser.parse_args()
    proc, url = start(args.bin)
    try:
        mount = urllib.parse.urlparse(url).path
        for start_at in range(0, args.objects, 50):
            requests = [{"method": "POST", "path": f"{mount}/classes/Play", "body": {
                "player": f"p{i % 100}", "score": (i * 7919) % 1000, "tags": [f"t{i % 10}", f"u{i % 7}"]}}
                for i in range(start_at, min(start_at + 50, args.objects))]
            call(url, "POST", "/batch", {"requests": requests})
        q = lambda params: "/aggregate/Play?" + urllib.parse.urlencode(params)
        cases = [
            ("distinct player", q({"distinct": "player"})),
            ("distinct tags where score<500", q({"distinct": "tags", "where": json.dumps({"score": {"$lt": 500}})})),
            ("$group player $sum/$avg/$max + $sort", q({"pipeline": json.dumps([
                {"$group": {"_id": "$player", "total": {"$sum": "$score"}, "mean": {"$avg": "$score"}, "best": {"$max": "$score"}}},
                {"$sort": {"total": -1}}])})),
            ("$match score>=900 + $count", q({"pipeline": json.dumps([{"$match": {"score": {"$gte": 900}}}, {"$count": "n"}])})),
        ]
        print(f"{args.objects} objects")
        for name, path in cases:
            times = []
            for _ in range(5):
                began = time.perf_counter()
                answer = call(url, "GET", path)
                times.append((time.perf_counter() - began) * 1000)
            print(f"{name:40s} {statistics.median(times):8.1f} ms  ({len(answer['results'])} results)")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
