#!/bin/bash
# frr-start: the co-located FRRouting of a metallb-ts speaker Pod, in the foreground. It is the command of the
# DaemonSet's "frr" container, which runs the speaker's own image (Dockerfile.speaker installs this file as
# /usr/local/bin/frr-start, next to Debian's frr package).
#
#   frr-start          start zebra, bgpd, bfdd (and staticd when enabled), push frr.conf, supervise
#   frr-start probe    exit 0 when every daemon answers on its vty socket (the container's livenessProbe)
#
# Directories (the speaker's defaults are --frr-config /etc/frr/frr.conf and --frr-dir /var/run/frr):
#   /etc/frr          emptyDir shared with the speaker container. frr.conf is written by the speaker. `daemons`
#                     and vtysh.conf are copied at every start from $FRR_STARTUP_DIR (a ConfigMap) when it has them,
#                     else, when missing, from the image's defaults in /usr/share/metallb-ts/frr.
#   /var/run/frr      emptyDir shared with the speaker container: zserv.api, <daemon>.vty sockets, <daemon>.pid
#                     (the speaker watches the pid files to notice a restarted FRR).
#
# Why not watchfrr: this script exits non-zero as soon as one daemon dies, after stopping the others, and the
# kubelet restarts the container.
#  - watchfrr starts the daemons through frrcommon.sh with -d: daemonized, their stdout is /dev/null, so the
#    `log stdout` of the speaker's frr.conf would go nowhere. Here each daemon runs in the foreground and logs
#    into the container's log (kubectl logs -c frr).
#  - A dead daemon becomes a container restart that Kubernetes sees (restartCount, events, CrashLoopBackOff
#    back-off), not a line inside a log.
#  - Restarting all of FRR loses nothing the speaker cannot restore: frr.conf stays in the shared emptyDir and is
#    pushed again by `vtysh -b` below, and the speaker re-reads FRR and re-applies when the pid files are rewritten.
#    A bgpd crash resets its sessions whoever restarts it.
#  - What watchfrr adds beyond restarts, noticing a hung daemon, is `frr-start probe` as livenessProbe.
#
# `daemons` is FRR's own format (shell assignments); read here: bgpd (must be yes), bfdd, staticd (yes: started),
# <daemon>_options (appended to the daemon's arguments, split on blanks), frr_profile (-F). zebra always runs.
#
# Privileges: runs as root. The daemons start as root and switch to user frr keeping only the capabilities they use,
# so the container needs SETUID, SETGID, NET_ADMIN, NET_RAW, NET_BIND_SERVICE and SYS_ADMIN; CHOWN because each
# daemon creates /var/tmp/frr/<daemon>.<pid> (crash-log buffers) and hands it to frr; KILL for this script to stop
# daemons that run as another user. Not DAC_OVERRIDE: vtysh (here and in the speaker) reaches the vty sockets,
# 0770 frr:frrvty, as a member of group frrvty (GID 101 in the image), and reads frr.conf (0600, written by the
# speaker, also root) as its owner. With a read-only root filesystem, /var/tmp/frr needs an emptyDir.
#
# Environment (defaults in brackets; the directories are only changed for tests):
#   FRR_CONF_DIR [/etc/frr]  FRR_RUN_DIR [/var/run/frr]  FRR_STARTUP_DIR [/etc/frr-startup]
#   FRR_DEFAULTS_DIR [/usr/share/metallb-ts/frr]  FRR_LIB_DIR [/usr/lib/frr]
#   FRR_START_TIMEOUT [30] seconds for each daemon's socket
#   FRR_STOP_GRACE [2] seconds after SIGTERM before SIGKILL (twice: bgpd/bfdd/staticd, then zebra)
#   FRR_PROBE_TIMEOUT [5] seconds for each daemon's answer to the probe
set -euo pipefail

