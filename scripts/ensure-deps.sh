#!/usr/bin/env bash
# Installs what `npm run demo`, `npm test` and `npm run bench` need and is missing, then returns quickly on
# later calls: npm packages, the compiled build (dist/), and on Debian the sandbox (bubblewrap) and Debian's
# Python ML stack.
# With --services (npm test, npm run bench) also Redis, the Docker engine (started with the flags that leave
# the machine's network settings alone) and the Docker sandbox image, built from Debian packages.
set -euo pipefail
services=0
[ "${1:-}" = "--services" ] && services=1
cd "$(dirname "$0")/.."

say() { printf '[aide setup] %s\n' "$*" >&2; }

# npm packages: install when node_modules is missing or older than package.json.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm install)"
  npm install --no-audit --no-fund --loglevel=error >&2
fi

# The compiled build (dist/, what bin/aide.mjs runs): when missing or stale; one line when it builds. bin/aide.mjs
# makes the same exact check on every run in a checkout, so an edit made later is compiled too.
node scripts/build.mjs --if-stale >&2

# Debian packages: bubblewrap for the sandbox, Debian's python3 with numpy / pandas / scikit-learn / scipy.
DEB_PACKAGES=(bubblewrap python3 python3-numpy python3-pandas python3-sklearn python3-scipy fonts-dejavu-core)
# chromium: the browser tests of the tree page (driven by playwright-core; no browser download).
[ "$services" = 1 ] && DEB_PACKAGES+=(redis-server docker.io debootstrap chromium)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

if [ "$services" = 1 ]; then
  bash scripts/start-docker.sh >&2
  bash runner/image/build-image.sh >&2
fi
