#!/usr/bin/env bash
# Prepares the real infrastructure the Docker/nginx tests use, on a Debian bookworm machine, as root,
# without a TTY and without any container registry:
#   1. installs docker.io, docker-registry (the image push tests), nginx, postgresql, debootstrap,
#      openssl, faketime, python3 (the TTY tests drive a pseudo-terminal with its pty module) and wrk
#      (benchmarks) (only what is missing);
#   2. stops the host's own nginx / PostgreSQL services (tests start their own on free loopback ports);
#   3. starts dockerd if no engine answers;
#   4. builds the base image switchyard/base:bookworm with debootstrap + docker import (cached by tag);
#   5. checks the base image runs; 6. sets up the test swarm (scripts/swarm-infra.sh up).
# Idempotent: a second run only checks and prints. See docs/infrastructure.md.
#
# Environment knobs (all optional):
#   SWITCHYARD_BASE_TAG      image tag to build            (default switchyard/base:bookworm)
#   SWITCHYARD_CACHE_DIR     debootstrap .deb + rootfs cache (default /var/cache/switchyard)
#   SWITCHYARD_NO_CACHE=1    build the rootfs from scratch and keep no rootfs tarball
#   SWITCHYARD_REBUILD_BASE=1  rebuild the base image even if the tag exists
#   SWITCHYARD_DEBIAN_MIRROR mirror for debootstrap       (default: first Debian URI in /etc/apt/sources.list*)
#   SWITCHYARD_DOCKER_WAIT   seconds to wait for dockerd   (default 60)
set -euo pipefail

BASE_TAG="${SWITCHYARD_BASE_TAG:-switchyard/base:bookworm}"
SUITE=bookworm
CACHE_DIR="${SWITCHYARD_CACHE_DIR:-/var/cache/switchyard}"
DOCKER_WAIT="${SWITCHYARD_DOCKER_WAIT:-60}"
DOCKERD_LOG=/var/log/dockerd.log
# chromium: the dashboard's browser tests (test/e2e/dashboard.test.ts) drive it with playwright-core.
HOST_PACKAGES=(docker.io docker-registry nginx postgresql debootstrap openssl faketime python3 wrk chromium)
# Packages inside the base image. libstdc++6/libgcc-s1 are what the host's node binary links against.
IMAGE_PACKAGES=ca-certificates,nginx-light,postgresql,postgresql-client,tini,libstdc++6,libgcc-s1

started_at=$(date +%s)
log() { printf '[setup-infra] %s\n' "$*"; }
die() {
  printf '[setup-infra] FAILED: %s\n' "$*" >&2
  exit 1
}
elapsed() { echo "$(($(date +%s) - $1))s"; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts dockerd)"
command -v dpkg-query >/dev/null || die "dpkg-query not found: this script expects Debian (bookworm)"