readonly CONF_DIR="${FRR_CONF_DIR:-/etc/frr}"
readonly RUN_DIR="${FRR_RUN_DIR:-/var/run/frr}"
readonly STARTUP_DIR="${FRR_STARTUP_DIR:-/etc/frr-startup}"
readonly DEFAULTS_DIR="${FRR_DEFAULTS_DIR:-/usr/share/metallb-ts/frr}"
readonly LIB_DIR="${FRR_LIB_DIR:-/usr/lib/frr}"
readonly START_TIMEOUT="${FRR_START_TIMEOUT:-30}"
readonly STOP_GRACE="${FRR_STOP_GRACE:-2}"
readonly PROBE_TIMEOUT="${FRR_PROBE_TIMEOUT:-5}"
readonly VTYSH=(vtysh --vty_socket "$RUN_DIR" --config_dir "$CONF_DIR")

declare -a DAEMONS=()
declare -A PIDS=()

log() { printf 'frr-start: %s\n' "$*" >&2; }
# Stops what was started (in a container PID 1's exit would end it anyway), exits 1.
die() {
  log "$*"
  if ((${#PIDS[@]} > 0)); then
    trap '' TERM INT
    stop_all
  fi
  exit 1
}

# Alive and not a zombie (a dead child stays in /proc until it is reaped).
alive() {
  local state=""
  [[ -r /proc/$1/stat ]] || return 1
  read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 1
  [[ $state != Z ]]
}

enabled() { [[ ${1:-no} == yes || ${1:-no} == true || ${1:-no} == 1 ]]; }

install_config_files() {
  local f
  mkdir -p "$CONF_DIR" "$RUN_DIR"
  for f in daemons vtysh.conf; do
    if [[ -r $STARTUP_DIR/$f ]]; then
      cp -f "$STARTUP_DIR/$f" "$CONF_DIR/$f" # a ConfigMap's files are symlinks: cp copies their content
    elif [[ ! -e $CONF_DIR/$f ]]; then
      cp "$DEFAULTS_DIR/$f" "$CONF_DIR/$f"
      log "$CONF_DIR/$f: the image's default (none in $STARTUP_DIR)"
    fi
  done
}

# Reads $CONF_DIR/daemons (shell assignments, as FRR's own init scripts do) into DAEMONS, in start order.
load_daemons() {
  [[ -r $CONF_DIR/daemons ]] || die "$CONF_DIR/daemons is missing"
  bgpd=no bfdd=no staticd=no frr_profile=""
  # shellcheck source=/dev/null
  . "$CONF_DIR/daemons"
  enabled "$bgpd" || die "bgpd is not enabled in $CONF_DIR/daemons: the speaker needs it"
  DAEMONS=(zebra)
  if enabled "$staticd"; then DAEMONS+=(staticd); fi
  DAEMONS+=(bgpd)
  if enabled "$bfdd"; then DAEMONS+=(bfdd); fi
}

# Stale sockets and pid files of a previous run of this container (the emptyDir outlives it) would look ready.
clean_run_dir() {
  rm -f "$RUN_DIR"/zserv.api "$RUN_DIR"/bfdd.sock "$RUN_DIR"/*.vty "$RUN_DIR"/*.pid
}

start_daemon() {
  local d=$1 var="${1}_options" extra=()
  read -r -a extra <<<"${!var:-}"
  local args=(-z "$RUN_DIR/zserv.api" --vty_socket "$RUN_DIR" -i "$RUN_DIR/$d.pid" -u frr -g frr -f /dev/null)
  if [[ $d == bfdd ]]; then args+=(--bfdctl "$RUN_DIR/bfdd.sock"); fi
  if [[ -n $frr_profile ]]; then args+=(-F "$frr_profile"); fi
  log "starting $LIB_DIR/$d ${args[*]} ${extra[*]}"
  "$LIB_DIR/$d" "${args[@]}" "${extra[@]}" </dev/null &
  PIDS[$d]=$!
}

wait_for_socket() {
  local d=$1 path=$2 deadline=$((SECONDS + START_TIMEOUT))
  until [[ -S $path ]]; do
    alive "${PIDS[$d]}" || die "$d exited while starting"
    ((SECONDS < deadline)) || die "$d: no $path after ${START_TIMEOUT}s"
    sleep 0.05
  done
}

# SIGTERM to the given daemons, SIGKILL to those left after the grace period; reaps them. Without CAP_KILL (the
# daemons run as frr) nothing can be signalled: then it returns at once, and this script's exit ends them (PID 1 of
# the container's PID namespace).
stop_daemons() {
  local d pid deadline=$((SECONDS + STOP_GRACE)) left
  for d in "$@"; do
    pid=${PIDS[$d]:-}
    if [[ -n $pid ]] && alive "$pid" && ! kill -TERM "$pid" 2>/dev/null && alive "$pid"; then
      log "cannot signal $d (pid $pid): no CAP_KILL? Leaving it to the container's end"
      return 0
    fi
  done
  while :; do
    left=()
    for d in "$@"; do
      pid=${PIDS[$d]:-}
      if [[ -n $pid ]] && alive "$pid"; then left+=("$d"); fi
    done
    ((${#left[@]} > 0)) || break
    if ((SECONDS >= deadline)); then
      log "still running after ${STOP_GRACE}s, killing: ${left[*]}"
      for d in "${left[@]}"; do kill -KILL "${PIDS[$d]}" 2>/dev/null || true; done
      sleep 0.1
      break
    fi
    sleep 0.1
  done
  for d in "$@"; do
    pid=${PIDS[$d]:-}
    if [[ -n $pid ]] && ! alive "$pid"; then wait "$pid" 2>/dev/null || true; fi
  done
}

# bgpd first, alone: it tells its peers (a Cease, or with graceful restart nothing, so that they keep the routes
# stale) and its TCP sessions close before anything else goes. bfdd only after bgpd has exited: stopped together,
# a peer could see BFD go down while the BGP session still looked up, and a peer tears a session down on BFD down
# with a Cease (RFC 9384), which ends graceful restart helper mode and drops the routes a rolling update meant to
# keep. Then bfdd and staticd, zebra last (it removes the routes the others installed).
stop_all() {
  local d others=()
  for d in "${DAEMONS[@]}"; do
    if [[ $d != zebra && $d != bgpd ]]; then others+=("$d"); fi
  done
  stop_daemons bgpd
  if ((${#others[@]} > 0)); then stop_daemons "${others[@]}"; fi
  stop_daemons zebra
}

on_signal() {
  trap '' TERM INT
  log "$1: stopping FRR"
  stop_all
  exit 0
}

run() {
  local d pid rc name
  install_config_files
  load_daemons
  clean_run_dir
  trap 'on_signal SIGTERM' TERM
  trap 'on_signal SIGINT' INT
  start_daemon zebra
  wait_for_socket zebra "$RUN_DIR/zserv.api"
  for d in "${DAEMONS[@]:1}"; do start_daemon "$d"; done
  for d in "${DAEMONS[@]}"; do wait_for_socket "$d" "$RUN_DIR/$d.vty"; done
  if [[ -r $CONF_DIR/frr.conf ]]; then
    # Errors here are FRR's to report; the speaker verifies and re-applies what it wants in any case.
    "${VTYSH[@]}" -b || log "vtysh -b exited $? (see above); the speaker re-applies its configuration"
  else
    log "no $CONF_DIR/frr.conf yet: the speaker writes and applies it"
  fi
  log "running: $(for d in "${DAEMONS[@]}"; do printf '%s[%s] ' "$d" "${PIDS[$d]}"; done)"
  while :; do
    pid="" rc=0
    wait -n -p pid "${PIDS[@]}" || rc=$?
    [[ -n $pid ]] || continue
    name=unknown
    for d in "${DAEMONS[@]}"; do
      if [[ ${PIDS[$d]} == "$pid" ]]; then name=$d; fi
    done
    unset "PIDS[$name]"
    log "$name (pid $pid) exited with status $rc: stopping the others, exiting for the kubelet to restart FRR"
    trap '' TERM INT
    stop_all
    exit $((rc == 0 ? 1 : rc))
  done
}

probe() {
  local d
  load_daemons
  for d in "${DAEMONS[@]}"; do
    timeout "$PROBE_TIMEOUT" "${VTYSH[@]}" -d "$d" -c "show version" >/dev/null || die "probe: $d does not answer"
  done
}

case "${1:-run}" in
run) run ;;
probe) probe ;;
*) die "usage: frr-start [run|probe]" ;;
esac
