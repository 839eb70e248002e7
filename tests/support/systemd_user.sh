#!/usr/bin/env bash
# Start (or stop) a private `systemd --user` manager with its own session D-Bus, for the
# systemd launcher tests (tests/systemd_launcher_test.ts).
#
# Usage:
#   eval "$(bash tests/support/systemd_user.sh start [--install])"   # prints export lines
#   bash tests/support/systemd_user.sh stop                           # uses the exported vars
#   bash tests/support/systemd_user.sh status
#
# `start` prints, on stdout and nothing else:
#   export XDG_RUNTIME_DIR=...            a fresh 0700 directory (mktemp under /tmp)
#   export DBUS_SESSION_BUS_ADDRESS=...   unix:path=$XDG_RUNTIME_DIR/bus
#   export HYPERMESH_SYSTEMD_PIDS=...     "<systemd pid> <dbus-daemon pid>"
# Diagnostics go to stderr; the manager's own output to $XDG_RUNTIME_DIR/systemd-user.log.
#
# Gotchas (found on Debian 12, systemd 252, running as root in a container whose PID 1 is
# not systemd):
# - The session bus must be the one the user manager runs itself. `systemd --user` only
#   connects to its API bus once ITS `dbus.socket` and `dbus.service` units are running
#   (manager_dbus_is_running); a dbus-daemon started beside it is ignored, so the manager
#   never owns org.freedesktop.systemd1 there and every call fails ("Process
#   org.freedesktop.systemd1 exited with status 1" via the activation stub). And its
#   dbus.socket listens on $XDG_RUNTIME_DIR/bus, replacing any socket already at that path.
#   So this script starts the manager first and then `systemctl --user start dbus.service`
#   (systemctl reaches the manager over $XDG_RUNTIME_DIR/systemd/private); the result is
#   still a private session dbus-daemon (--session config), owned by our manager.
# - Without /run/systemd/system the tools (systemd-run, systemctl) believe systemd is not
#   the init system and refuse some operations; as root we create the directory (it is left
#   in place on stop: harmless, and other sessions may rely on it).
# - systemd logs to /dev/console when run outside a terminal, whatever SYSTEMD_LOG_TARGET
#   says; the log file therefore holds only generator output.
# - The manager reads user units from ~/.config/systemd/user and /usr/lib/systemd/user:
#   pre-installed units (gpg-agent sockets, pk-debconf-helper, ...) are loaded too. Harmless.
# - `systemd-run` expands `$$` in command lines; launched units are configured over D-Bus
#   (no expansion) by the launcher.
# - PID 1 here reaps lazily: after `stop` the processes may linger as zombies (state Z).
set -euo pipefail

SYSTEMD_BIN=${SYSTEMD_BIN:-/usr/lib/systemd/systemd}

log() { printf 'systemd_user.sh: %s\n' "$*" >&2; }

