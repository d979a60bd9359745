#!/usr/bin/env python3
"""Costs of the user routes; the figures of the README's "Performance" section (users).

  bench/users.py [--bin target/release/cloudrt] [--few 1000] [--users 100000]

Starts its own server (port 0, a temporary data directory, fixture `auth_data`) and prints,
from one client over one keep-alive connection (latency, not throughput):
  1. the p50 / p99 of a password log-in (`POST /login`) and of an anonymous authData log-in
     (`POST /users` with a known identity), first with --few users stored, then with --users
     users stored: a log-in is a lookup, so it must not grow with `_User`. The password log-in
     includes one Argon2id verification (tens of milliseconds, the same at both sizes); the
     authData log-in hashes nothing, so it shows the lookup's cost on its own. The users are
     filled through `/batch` as anonymous authData sign-ups (no password to hash), 500 a batch;
  2. the p50 / p99 of a cloud function call (fixture `basics`, `echo`) without and with
     `--idempotency` (each call with a fresh `X-Parse-Request-Id`): the cost of claiming the id.
"""

import argparse
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

APP_ID = "bench-app"
MASTER_KEY = "bench-master"


def start(binary, fixture, extra=()):
    data = tempfile.mkdtemp(prefix="cloudrt-bench-")
    command = [binary, "serve", f"fixtures/{fixture}/cloud", "--port", "0", "--app-id", APP_ID,
               "--master-key", MASTER_KEY, "--data-dir", data, *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        found = re.search(r"listening on http://([^/]+):(\d+)(/\S*)", line)
        if found:
            threading.Thread(target=lambda: process.stdout.read(), daemon=True).start()
            return process, data, http.client.HTTPConnection(found.group(1), int(found.group(2))), found.group(3)
    raise SystemExit("the server did not start")


def call(connection, mount, method, path, body, headers=()):
    all_headers = {"X-Parse-Application-Id": APP_ID, "Content-Type": "application/json", **dict(headers)}
    connection.request(method, mount + path, json.dumps(body), all_headers)
    response = connection.getresponse()
    answer = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {answer[:200]!r}")
    return json.loads(answer)


def timed(action, rounds):
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/cloudrt")
    parser.add_argument("--few", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--login-rounds", type=int, default=100)
    args = parser.parse_args()

    process, data, connection, mount = start(args.bin, "auth_data")
    try:
        known = {"authData": {"anonymous": {"id": "bench-device"}}}
        call(connection, mount, "POST", "/users", known)
        credentials = {"username": "bench-user", "password": "bench-password-1"}
        call(connection, mount, "POST", "/users", credentials)
        stored = 2
        for size in (args.few, args.users):
            while stored < size:
                count = min(500, size - stored)
                requests = [{"method": "POST", "path": mount + "/users",
                             "body": {"authData": {"anonymous": {"id": f"filler-{stored + n}"}}}}
                            for n in range(count)]
                call(connection, mount, "POST", "/batch", {"requests": requests})
                stored += count
            p50, p99 = timed(lambda i: call(connection, mount, "POST", "/login", credentials), args.login_rounds)
            print(f"password log-in, {stored} users stored: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
            p50, p99 = timed(lambda i: call(connection, mount, "POST", "/users", known), args.rounds)
            print(f"authData log-in, {stored} users stored: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    finally:
        process.kill()
        shutil.rmtree(data, ignore_errors=True)

    for flags, label in (((), "without --idempotency"), (("--idempotency",), "with --idempotency")):
        process, data, connection, mount = start(args.bin, "basics", flags)
        try:
            echo = lambda i: call(connection, mount, "POST", "/functions/echo", {"n": i}, [("X-Parse-Request-Id", str(uuid.uuid4()))])
            p50, p99 = timed(echo, args.rounds)
            print(f"function call {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        finally:
            process.kill()
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
