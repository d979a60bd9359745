#!/usr/bin/env python3
"""The HTTP front door under hostile clients; the figures of the README's "Security model".

  bench/connections.py [--bin target/release/cloudrt] [--fixture fixtures/basics/cloud]

Starts its own server (port 0, a temporary data directory, `ulimit -n 1024` as on a default
Linux box) for each measurement and prints:
  1. the server's RSS before and after 40 connections each send a 19 MB body that is not
     authenticated (wrong app id in the headers / no credential headers at all);
  2. whether a real request is still answered with 1,100 idle sockets open (default
     --max-connections, lowered to what `ulimit -n 1024` allows);
  3. how long a slowloris head (one byte per 200 ms) and a stalled body are held.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

APP_ID = "bench-app"
MASTER_KEY = "bench-master"


def start(binary, fixture, extra=()):
    data = tempfile.mkdtemp(prefix="cloudrt-bench-")
    command = " ".join(
        [
            "ulimit -n 1024; exec",
            binary,
            "serve",
            fixture,
            "--port 0",
            f"--app-id {APP_ID}",
            f"--master-key {MASTER_KEY}",
            f"--data-dir {data}",
            "--allow-client-class-creation",
            *extra,
        ]
    )
    process = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        found = re.search(r"listening on http://([^/]+):(\d+)(/\S*)", line)
        if found:
            threading.Thread(target=lambda: process.stdout.read(), daemon=True).start()
            return process, (found.group(1), int(found.group(2))), found.group(3)
    return None


def rss_mib(process):
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def read_status(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    return int(data.split(b" ")[1])


def health(address, mount):
    try:
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(f"GET {mount}/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            return read_status(sock)
    except OSError as error:
        return f"failed: {error}"


def big_bodies(binary, fixture, headers, label):
    process, address, mount = start(binary, fixture) or sys.exit("the server did not start")
    before = rss_mib(process)
    size = 19_000_000
    statuses = []
    peak = [before]

    def attack():
        try:
            sock = socket.create_connection(address, timeout=60)
            head = f"POST {mount}/classes/Note HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {size}\r\n\r\n"
            sock.sendall(head.encode())
            chunk = b" " * 65536
            sent = 0
            while sent < size:
                sock.sendall(chunk[: min(len(chunk), size - sent)])
                sent += len(chunk)
            statuses.append(read_status(sock))
        except OSError:
            try:
                statuses.append(read_status(sock))
            except OSError:
                statuses.append("reset")

    started = time.time()
    threads = [threading.Thread(target=attack) for _ in range(40)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], rss_mib(process))
        time.sleep(0.05)
    elapsed = time.time() - started
    after = rss_mib(process)
    process.kill()
    counts = {str(s): statuses.count(s) for s in set(statuses)}
    print(f"40 x 19 MB bodies, {label}: RSS {before:.0f} MiB before, peak {peak[0]:.0f}, {after:.0f} after; "
          f"answers {json.dumps(counts)} in {elapsed:.1f} s")


def idle_sockets(binary, fixture, count):
    process, address, mount = start(binary, fixture) or sys.exit("the server did not start")
    sockets = []
    failed = 0
    for _ in range(count):
        try:
            sockets.append(socket.create_connection(address, timeout=5))
        except OSError:
            failed += 1
    time.sleep(0.5)
    started = time.time()
    status = health(address, mount)
    print(f"{count} idle sockets (ulimit -n 1024, default --max-connections): a new request answered {status} "
          f"in {time.time() - started:.2f} s ({failed} connects failed)")
    for sock in sockets:
        sock.close()
    process.kill()


def slowloris(binary, fixture):
    started = start(binary, fixture, ["--header-timeout", "2", "--body-timeout", "2"])
    if started is None:
        print("slowloris and stalled body: this binary has no --header-timeout / --body-timeout")
        return
    process, address, mount = started
    sock = socket.create_connection(address, timeout=0.2)
    started = time.time()
    held = None
    for byte in f"GET {mount}/health HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * 400}".encode():
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(1) == b"":
                held = time.time() - started
                break
        except socket.timeout:
            continue
        except OSError:
            held = time.time() - started
            break
    print(f"slowloris head, 1 byte / 200 ms, --header-timeout 2: closed after "
          f"{'%.1f s' % held if held else 'never (gave up after %.0f s)' % (time.time() - started)}")
    sock = socket.create_connection(address, timeout=10)
    sock.sendall(f"POST {mount}/classes/Note HTTP/1.1\r\nHost: x\r\nX-Parse-Application-Id: {APP_ID}\r\n"
                 f"Content-Length: 100\r\n\r\n{{\"a\":".encode())
    started = time.time()
    try:
        status = read_status(sock)
    except socket.timeout:
        status = "none (gave up)"
    print(f"stalled body, --body-timeout 2: answered {status} after {time.time() - started:.1f} s")
    process.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/cloudrt")
    parser.add_argument("--fixture", default="fixtures/basics/cloud")
    parser.add_argument("--idle", type=int, default=1100)
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    fixture = os.path.abspath(args.fixture)
    big_bodies(binary, fixture, "X-Parse-Application-Id: wrong\r\n", "wrong app id")
    big_bodies(binary, fixture, "", "no credential headers")
    idle_sockets(binary, fixture, args.idle)
    slowloris(binary, fixture)


if __name__ == "__main__":
    sys.exit(main())
