#!/usr/bin/env bash
# Start (or stop) a private single-machine Slurm cluster — munged, slurmctld and two slurmd
# daemons, nodes `n1` and `n2`, both this machine — for the Slurm job tests
# (tests/slurm_job_test.ts).
#
# Usage:
#   eval "$(bash tests/support/slurm.sh start [--install])"   # prints `export SLURM_CONF=...`
#   bash tests/support/slurm.sh stop
#   bash tests/support/slurm.sh status
#
# Everything lives in $HYPERMESH_SLURM_DIR (default /tmp/hypermesh-slurm): the generated munge
# key (0400), munged's socket, slurm.conf, the daemons' state, spool, pid and log files.
# `start` is idempotent (a running cluster is reused); `stop` ends the daemons it started (by
# their pid files) and removes the directory. The ports (controller 16817, slurmd 16818 and
# 16819) are not Slurm's defaults, so a system cluster on the machine is not disturbed.
#
# Settings that work without cgroups, as root, in a container (Debian 12, Slurm 22.05):
# ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no accounting, SlurmUser=root,
# AuthInfo pointing at the private munged socket. Two nodes on one machine: each slurmd runs
# with `-N nI` on its own port (Debian's slurmd accepts this without --enable-multiple-slurmd
# as long as pid file, spool dir and log carry %n), NodeHostname=`hostname`, NodeAddr=127.0.0.1
# (what slurmctld dials, and what SlurmJob advertises by default), one CPU each. The commands
# find the cluster through SLURM_CONF.
set -euo pipefail

DIR=${HYPERMESH_SLURM_DIR:-/tmp/hypermesh-slurm}
CONF=$DIR/slurm.conf
CTLD_PORT=${HYPERMESH_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${HYPERMESH_SLURMD_PORT:-16818} # n1; n2 is the next port
NODES=(n1 n2)

log() { printf 'slurm.sh: %s\n' "$*" >&2; }

alive() { # pid -> 0 when running and not a zombie
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

pid_alive() { # pidfile -> 0 when its process runs
  [[ -f "$1" ]] && alive "$(cat "$1")"
}

install_packages() {
  if [[ $(id -u) -ne 0 ]]; then
    log "cannot install slurm-wlm/munge: not root"
    return 1
  fi
  log "installing slurm-wlm and munge with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
}

have_tools() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
    command -v sbatch >/dev/null
}

write_conf() {
  local host
  host=$(hostname)
  cat >"$CONF" <<EOF
# A private single-machine cluster for hypermesh's tests (tests/support/slurm.sh).
ClusterName=hypermesh
SlurmctldHost=$host
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.sock
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$SLURMD_PORT CPUs=1 State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + 1)) CPUs=1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  if [[ "${1:-}" == "--install" ]] && ! have_tools; then install_packages; fi
  if ! have_tools; then
    log "slurm-wlm/munge not installed (apt-get install slurm-wlm munge)"
    return 1
  fi
  export SLURM_CONF=$CONF
  if pid_alive "$DIR/munged.pid" && pid_alive "$DIR/slurmctld.pid" &&
    pid_alive "$DIR/slurmd-n1.pid" && pid_alive "$DIR/slurmd-n2.pid"; then
    log "reusing the cluster in $DIR"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  stop_daemons
  rm -rf "$DIR"
  mkdir -p "$DIR/state" "$DIR/spool"
  chmod 0700 "$DIR"
  dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$DIR/munge.key"
  write_conf
  munged --force --key-file="$DIR/munge.key" --socket="$DIR/munge.sock" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munged.seed" >&2
  slurmctld -i -f "$CONF" >&2 # -i: ignore state files left by an earlier run
  local n
  for n in "${NODES[@]}"; do slurmd -f "$CONF" -N "$n" >&2; done
  # Ready when both nodes are idle (their slurmd registered with the controller).
  local states=""
  for _ in $(seq 1 300); do
    states=$(sinfo -h -N -o %t 2>/dev/null | tr '\n' ' ' || true)
    [[ "$states" == "idle idle " ]] && break
    sleep 0.2
  done
  if [[ "$states" != "idle idle " ]]; then
    log "the nodes did not become idle (states '${states}'); logs in $DIR"
    tail -5 "$DIR"/*.log >&2 || true
    return 1
  fi
  log "cluster up in $DIR (nodes ${NODES[*]} on $(hostname))"
  echo "export SLURM_CONF=$CONF"
}

stop_daemons() {
  local f pid
  for f in slurmd-n1 slurmd-n2 slurmctld munged; do
    if pid_alive "$DIR/$f.pid"; then
      pid=$(cat "$DIR/$f.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  done
}

stop() {
  stop_daemons
  rm -rf "$DIR"
  log "stopped"
}

status() {
  local f ok=0
  for f in munged slurmctld slurmd-n1 slurmd-n2; do
    if pid_alive "$DIR/$f.pid"; then log "$f running"; else log "$f not running"; ok=1; fi
  done
  return $ok
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: $0 start [--install] | stop | status" >&2
  exit 2
  ;;
esac
