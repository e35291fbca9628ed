#!/usr/bin/env bash
# The cluster test layer's own builds, which nothing else needs: the node binaries (scripts/build-node.sh: kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy, pause) and OLM + opm + the registry (scripts/build-olm.sh).
# About 20–25 min of Go builds on a fresh 2-core machine, seconds when cached. `npm test` (scripts/test-all.sh) starts
# this in the background, at low priority, while the other layers run, and waits for it before the cluster layer;
# `npm run test:cluster` runs it first too. A lock in the cache lets the second caller wait for the first instead of
# building the same binaries twice.
#   METALLB_TS_CACHE   cache root (default ~/.cache/metallb-ts)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
mkdir -p "$CACHE"
exec 9>"$CACHE/cluster-layer-build.lock"
flock 9
bash scripts/build-node.sh
bash scripts/build-olm.sh