# ---------------------------------------------------------------- 1. host packages
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${HOST_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  log "packages: all present (${HOST_PACKAGES[*]})"
else
  # apt-get update only when the package lists are older than an hour (or absent).
  if [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
    log "apt lists are fresh (< 1 h): skipping apt-get update"
  else
    log "apt-get update"
    apt-get update -q || die "apt-get update failed (no access to the Debian mirror?)"
  fi
  # Debian's nginx and postgresql start themselves on :80 / :5432 when installed. A temporary
  # policy-rc.d forbids that (exit 101 = "action forbidden"); an existing one is left untouched.
  temp_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    temp_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  log "apt-get install -y --no-install-recommends ${missing[*]}"
  t=$(date +%s)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install ${missing[*]} failed"
  if [ -n "$temp_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  log "packages installed in $(elapsed "$t")"
fi
for p in "${HOST_PACKAGES[@]}"; do installed "$p" || die "package $p is still not installed"; done
# The browser tests launch it headless with --no-sandbox (as root): it must start and print its version.
/usr/bin/chromium --headless --no-sandbox --version >/dev/null 2>&1 || die "/usr/bin/chromium does not run"

# ---------------------------------------------------------------- 2. host services off
# Only the packages' own services are stopped (Debian's pid file / clusters), never the nginx or
# postgres instances that tests start with their own config and data directories.
if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
  log "stopping the host nginx service (pid $(cat /run/nginx.pid))"
  service nginx stop >/dev/null 2>&1 || nginx -s quit || die "could not stop the host nginx service"
  for _ in $(seq 1 50); do [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null || break; sleep 0.1; done
else
  log "host nginx service: not running"
fi
if command -v pg_lsclusters >/dev/null; then
  stopped_any=""
  while read -r ver name _port status _rest; do
    if [ "$status" = online ]; then
      log "stopping the host PostgreSQL cluster $ver/$name"
      pg_ctlcluster "$ver" "$name" stop -m fast || die "could not stop PostgreSQL cluster $ver/$name"
      stopped_any=1
    fi
  done < <(pg_lsclusters -h 2>/dev/null || true)
  [ -n "$stopped_any" ] || log "host PostgreSQL clusters: none running"
fi
command -v nginx >/dev/null || die "nginx is not on PATH"
command -v pg_dump >/dev/null || die "pg_dump is not on PATH"

# ---------------------------------------------------------------- 3. docker engine
# The storage driver the kernel allows: overlay2 if an overlay mount works here, otherwise vfs
# (slow and disk-hungry, but works everywhere).
pick_storage_driver() {
  local d
  d=$(mktemp -d)
  mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
  if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
    umount "$d/m"
    rm -rf "$d"
    echo overlay2
  else
    rm -rf "$d"
    echo vfs
  fi
}

if docker info >/dev/null 2>&1; then
  log "docker engine: already answering ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
else
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    log "starting docker through systemd"
    systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    driver=$(pick_storage_driver)
    # --iptables=false/--ip6tables=false: leave the host firewall alone. Published ports still work
    # through docker-proxy (the userland proxy), container-to-container traffic on a user-defined
    # bridge is plain L2, and with no NAT rule containers cannot reach anything beyond this host.
    dockerd_args=(--iptables=false --ip6tables=false --storage-driver="$driver")
    log "starting: dockerd ${dockerd_args[*]} (log: $DOCKERD_LOG)"
    nohup dockerd "${dockerd_args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    disown || true
  fi
  log "waiting up to ${DOCKER_WAIT}s for the docker engine"
  deadline=$(($(date +%s) + DOCKER_WAIT))
  until docker info >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "docker engine did not answer within ${DOCKER_WAIT}s (see $DOCKERD_LOG)"
    fi
    sleep 0.5
  done
  log "docker engine: up ($(docker info -f '{{.ServerVersion}}, storage {{.Driver}}'))"
fi

# ---------------------------------------------------------------- 4. base image
debian_mirror() {
  if [ -n "${SWITCHYARD_DEBIAN_MIRROR:-}" ]; then echo "$SWITCHYARD_DEBIAN_MIRROR"; return; fi
  local m
  # deb822 (.sources) "URIs:" lines and one-line "deb URI suite ..." entries; first plain Debian one.
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
    | tr ' ' '\n' | grep -E '/debian/?$' | head -n 1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

NODE_BIN=$(command -v node || true)
[ -n "$NODE_BIN" ] || die "node is not on PATH: the base image carries the host's Node.js binary"
NODE_BIN=$(readlink -f "$NODE_BIN")
NODE_VERSION=$("$NODE_BIN" --version)

if [ -z "${SWITCHYARD_REBUILD_BASE:-}" ] && docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  log "base image $BASE_TAG: present ($(docker image inspect -f '{{index .Config.Labels "org.switchyard.node"}}' "$BASE_TAG"), $(docker image inspect -f '{{.Size}}' "$BASE_TAG" | awk '{printf "%d MB", $1/1e6}')), not rebuilt"
else
  t=$(date +%s)
  mkdir -p "$CACHE_DIR/debs"
  # The cached tree is keyed by node version and package list: changing either builds a new one.
  pkg_key=$(printf '%s' "$IMAGE_PACKAGES" | sha256sum | cut -c1-8)
  rootfs_tar="$CACHE_DIR/rootfs-$SUITE-node$NODE_VERSION-$pkg_key.tar"
  if [ -z "${SWITCHYARD_NO_CACHE:-}" ] && [ -s "$rootfs_tar" ]; then
    log "base image: importing the cached rootfs $rootfs_tar"
  else
    mirror=$(debian_mirror)
    work=$(mktemp -d /var/tmp/switchyard-rootfs.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    rootfs="$work/rootfs"
    log "debootstrap --variant=minbase --include=$IMAGE_PACKAGES $SUITE $rootfs $mirror"
    debootstrap --variant=minbase --cache-dir="$CACHE_DIR/debs" --include="$IMAGE_PACKAGES" \
      "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
      tail -n 30 "$work/debootstrap.log" >&2
      die "debootstrap failed (log above)"
    }
    log "debootstrap done in $(elapsed "$t")"

    log "copying the host's node $NODE_VERSION ($NODE_BIN) into /usr/local/bin/node"
    install -D -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
    # Any library node needs that the rootfs lacks is copied from the host at the same path.
    for lib in $(ldd "$NODE_BIN" | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}'); do
      if [ ! -e "$rootfs$lib" ] && ! chroot "$rootfs" /sbin/ldconfig -p | grep -q "/$(basename "$lib")\$"; then
        log "  copying missing library $lib"
        install -D -m 0644 "$(readlink -f "$lib")" "$rootfs$lib"
      fi
    done
    chroot "$rootfs" /sbin/ldconfig
    chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run inside the rootfs"

    # The image is a toolbox, not a running system: no package cluster (the postgres entrypoint
    # makes its own in the data volume), no caches, no host-specific files.
    for c in "$rootfs"/etc/postgresql/*/main; do
      [ -d "$c" ] || continue
      v=$(basename "$(dirname "$c")")
      rm -rf "$c" "$rootfs/var/lib/postgresql/$v/main"
    done
    sed -i 's/^#\?[[:space:]]*create_main_cluster.*/create_main_cluster = false/' "$rootfs/etc/postgresql-common/createcluster.conf" 2>/dev/null || true
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/tmp/* "$rootfs"/root/.cache
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"
    # Symlinks so `postgres`, `initdb`, `pg_ctl` are on PATH whatever the major version is.
    for b in "$rootfs"/usr/lib/postgresql/*/bin/*; do
      [ -e "$b" ] || continue
      n=$(basename "$b")
      [ -e "$rootfs/usr/local/bin/$n" ] || [ -e "$rootfs/usr/bin/$n" ] || ln -s "${b#"$rootfs"}" "$rootfs/usr/local/bin/$n"
    done

    if [ -z "${SWITCHYARD_NO_CACHE:-}" ]; then
      tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    else
      rootfs_tar="$work/rootfs.tar"
      tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar" .
    fi
  fi
  old_id=$(docker image inspect -f '{{.Id}}' "$BASE_TAG" 2>/dev/null || true)
  log "docker import -> $BASE_TAG"
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.switchyard.node=$NODE_VERSION org.switchyard.suite=$SUITE" \
    --change 'CMD ["/bin/bash"]' \
    "$rootfs_tar" "$BASE_TAG" >/dev/null || die "docker import failed"
  if [ -n "${work:-}" ]; then rm -rf "$work"; trap - EXIT; fi
  # The replaced image is now untagged; drop it unless a container still uses it.
  if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$BASE_TAG")" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || log "previous base image $old_id is still in use: kept"
  fi
  log "base image $BASE_TAG built in $(elapsed "$t")"
fi

# ---------------------------------------------------------------- 5. check
docker run --rm --network none "$BASE_TAG" sh -c 'node --version && nginx -v 2>&1 && postgres --version && tini --version' \
  >/dev/null 2>&1 || die "the base image $BASE_TAG does not run node/nginx/postgres/tini"

# ---------------------------------------------------------------- 6. the test swarm
# Three engines in network namespaces, one swarm, a registry on their bridge (scripts/swarm-infra.sh;
# idempotent, seconds once its data roots exist). SWITCHYARD_NO_SWARM=1 leaves it out.
if [ -z "${SWITCHYARD_NO_SWARM:-}" ]; then
  bash "$(dirname "$0")/swarm-infra.sh" up || die "the test swarm could not be set up (scripts/swarm-infra.sh up)"
fi

log "OK in $(elapsed "$started_at"): docker $(docker version -f '{{.Server.Version}}'), $(nginx -v 2>&1 | sed 's/.*: //'), $(pg_dump --version), image $BASE_TAG (node $NODE_VERSION)"
