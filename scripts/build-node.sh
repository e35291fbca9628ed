#!/usr/bin/env bash
# Builds the node half of a real cluster for the cluster test layer from Go modules, into the same cache as the
# control plane: kubelet, kube-controller-manager, kube-scheduler and kube-proxy in ONE `go build` (they share most
# packages), with the wrapper module of scripts/build-control-plane.sh; then the sandbox ("pause") binary that
# containerd needs, compiled statically from kubernetes' own build/pause/linux/pause.c in the Go module cache (no
# registry is reachable here, so registry.k8s.io/pause cannot be pulled; the cluster harness makes the image).
# Skips what is already cached at the pinned version.
#   METALLB_TS_CACHE   cache root (default ~/.cache/metallb-ts); binaries land in $METALLB_TS_CACHE/bin
#   KUBE_VERSION       default v1.34.11
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.34.11}"
CACHE="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
NODE_BINS=(kubelet kube-controller-manager kube-scheduler kube-proxy)

log() { printf '[build-node] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.24 on PATH; see README)"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN" "$WORK"
# shellcheck source=scripts/kube-module.sh
source "$(dirname "$0")/kube-module.sh"

have_version() { # $1 binary
  [[ -x "$1" ]] || return 1
  local out; out="$("$1" --version 2>/dev/null || true)"
  [[ "$out" == *"Kubernetes $KUBE_VERSION"* ]]
}

t_all=$SECONDS
missing=()
for b in "${NODE_BINS[@]}"; do have_version "$BIN/$b" || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "${NODE_BINS[*]} $KUBE_VERSION cached in $BIN"
else
  prepare_kube_module "$WORK/kube-$KUBE_VERSION"
  pkgs=()
  for b in "${missing[@]}"; do
    go get "k8s.io/kubernetes/cmd/$b@$KUBE_VERSION"
    pkgs+=("k8s.io/kubernetes/cmd/$b")
  done
  log "building ${missing[*]} $KUBE_VERSION in $PWD, one go build (first build takes ~10 min on 2 cores)"
  tmp="$BIN/.node-build.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  go build -trimpath -tags notest,grpcnotrace -ldflags "$(kube_ldflags)" -o "$tmp/" "${pkgs[@]}"
  for b in "${missing[@]}"; do
    have_version "$tmp/$b" || die "built $b does not report $KUBE_VERSION"
    mv -f "$tmp/$b" "$BIN/$b"
  done
  rmdir "$tmp"
  log "${missing[*]} built in $((SECONDS - t_all)) s"
fi

# pause: the sandbox process of every Pod. Versioned by the kubernetes tag whose pause.c it is built from.
pause="$BIN/pause"
pause_stamp="$BIN/pause.version"
if [[ -x "$pause" && "$(cat "$pause_stamp" 2>/dev/null)" == "$KUBE_VERSION" ]]; then
  log "pause (from kubernetes $KUBE_VERSION) cached at $pause"
else
  command -v gcc >/dev/null 2>&1 || die "gcc is needed for the static pause binary (Debian: gcc, libc6-dev)"
  src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
  [[ -f "$src" ]] || { go mod download "k8s.io/kubernetes@$KUBE_VERSION" && [[ -f "$src" ]]; } || die "no $src"
  gcc -Os -static -DVERSION="$KUBE_VERSION-metallb-ts" -o "$pause.tmp" "$src"
  strip "$pause.tmp" 2>/dev/null || true
  mv -f "$pause.tmp" "$pause"
  echo "$KUBE_VERSION" > "$pause_stamp"
  log "pause built from $src"
fi
log "node binaries ready in $BIN ($((SECONDS - t_all)) s)"
