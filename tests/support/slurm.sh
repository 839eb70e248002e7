#!/usr/bin/env bash
# Start (or stop) a private single-machine Slurm cluster — munged, slurmctld and one slurmd
# whose node is this machine — for the Slurm job tests (tests/slurm_job_test.ts).
#
# Usage:
#   eval "$(bash tests/support/slurm.sh start [--install])"   # prints `export SLURM_CONF=...`
#   bash tests/support/slurm.sh stop
#   bash tests/support/slurm.sh status
#
# Everything lives in $HYPERMESH_SLURM_DIR (default /tmp/hypermesh-slurm): the generated munge
# key (0400), munged's socket, slurm.conf, the daemons' state, spool, pid and log files.
# `start` is idempotent (a running cluster is reused); `stop` ends the daemons it started (by
# their pid files) and removes the directory. The ports (controller 16817, slurmd 16818) are
# not Slurm's defaults, so a system cluster on the machine is not disturbed.
#
# Settings that work without cgroups, as root, in a container (Debian 12, Slurm 22.05):
# ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no accounting, SlurmUser=root,
# AuthInfo pointing at the private munged socket. The node is `hostname` with the CPUs of
# the machine; the commands find the cluster through SLURM_CONF.
set -euo pipefail

DIR=${HYPERMESH_SLURM_DIR:-/tmp/hypermesh-slurm}
CONF=$DIR/slurm.conf
CTLD_PORT=${HYPERMESH_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${HYPERMESH_SLURMD_PORT:-16818}

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
  local node cpus
  node=$(hostname)
  cpus=$(nproc)
  cat >"$CONF" <<EOF
# A private single-machine cluster for hypermesh's tests (tests/support/slurm.sh).
ClusterName=hypermesh
SlurmctldHost=$node
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.sock
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
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
NodeName=$node CPUs=$cpus State=UNKNOWN
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
  if pid_alive "$DIR/munged.pid" && pid_alive "$DIR/slurmctld.pid" && pid_alive "$DIR/slurmd.pid"; then
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
  slurmd -f "$CONF" >&2
  # Ready when the node is idle (slurmd registered with the controller).
  local state=""
  for _ in $(seq 1 300); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
    [[ "$state" == idle* ]] && break
    sleep 0.2
  done
  if [[ "$state" != idle* ]]; then
    log "the node did not become idle (state '${state}'); logs in $DIR"
    tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
    return 1
  fi
  log "cluster up in $DIR (node $(hostname), $(nproc) CPUs)"
  echo "export SLURM_CONF=$CONF"
}

stop_daemons() {
  local f pid
  for f in slurmd slurmctld munged; do
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
  for f in munged slurmctld slurmd; do
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