alive() { # pid -> 0 when running and not a zombie
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

install_packages() {
  if [[ $(id -u) -ne 0 ]]; then
    log "cannot install systemd/dbus: not root"
    return 1
  fi
  log "installing systemd and dbus with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd dbus >&2
}

have_tools() {
  [[ -x "$SYSTEMD_BIN" ]] && command -v dbus-daemon >/dev/null && command -v systemctl >/dev/null
}

start() {
  local want_install=0
  for arg in "$@"; do
    case "$arg" in
      --install) want_install=1 ;;
      *) log "unknown argument $arg"; exit 2 ;;
    esac
  done
  if [[ "$(uname -s)" != Linux ]]; then
    log "systemd is Linux-only"
    exit 3
  fi
  if ! have_tools; then
    if [[ $want_install -eq 1 || -n "${CI:-}" ]]; then
      install_packages
    fi
    if ! have_tools; then
      log "missing $SYSTEMD_BIN, dbus-daemon or systemctl (rerun with --install as root)"
      exit 3
    fi
  fi
  if [[ $(id -u) -eq 0 && ! -d /run/systemd/system ]]; then
    mkdir -p /run/systemd/system
  fi

  local rt
  rt=$(mktemp -d /tmp/hypermesh-systemd-user.XXXXXX)
  chmod 0700 "$rt"
  export XDG_RUNTIME_DIR="$rt"
  unset DBUS_SESSION_BUS_ADDRESS
  local bus="unix:path=$rt/bus"

  # setsid: own session, so a terminal's SIGHUP / the caller's process group leaves it alone.
  setsid "$SYSTEMD_BIN" --user </dev/null >"$rt/systemd-user.log" 2>&1 &
  local sd_pid=$!

  # The private socket answers once the manager is up.
  local i
  for ((i = 0; i < 100; i++)); do
    if [[ -S "$rt/systemd/private" ]] && systemctl --user is-system-running >/dev/null 2>&1; then
      break
    fi
    if ! alive "$sd_pid"; then
      log "systemd --user exited early; log:"; cat "$rt/systemd-user.log" >&2
      exit 4
    fi
    sleep 0.1
  done
  # is-system-running exits non-zero for "degraded" too; accept any answer but "offline".
  if [[ ! -S "$rt/systemd/private" ]]; then
    log "systemd --user did not come up"; kill "$sd_pid" 2>/dev/null || true; exit 4
  fi

  systemctl --user start dbus.service
  export DBUS_SESSION_BUS_ADDRESS="$bus"
  local ok=0
  for ((i = 0; i < 100; i++)); do
    if busctl --user status org.freedesktop.systemd1 >/dev/null 2>&1 &&
      busctl --user list --no-legend 2>/dev/null | awk '$1=="org.freedesktop.systemd1" && $2 ~ /^[0-9]+$/ {f=1} END {exit !f}'; then
      ok=1
      break
    fi
    sleep 0.1
  done
  if [[ $ok -ne 1 ]]; then
    log "the user manager never appeared on $bus"
    kill "$sd_pid" 2>/dev/null || true
    exit 5
  fi
  local dbus_pid
  dbus_pid=$(systemctl --user show -p MainPID --value dbus.service)

  printf 'export XDG_RUNTIME_DIR=%q\n' "$rt"
  printf 'export DBUS_SESSION_BUS_ADDRESS=%q\n' "$bus"
  printf 'export HYPERMESH_SYSTEMD_PIDS=%q\n' "$sd_pid $dbus_pid"
  log "user manager $sd_pid, session bus $dbus_pid at $bus (state: $(systemctl --user is-system-running 2>/dev/null || true))"
}

stop() {
  local pids=${HYPERMESH_SYSTEMD_PIDS:-}
  if [[ -z "$pids" ]]; then
    log "HYPERMESH_SYSTEMD_PIDS is not set: nothing to stop"
    return 0
  fi
  local sd_pid dbus_pid
  read -r sd_pid dbus_pid <<<"$pids"
  # SIGTERM makes the user manager stop its units (dbus.service included) and exit.
  kill -TERM "$sd_pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    alive "$sd_pid" || break
    sleep 0.1
  done
  alive "$sd_pid" && kill -KILL "$sd_pid" 2>/dev/null || true
  if [[ -n "$dbus_pid" && "$dbus_pid" != 0 ]] && alive "$dbus_pid"; then
    kill -TERM "$dbus_pid" 2>/dev/null || true
    sleep 0.2
    alive "$dbus_pid" && kill -KILL "$dbus_pid" 2>/dev/null || true
  fi
  local rt=${XDG_RUNTIME_DIR:-}
  if [[ "$rt" == /tmp/hypermesh-systemd-user.* ]]; then
    rm -rf "$rt"
  fi
  log "stopped"
  printf 'unset DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR HYPERMESH_SYSTEMD_PIDS\n'
}

status() {
  systemctl --user is-system-running || true
  busctl --user list --no-legend | grep -F org.freedesktop.systemd1 || true
}

cmd=${1:-start}
shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) log "usage: $0 start [--install] | stop | status"; exit 2 ;;
esac
