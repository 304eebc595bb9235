#!/usr/bin/env bash
# A real 3-node Docker Swarm on this one machine, for the swarm runtime's tests (issue 13):
#   - a bridge `sysw0` (10.77.0.1/24) in the root network namespace;
#   - three network namespaces sysw-n1 (manager, 10.77.0.11), sysw-n2 and sysw-n3 (workers,
#     .12 and .13), each joined to the bridge by a veth pair;
#   - a Docker engine per namespace, started with `nsenter --net=/run/netns/NAME dockerd ...` (not
#     `ip netns exec`, which remounts /sys and breaks dockerd), each with its own data root, exec
#     root, socket (/run/sysw/NAME.sock) and pid file, trusting the registry below;
#   - `docker swarm init` on n1, n2 and n3 joined as workers;
#   - Debian's `docker-registry` (distribution 2.8) on 10.77.0.1:5000, storage under
#     /var/lib/sysw/registry: images built on this machine are pushed there, the nodes pull from it.
#     The root engine (where switchyard builds) pushes to it by the same address: `up` adds the
#     registry to `insecure-registries` in /etc/docker/daemon.json and reloads dockerd with SIGHUP
#     (a reload, not a restart: running containers are not touched).
# Nothing here listens beyond the bridge's private addresses; nothing is pulled from outside.
#
# Usage: scripts/swarm-infra.sh up | down | status
#   up      idempotent: creates what is missing, checks what is there, prints the node addresses
#   down    stops the engines and the registry, removes the namespaces, veths and bridge (keeps
#           the data roots under /var/lib/sysw, so a later `up` starts fast; SYSW_PURGE=1 removes them)
#   status  prints the nodes as the manager sees them; exit 1 when the swarm is not complete
set -euo pipefail

NODES=(n1 n2 n3)
BRIDGE=sysw0
NET=10.77.0
REGISTRY="$NET.1:5000"
STATE=/var/lib/sysw
RUN=/run/sysw
WAIT="${SYSW_WAIT:-60}"

