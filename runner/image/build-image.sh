#!/usr/bin/env bash
# Builds the sandbox image (default aide-sandbox:latest) WITHOUT a container registry, from Debian
# packages only:
#   debootstrap --variant=minbase bookworm  ->  apt-get install the Python ML stack in a chroot
#   -> a non-root user `sandbox` (uid/gid 1000) -> clean caches -> tar | docker import.
# The finished root filesystem is cached as a tarball, so a rebuild (--force) only re-imports it.
#
# Usage: runner/image/build-image.sh [--force] [--no-cache]
#   --force     rebuild even when the image already exists (reuses the cached rootfs tarball)
#   --no-cache  also rebuild the rootfs tarball from scratch (implies --force)
# Env:
#   AIDE_SANDBOX_IMAGE        image name (default aide-sandbox:latest)
#   AIDE_SANDBOX_CACHE        cache directory (default /var/cache/aide-sandbox)
#   AIDE_SANDBOX_MIRROR       Debian mirror (default: the one configured in /etc/apt/sources.list*)
#   AIDE_SANDBOX_EXTRA_PACKAGES  more Debian packages to install (space separated), e.g. python3-xgboost
#   DOCKER_HOST               the daemon to import into
# Needs root (debootstrap, chroot), debootstrap, and a running Docker daemon (scripts/start-docker.sh).
# Where a registry is reachable, runner/image/Dockerfile is the simpler way (see README.md).
set -euo pipefail

image="${AIDE_SANDBOX_IMAGE:-aide-sandbox:latest}"
cache="${AIDE_SANDBOX_CACHE:-/var/cache/aide-sandbox}"
suite=bookworm
packages="python3-sklearn python3-pandas python3-numpy python3-scipy ${AIDE_SANDBOX_EXTRA_PACKAGES:-}"
force=0
nocache=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --no-cache) force=1 nocache=1 ;;
    -h | --help)
      sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-image: unknown argument $arg (use --force or --no-cache)" >&2
      exit 2
      ;;
  esac
done

die() {
  echo "build-image: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step() { echo "build-image: $*" >&2; }

docker info >/dev/null 2>&1 || die "no Docker daemon answers${DOCKER_HOST:+ at $DOCKER_HOST}; start one with scripts/start-docker.sh"

if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "build-image: $image already exists (use --force to rebuild)"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"
mkdir -p "$cache"

# One build at a time (test workers may call this concurrently); the others wait, then find the image.
exec 9>"$cache/.lock"
flock 9
if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "build-image: $image already exists (built meanwhile)"
  exit 0
fi

started=$(now)
key=$(printf '%s\n' "$suite" $packages | sort | sha256sum | cut -c1-12)
tarball="$cache/rootfs-$suite-$key.tar"

# The Debian mirror configured for apt on this machine (deb822 .sources files or one-line lists).
find_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # A stanza whose Suites include the plain suite, e.g. "Suites: bookworm bookworm-updates".
    uri=$(awk -v suite="$1" '
      /^[[:space:]]*$/ { if (u != "" && s) { print u; found = 1; exit } u = ""; s = 0; next }
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) s = 1 }
      END { if (!found && u != "" && s) print u }' "$f")
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$1" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $(i+1) == suite) { print $i; exit } }' "$f")
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
}

if [ "$nocache" = 1 ] || [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    step "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q debootstrap >/dev/null \
      || die "debootstrap is not installed and apt-get install debootstrap failed"
  }
  mirror="${AIDE_SANDBOX_MIRROR:-$(find_mirror "$suite")}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="$(find_mirror "$suite-security")"
  log="$cache/build.log"
  : >"$log"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  cleanup() {
    for m in proc sys dev/pts; do umount "$rootfs/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$rootfs"
  }
  trap cleanup EXIT

  t=$(now)
  step "debootstrap $suite from $mirror (log: $log)"
  debootstrap --variant=minbase --include=python3-minimal "$suite" "$rootfs" "$mirror" >>"$log" 2>&1 \
    || die "debootstrap failed; see $log"
  step "debootstrap done in $(since "$t")s"

  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    [ -n "$security" ] && echo "deb $security $suite-security main"
  } >"$rootfs/etc/apt/sources.list"
  # No daemons may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  mount -t proc proc "$rootfs/proc"
  mount -t sysfs sysfs "$rootfs/sys"

  t=$(now)
  step "installing $packages"
  # shellcheck disable=SC2086
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $packages" >>"$log" 2>&1 \
    || die "apt-get install in the chroot failed; see $log"
  chroot "$rootfs" /usr/bin/python3 -c "import sklearn, pandas, numpy, scipy; print('python ok', sklearn.__version__)" >>"$log" 2>&1 \
    || die "the installed Python stack does not import; see $log"
  step "packages done in $(since "$t")s"

  umount "$rootfs/proc" "$rootfs/sys"

  # The non-root user scripts run as (uid/gid 1000), written directly: minbase may lack useradd.
  grep -q '^sandbox:' "$rootfs/etc/group" || echo "sandbox:x:1000:" >>"$rootfs/etc/group"
  grep -q '^sandbox:' "$rootfs/etc/passwd" || echo "sandbox:x:1000:1000:AIDE sandbox:/tmp:/usr/sbin/nologin" >>"$rootfs/etc/passwd"
  grep -q '^sandbox:' "$rootfs/etc/shadow" 2>/dev/null || echo "sandbox:!:19000:0:99999:7:::" >>"$rootfs/etc/shadow"
  install -d -m 0755 -o 0 -g 0 "$rootfs/workspace"

  # Caches, docs and logs are dead weight in the image.
  chroot "$rootfs" apt-get clean
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/root/.cache
  find "$rootfs/usr/lib/python3" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true

  t=$(now)
  tar --numeric-owner -C "$rootfs" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  step "rootfs tarball $tarball ($(du -h "$tarball" | cut -f1)) in $(since "$t")s"
  cleanup
  trap - EXIT
else
  step "using the cached rootfs $tarball (--no-cache rebuilds it)"
fi

previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
t=$(now)
docker import \
  --change 'USER sandbox' \
  --change 'WORKDIR /workspace' \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --change "LABEL org.opencontainers.image.title=aide-sandbox aide.sandbox.packages=\"${packages% }\"" \
  --message "aide sandbox from Debian $suite" \
  - "$image" <"$tarball" >/dev/null || die "docker import failed"
step "docker import done in $(since "$t")s"
# The image this replaced is now untagged; drop it unless a container still uses it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
echo "build-image: built $image in $(since "$started")s"
