#!/usr/bin/env bash
# `npm test`: the five layers in order (unit, integration, images, e2e, cluster). The cluster layer's Go builds
# (scripts/build-cluster-layer.sh, ≈ 20–25 min on a fresh machine, seconds when cached) start first, in the
# background at the lowest CPU priority, so that on a fresh machine they overlap the first four layers instead of
# adding to them; their output is printed before the cluster layer. Stopping this script stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

build_log=$(mktemp)
# setsid: the builds get a process group of their own, which the trap can stop as a whole (go build's children too).
setsid nice -n 19 bash scripts/build-cluster-layer.sh >"$build_log" 2>&1 &
build_pid=$!
trap 'kill -- -"$build_pid" 2>/dev/null || kill "$build_pid" 2>/dev/null || true; rm -f "$build_log"' EXIT

t0=$SECONDS
npm run test:unit
npm run test:integration
npm run test:images
npm run test:e2e

build_status=0
wait "$build_pid" || build_status=$?
printf '[test] cluster layer builds (background, %s s into the run when the e2e layer ended):\n' "$((SECONDS - t0))" >&2
grep -E '^\[build-(node|olm)\]' "$build_log" >&2 || true
if [[ $build_status -ne 0 ]]; then
  cat "$build_log" >&2
  printf '[test] ERROR: scripts/build-cluster-layer.sh failed (exit %s)\n' "$build_status" >&2
  exit 1
fi
npm run test:cluster