log() { printf '[swarm-infra] %s\n' "$*"; }
die() {
  printf '[swarm-infra] FAILED: %s\n' "$*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces and starts dockerd)"

addr() { # n1 -> 10.77.0.11
  echo "$NET.$((10 + ${1#n}))"
}
sock() { echo "$RUN/$1.sock"; }
dk() { # docker against node $1
  local n=$1
  shift
  docker -H "unix://$(sock "$n")" "$@"
}
engine_up() { dk "$1" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

ensure_packages() {
  local missing=()
  for p in docker.io docker-registry iproute2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt-get install ${missing[*]}"
  # Debian's docker-registry starts its own service on install: forbid that (we start ours).
  local temp_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    temp_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "apt-get install ${missing[*]} failed"
  [ -n "$temp_policy" ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

ensure_network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  for n in "${NODES[@]}"; do
    local ns="sysw-$n" host="vsysw-$n"
    [ -e "/run/netns/$ns" ] || ip netns add "$ns"
    if ! ip link show "$host" >/dev/null 2>&1; then
      ip link add "$host" type veth peer name eth0 netns "$ns"
      ip link set "$host" master "$BRIDGE" up
      ip -n "$ns" addr add "$(addr "$n")/24" dev eth0
    fi
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route replace default via "$NET.1" dev eth0
  done
}

ensure_registry() {
  if curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; then return; fi
  mkdir -p "$STATE/registry" "$RUN"
  cat >"$RUN/registry.yml" <<EOF
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $STATE/registry }
  delete: { enabled: true }
http:
  addr: $REGISTRY
EOF
  log "starting the registry on $REGISTRY (log: /var/log/sysw-registry.log)"
  nohup docker-registry serve "$RUN/registry.yml" >>/var/log/sysw-registry.log 2>&1 &
  echo $! >"$RUN/registry.pid"
  for _ in $(seq 1 50); do
    curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1 && return
    sleep 0.2
  done
  die "the registry did not answer on $REGISTRY (see /var/log/sysw-registry.log)"
}

ensure_engine() {
  local n=$1
  engine_up "$n" && return
  mkdir -p "$STATE/$n" "$RUN/$n"
  # A pid file left by an engine that died (the machine's processes were stopped, not the engine):
  # dockerd refuses to start while the pid in it is alive, and pids are reused, so keep it only when
  # it names this engine's own dockerd (then it is starting up, and we wait for it below).
  if [ -s "$RUN/$n.pid" ]; then
    local old
    old=$(cat "$RUN/$n.pid")
    if ! tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q -- "--pidfile $RUN/$n.pid"; then
      log "removing the stale pid file of $n (pid $old is not its dockerd)"
      rm -f "$RUN/$n.pid"
    fi
  fi
  if [ ! -s "$RUN/$n.pid" ]; then
    log "starting dockerd in sysw-$n ($(addr "$n"), socket $(sock "$n"), log /var/log/sysw-$n.log)"
    # Its own config file: the default /etc/docker/daemon.json is the root engine's.
    printf '{ "insecure-registries": ["%s"] }\n' "$REGISTRY" >"$RUN/$n.json"
    # A UTS namespace of its own too, so the swarm knows the node by its name (sysw-n1), not the machine's.
    nohup nsenter --net="/run/netns/sysw-$n" unshare --uts -- \
      sh -c 'hostname "$0" && exec "$@"' "sysw-$n" dockerd --config-file "$RUN/$n.json" \
      --data-root "$STATE/$n" --exec-root "$RUN/$n" -H "unix://$(sock "$n")" \
      --pidfile "$RUN/$n.pid" --iptables=false --ip6tables=false --storage-driver overlay2 \
      >>"/var/log/sysw-$n.log" 2>&1 &
  fi
  for _ in $(seq 1 $((WAIT * 4))); do
    engine_up "$n" && return
    sleep 0.25
  done
  die "dockerd in sysw-$n did not answer within ${WAIT}s (see /var/log/sysw-$n.log)"
}

# The root engine must push to the registry without TLS: insecure-registries in its daemon.json,
# applied by SIGHUP (dockerd reloads that key live).
ensure_root_trusts_registry() {
  if docker info --format '{{json .RegistryConfig.IndexConfigs}}' 2>/dev/null | grep -q "\"$REGISTRY\""; then
    return
  fi
  local conf=/etc/docker/daemon.json
  mkdir -p /etc/docker
  python3 - "$conf" "$REGISTRY" <<'PY'
import json, sys, os
path, reg = sys.argv[1], sys.argv[2]
conf = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) > 0 else {}
regs = conf.setdefault("insecure-registries", [])
if reg not in regs:
    regs.append(reg)
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
PY
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "the root Docker engine is not running (run scripts/setup-infra.sh)"
  log "the root engine now trusts the registry $REGISTRY ($conf; dockerd reloaded with SIGHUP)"
  kill -HUP "$pid"
  for _ in $(seq 1 40); do
    docker info --format '{{json .RegistryConfig.IndexConfigs}}' 2>/dev/null | grep -q "\"$REGISTRY\"" && return
    sleep 0.25
  done
  die "dockerd did not take $REGISTRY into insecure-registries (see /var/log/dockerd.log)"
}

swarm_state() { dk "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

ensure_swarm() {
  if [ "$(swarm_state n1)" != active ]; then
    log "docker swarm init on n1"
    dk n1 swarm init --advertise-addr "$(addr n1)" --listen-addr "$(addr n1):2377" >/dev/null
  fi
  local token
  token=$(dk n1 swarm join-token -q worker)
  for n in n2 n3; do
    if [ "$(swarm_state "$n")" != active ]; then
      log "joining $n to the swarm"
      dk "$n" swarm join --token "$token" --advertise-addr "$(addr "$n")" "$(addr n1):2377" >/dev/null
    fi
  done
  for _ in $(seq 1 $((WAIT * 4))); do
    [ "$(dk n1 node ls --format '{{.Status}}' | grep -c Ready)" = 3 ] && return
    sleep 0.25
  done
  die "the swarm does not have 3 ready nodes: $(dk n1 node ls 2>&1)"
}

# The local base image, pushed once and pulled once by every node, so the first app image the tests
# push moves only its own layers and the nodes start its tasks in seconds (cached by tag).
BASE_TAG="${SWITCHYARD_BASE_TAG:-switchyard/base:bookworm}"
ensure_base_seeded() {
  local remote="$REGISTRY/$BASE_TAG"
  docker image inspect "$BASE_TAG" >/dev/null 2>&1 || die "no $BASE_TAG on the root engine (run scripts/setup-infra.sh)"
  local want
  want=$(docker image inspect -f '{{.Id}}' "$BASE_TAG")
  if [ "$(docker image inspect -f '{{.Id}}' "$remote" 2>/dev/null)" != "$want" ] ||
    ! curl -fsS -m 5 -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://$REGISTRY/v2/${BASE_TAG%%:*}/manifests/${BASE_TAG##*:}"; then
    log "pushing $BASE_TAG to the registry (once)"
    docker tag "$BASE_TAG" "$remote"
    docker push "$remote" >/dev/null || die "docker push $remote failed"
  fi
  for n in "${NODES[@]}"; do
    if ! dk "$n" image inspect "$remote" >/dev/null 2>&1; then
      log "pulling the base image on $n (once)"
      dk "$n" pull "$remote" >/dev/null || die "$n could not pull $remote"
    fi
  done
}

up() {
  ensure_packages
  ensure_network
  ensure_registry
  ensure_root_trusts_registry
  for n in "${NODES[@]}"; do ensure_engine "$n"; done
  ensure_swarm
  ensure_base_seeded
  log "swarm ready: manager unix://$(sock n1) ($(addr n1)), workers $(addr n2) $(addr n3); registry $REGISTRY"
}

down() {
  for n in "${NODES[@]}"; do
    if [ -s "$RUN/$n.pid" ] && kill -0 "$(cat "$RUN/$n.pid")" 2>/dev/null; then
      local pid
      pid=$(cat "$RUN/$n.pid")
      log "stopping dockerd of $n (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    ip link del "vsysw-$n" 2>/dev/null || true
    [ -e "/run/netns/sysw-$n" ] && ip netns del "sysw-$n"
  done
  if [ -s "$RUN/registry.pid" ] && kill -0 "$(cat "$RUN/registry.pid")" 2>/dev/null; then
    log "stopping the registry"
    kill "$(cat "$RUN/registry.pid")"
  fi
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$RUN"
  if [ "${SYSW_PURGE:-}" = 1 ]; then rm -rf "$STATE"; fi
  log "down"
}

status() {
  engine_up n1 || die "the manager's engine does not answer (run: scripts/swarm-infra.sh up)"
  dk n1 node ls
  [ "$(dk n1 node ls --format '{{.Status}}' | grep -c Ready)" = 3 ] || die "not all 3 nodes are ready"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) die "usage: $0 up | down | status" ;;
esac
