#!/usr/bin/env bash
# Create (or delete) N "machines" for the multi-host tests (tests/netns_mesh_test.ts): Linux
# network namespaces hm-host1..hm-hostN, each wired to the root namespace by its own veth pair.
#
# Usage:
#   eval "$(bash tests/support/netns_hosts.sh start 2)"   # prints export lines
#   bash tests/support/netns_hosts.sh stop                 # deletes every hm-host* namespace
#   bash tests/support/netns_hosts.sh status
#
# Layout of host i (1 <= i <= 200):
#   root namespace   hm-veth<i>  10.77.<i>.1/24
#   hm-host<i>       eth0        10.77.<i>.2/24, lo up, route 10.77.0.0/16 via 10.77.<i>.1
# The 10.77.0.0/16 route lets a host reach EVERY root-side address 10.77.<j>.1 (the root
# namespace delivers packets for its own addresses whatever the incoming link), which is how a
# client in the root namespace serving on 10.77.1.1 is reachable from all hosts. Nothing else
# is routed: no default route, and host-to-host traffic (10.77.<i>.2 -> 10.77.<j>.2) would need
# IP forwarding in the root namespace, which this script never enables.
#
# `start` prints, on stdout and nothing else:
#   export HYPERMESH_NETNS_HOSTS="hm-host1 hm-host2 ..."
#   export HYPERMESH_NETNS_ADDRS="10.77.1.2 10.77.2.2 ..."     (host addresses)
#   export HYPERMESH_NETNS_GATEWAYS="10.77.1.1 10.77.2.1 ..."  (root-side addresses)
# Diagnostics go to stderr. `start` first removes leftovers of an earlier (crashed) run, so it is
# safe to re-run; `stop` kills the processes still inside hm-host* namespaces (by pid), deletes the
# namespaces and the hm-veth* links, and succeeds when there is nothing to delete.
set -euo pipefail

PREFIX=hm-host
VETH=hm-veth

log() { printf 'netns_hosts.sh: %s\n' "$*" >&2; }

need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    log "must run as root (network namespaces and veth pairs need CAP_NET_ADMIN); uid is $(id -u)"
    exit 1
  fi
  if ! command -v ip >/dev/null; then
    log "the 'ip' command is missing: apt-get install iproute2"
    exit 1
  fi
}

our_namespaces() { # names of existing hm-host* namespaces
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PREFIX}[0-9]+$" || true
}

stop_one() { # namespace name
  local ns=$1 pids pid
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns delete "$ns" 2>/dev/null || true
}

stop_all() {
  local ns link
  for ns in $(our_namespaces); do stop_one "$ns"; done
  # Deleting a namespace deletes its veth end and so the pair; remove root ends left behind.
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep -E "^${VETH}[0-9]+$" || true); do
    ip link delete "$link" 2>/dev/null || true
  done
}

start() {
  local n=${1:-}
  if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > 200)); then
    log "usage: start N (1..200), got '${n}'"
    exit 2
  fi
  stop_all
  local i ns hosts="" addrs="" gws=""
  for ((i = 1; i <= n; i++)); do
    ns="${PREFIX}${i}"
    ip netns add "$ns"
    ip link add "${VETH}${i}" type veth peer name eth0 netns "$ns"
    ip addr add "10.77.${i}.1/24" dev "${VETH}${i}"
    ip link set "${VETH}${i}" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "10.77.${i}.2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add 10.77.0.0/16 via "10.77.${i}.1" dev eth0
    hosts+="${hosts:+ }${ns}"
    addrs+="${addrs:+ }10.77.${i}.2"
    gws+="${gws:+ }10.77.${i}.1"
  done
  # Fail early (and clean up) when a namespace has no route to the root side.
  for ((i = 1; i <= n; i++)); do
    if ! ip -n "${PREFIX}${i}" route get 10.77.1.1 >/dev/null 2>&1; then
      log "${PREFIX}${i} has no route to 10.77.1.1; removing the namespaces"
      stop_all
      exit 1
    fi
  done
  log "started ${n} namespace(s): ${hosts}"
  printf 'export HYPERMESH_NETNS_HOSTS="%s"\n' "$hosts"
  printf 'export HYPERMESH_NETNS_ADDRS="%s"\n' "$addrs"
  printf 'export HYPERMESH_NETNS_GATEWAYS="%s"\n' "$gws"
}

status() {
  local ns
  for ns in $(our_namespaces); do
    printf '%s: %s; pids: %s\n' "$ns" \
      "$(ip -n "$ns" -o -4 addr show dev eth0 2>/dev/null | awk '{print $4}')" \
      "$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
  done
}

case "${1:-}" in
  start)
    need_root
    start "${2:-}"
    ;;
  stop)
    need_root
    stop_all
    log "stopped"
    ;;
  status)
    need_root
    status
    ;;
  *)
    log "usage: $0 start N | stop | status"
    exit 2
    ;;
esac
