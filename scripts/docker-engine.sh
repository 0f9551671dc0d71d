#!/usr/bin/env bash
# airkube's private Docker engine (Debian docker.io 20.10) for the kind provider, beside — never touching —
# the local cluster's containerd or any system Docker.
#   scripts/docker-engine.sh up|down|status|env
# up:   apt-get install docker.io (if missing); start a private containerd and dockerd on
#       unix:///run/airkube-docker/docker.sock (own data/exec roots, PID files); create the only network
#       containers may use (airkube-kind, bridge airkube-kind0, 10.87.0.0/24) with no NAT and no route off the
#       machine; embedded DNS forwards only to the bridge's own address, where it is refused (no upstream DNS).
# down: stop both daemons by PID file, remove the bridge and our iptables rules; 10.87.0.0/24 stays unreachable. Data in /var/lib/airkube/docker
#       is kept (images; `down --purge` removes it).
# env:  print `export DOCKER_HOST=...` for the private engine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
RUN=${AIRKUBE_DOCKER_RUN:-/run/airkube-docker}
DATA=${AIRKUBE_DOCKER_DATA:-/var/lib/airkube/docker}
SOCK="$RUN/docker.sock"
CTRD_SOCK="$RUN/containerd/containerd.sock"
NET=airkube-kind BRIDGE=airkube-kind0 SUBNET=10.87.0.0/24 GATEWAY=10.87.0.1
CHAIN_IN=AIRKUBE-DOCKER-IN
UNREACHABLE_METRIC=4242  # same metric as the local cluster's guard routes (tools/airkube/cluster/local/network.py)
export DOCKER_HOST="unix://$SOCK"
log() { echo "[docker-engine] $*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_engine() {
  command -v dockerd >/dev/null && command -v containerd >/dev/null && command -v runc >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { log "dockerd is missing: run as root, or apt-get install docker.io"; exit 1; }
  log "apt-get install docker.io (services are not started: this script starts its own daemons)"
  local policy=/usr/sbin/policy-rc.d created=
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' >$policy; chmod +x $policy; created=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >&2 || {
    apt-get update -q >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >&2; }
  [ -n "$created" ] && rm -f $policy
  return 0
}

