#!/usr/bin/env bash
# Installs what building and testing cloudrt needs on a fresh Debian machine, and nothing twice:
#   - cmake and libsimde-dev: the QuickJS engine crate (v8x) builds the WAMR interpreter with CMake,
#     which would git-clone simde; .cargo/config.toml points it at Debian's headers instead.
#   - the official Parse JS SDK (npm, pinned in tests/sdk/package-lock.json) for tests/sdk.
#   - Parse Server (npm, pinned in tests/parse_server/package-lock.json) for tests/migration.rs.
#   - Chromium (Debian's) and the pinned parse-dashboard + playwright-core (npm, pinned in
#     tests/dashboard/package-lock.json) for tests/dashboard.rs and `make dashboard`. The browser
#     is Debian's package: never a browser download (no `playwright install`).
#   - wrk and Parse Server 8 (npm, pinned in bench/parse_server/package-lock.json), for
#     `make bench` and `make versus` only (pass --bench).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake libsimde-dev chromium)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -d tests/sdk/node_modules/parse ]] || [[ tests/sdk/package-lock.json -nt tests/sdk/node_modules/.package-lock.json ]]; then
  echo "setup: installing the Parse JS SDK for tests/sdk"
  npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
fi

if [[ ! -d tests/parse_server/node_modules/parse-server ]] || [[ tests/parse_server/package-lock.json -nt tests/parse_server/node_modules/.package-lock.json ]]; then
  echo "setup: installing Parse Server for tests/migration.rs"
  npm ci --prefix tests/parse_server --no-audit --no-fund --loglevel=error
fi

if [[ ! -d tests/dashboard/node_modules/parse-dashboard ]] || [[ tests/dashboard/package-lock.json -nt tests/dashboard/node_modules/.package-lock.json ]]; then
  echo "setup: installing Parse Dashboard and playwright-core for tests/dashboard"
  npm ci --prefix tests/dashboard --no-audit --no-fund --loglevel=error
fi

if [[ "${1:-}" == "--bench" ]] && { [[ ! -d bench/parse_server/node_modules/parse-server ]] || [[ bench/parse_server/package-lock.json -nt bench/parse_server/node_modules/.package-lock.json ]]; }; then
  echo "setup: installing Parse Server 8 for bench/versus.py"
  npm ci --prefix bench/parse_server --no-audit --no-fund --loglevel=error
fi
