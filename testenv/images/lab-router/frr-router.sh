#!/bin/sh
# The lab router's FRR (zebra, bgpd, bfdd) as a container's main process: configuration /lab/frr.conf (integrated,
# pushed with `vtysh -b` as at boot), sockets and pid files in /lab/run, so the test reaches vtysh through the
# bind-mounted directory. SIGTERM stops the daemons.
set -eu
run=/lab/run
mkdir -p "$run"
chown frr:frr "$run"
wait_for() { i=0; while [ ! -S "$1" ]; do i=$((i + 1)); [ $i -lt 200 ] || { echo "no $1" >&2; exit 1; }; sleep 0.05; done; }
for d in zebra bgpd bfdd; do
  extra=""
  [ "$d" = bfdd ] && extra="--bfdctl $run/bfdd.sock"
  # shellcheck disable=SC2086
  /usr/lib/frr/$d -d -A 127.0.0.1 -P 0 -z "$run/zserv.api" --vty_socket "$run" -i "$run/$d.pid" -u frr -g frr -f /dev/null $extra
  [ "$d" = zebra ] && wait_for "$run/zserv.api"
  wait_for "$run/$d.vty"
done
vtysh --vty_socket "$run" --config_dir /lab -b
stop() {
  for p in "$run"/*.pid; do kill "$(cat "$p")" 2>/dev/null || true; done
  exit 0
}
trap stop TERM INT
echo "frr-router: running"
sleep infinity &
wait $!
