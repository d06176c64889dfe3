#!/usr/bin/env bash
# Makes sure a Docker engine answers, idempotently:
#   - installs docker.io (apt-get, as root) when no dockerd is installed;
#   - starts dockerd in the background when nothing answers on the socket;
#   - waits until `docker info` works.
# On success it prints exactly one line. Honours DOCKER_HOST (unix:// only is started by this script;
# any other DOCKER_HOST must already answer).
#
# dockerd is started with --iptables=false --ip-forward=false --bridge=none: the defaults would rewrite
# the machine's iptables rules and IP forwarding. Sandbox containers use --network none anyway.
#
# Env: DOCKER_HOST (default unix:///var/run/docker.sock), DOCKERD_LOG (default /var/log/aide-dockerd.log),
#      DOCKER_START_TIMEOUT seconds (default 60).
set -euo pipefail

host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
log="${DOCKERD_LOG:-/var/log/aide-dockerd.log}"
timeout="${DOCKER_START_TIMEOUT:-60}"

die() {
  echo "start-docker: $*" >&2
  exit 1
}

# The docker CLI may be a different build than dockerd (e.g. a static one in /usr/local/bin); any works.
docker_cli() {
  if command -v docker >/dev/null 2>&1; then
    DOCKER_HOST="$host" docker "$@"
  else
    return 127
  fi
}

answers() {
  docker_cli info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

if answers; then
  echo "docker: daemon already running at $host ($(docker_cli info --format '{{.ServerVersion}}' 2>/dev/null))"
  exit 0
fi

case "$host" in
  unix://*) sock="${host#unix://}" ;;
  *) die "no Docker daemon answers at $host, and this script only starts a local daemon on a unix socket" ;;
esac

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "Docker is not installed; run as root to install docker.io, or install it yourself"
  command -v apt-get >/dev/null 2>&1 || die "Docker is not installed and apt-get is not available; install Docker yourself"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=300 install -y -q docker.io >/tmp/aide-apt-docker.log 2>&1; then
    apt-get -o DPkg::Lock::Timeout=300 update -q >>/tmp/aide-apt-docker.log 2>&1 || true
    apt-get -o DPkg::Lock::Timeout=300 install -y -q docker.io >>/tmp/aide-apt-docker.log 2>&1 \
      || die "apt-get install docker.io failed; see /tmp/aide-apt-docker.log"
  fi
fi

[ "$(id -u)" = 0 ] || die "no Docker daemon answers at $host and starting one needs root"

# A stale socket or pid file from a daemon that died keeps a new one from starting.
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
  rm -f "$pidfile"
fi
if [ -S "$sock" ] && ! pgrep -x dockerd >/dev/null 2>&1; then
  rm -f "$sock"
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  mkdir -p "$(dirname "$log")" "$(dirname "$sock")"
  # containerd is started by dockerd itself when none is running.
  # setsid: the daemon outlives the caller's session and process group (a test runner, a CI step).
  setsid nohup dockerd --iptables=false --ip-forward=false --bridge=none -H "unix://$sock" >>"$log" 2>&1 </dev/null &
fi

deadline=$((SECONDS + timeout))
until answers; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "dockerd did not answer at $host within ${timeout}s; see $log (last lines below)
$(tail -n 15 "$log" 2>/dev/null || true)"
  fi
  sleep 0.2
done
echo "docker: daemon started at $host ($(docker_cli info --format '{{.ServerVersion}}' 2>/dev/null))"