wait_for() {  # what, seconds, command...
  local what=$1 n=$2; shift 2
  for _ in $(seq "$((n * 5))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "$what did not come up in ${n}s; see $RUN/*.log"; tail -20 "$RUN"/*.log >&2 || true; exit 1
}

firewall_up() {
  # Inbound from the kind network to this host: only replies to connections the host opened (kubectl →
  # published API port). Everything else — DNS to the gateway included — is refused.
  iptables -N $CHAIN_IN 2>/dev/null || iptables -F $CHAIN_IN
  iptables -A $CHAIN_IN -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  iptables -A $CHAIN_IN -p tcp -j REJECT --reject-with tcp-reset
  iptables -A $CHAIN_IN -j REJECT
  iptables -C INPUT -i $BRIDGE -j $CHAIN_IN 2>/dev/null || iptables -I INPUT -i $BRIDGE -j $CHAIN_IN
  # Forwarded traffic: only between containers on the bridge, never out of it or into it from elsewhere.
  iptables -N DOCKER-USER 2>/dev/null || true
  iptables -C DOCKER-USER -i $BRIDGE ! -o $BRIDGE -j DROP 2>/dev/null || iptables -I DOCKER-USER -i $BRIDGE ! -o $BRIDGE -j DROP
  iptables -C DOCKER-USER -o $BRIDGE ! -i $BRIDGE -j DROP 2>/dev/null || iptables -I DOCKER-USER -o $BRIDGE ! -i $BRIDGE -j DROP
}

guard_route() {
  # While the bridge is down, 10.87.0.0/24 would follow the default route off this machine (a stale kubeconfig,
  # a leftover container address). An unreachable route with a high metric closes that; while the bridge is up,
  # its kernel route (metric 0) wins, and Docker accepts an explicit --subnet beside it.
  ip route replace unreachable $SUBNET metric $UNREACHABLE_METRIC
}

firewall_down() {
  iptables -D INPUT -i $BRIDGE -j $CHAIN_IN 2>/dev/null || true
  iptables -F $CHAIN_IN 2>/dev/null || true
  iptables -X $CHAIN_IN 2>/dev/null || true
  iptables -D DOCKER-USER -i $BRIDGE ! -o $BRIDGE -j DROP 2>/dev/null || true
  iptables -D DOCKER-USER -o $BRIDGE ! -i $BRIDGE -j DROP 2>/dev/null || true
}

up() {
  install_engine
  guard_route
  mkdir -p "$RUN/containerd" "$RUN/exec" "$DATA/containerd" "$DATA/data"
  if ! alive "$RUN/containerd.pid"; then
    cat >"$RUN/containerd.toml" <<TOML
version = 2
root = "$DATA/containerd"
state = "$RUN/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$RUN/containerd/debug.sock"
TOML
    log "starting containerd ($CTRD_SOCK)"
    setsid containerd --config "$RUN/containerd.toml" >>"$RUN/containerd.log" 2>&1 </dev/null &
    echo $! >"$RUN/containerd.pid"
    wait_for containerd 30 ctr --address "$CTRD_SOCK" version
  fi
  if ! alive "$RUN/dockerd.pid"; then
    echo '{}' >"$RUN/daemon.json"  # never read /etc/docker/daemon.json
    log "starting dockerd ($DOCKER_HOST)"
    setsid dockerd --config-file "$RUN/daemon.json" --host "$DOCKER_HOST" --containerd "$CTRD_SOCK" \
      --data-root "$DATA/data" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid" \
      --bridge none --ip-forward=false --ip-masq=false --iptables=true --ip6tables=false --ipv6=false \
      --dns "$GATEWAY" --storage-driver overlay2 --exec-opt native.cgroupdriver=cgroupfs \
      --add-runtime "airkube-runc=$here/docker/airkube-runc" --default-runtime airkube-runc \
      --log-driver json-file --log-opt max-size=10m >>"$RUN/dockerd.log" 2>&1 </dev/null &
    wait_for dockerd 60 docker version
  fi
  if ! docker network inspect $NET >/dev/null 2>&1; then
    log "creating network $NET ($SUBNET on bridge $BRIDGE, no NAT)"
    docker network create --driver bridge --subnet $SUBNET --gateway $GATEWAY \
      -o com.docker.network.bridge.name=$BRIDGE -o com.docker.network.bridge.enable_ip_masquerade=false \
      -o com.docker.network.driver.mtu=1500 $NET >/dev/null
  fi
  firewall_up
  log "up: export DOCKER_HOST=$DOCKER_HOST"
}

stop_pid() {  # pidfile name
  local pidfile=$1 name=$2 pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  log "stopping $name (pid $pid)"
  kill "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pidfile"
}

down() {
  if alive "$RUN/dockerd.pid"; then
    docker network rm $NET >/dev/null 2>&1 || log "network $NET still in use (kind cluster up?): removed with the engine"
  fi
  stop_pid "$RUN/dockerd.pid" dockerd
  stop_pid "$RUN/containerd.pid" containerd
  firewall_down
  ip link del $BRIDGE 2>/dev/null || true
  guard_route
  # leftover mounts of the engine under our roots only
  # (grep finds nothing once the daemons unmounted their own: not an error under pipefail)
  { grep -oE " ($RUN|$DATA)[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ "${1:-}" = --purge ]; then rm -rf "$DATA"; fi
  rm -rf "$RUN"
  log "down"
}

status() {
  alive "$RUN/containerd.pid" && echo "containerd: running (pid $(cat "$RUN/containerd.pid"))" || echo "containerd: stopped"
  alive "$RUN/dockerd.pid" && echo "dockerd: running (pid $(cat "$RUN/dockerd.pid")) at $DOCKER_HOST" || { echo "dockerd: stopped"; return 1; }
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  *) echo "usage: $0 up|down [--purge]|status|env" >&2; exit 2 ;;
esac
