#!/usr/bin/env bash
# Builds helm from Go modules into the same cache as the control plane (the chart test lints and renders
# charts/metallb-ts with it; the cluster layer installs the chart with it). Its own wrapper module: helm pins its own
# Kubernetes client libraries, so it cannot share one `go build` with the kube binaries. Skips the build when the
# cached binary already reports the pinned version.
#   METALLB_TS_CACHE   cache root (default ~/.cache/metallb-ts); the binary lands in $METALLB_TS_CACHE/bin
#   HELM_VERSION       default v3.22.1
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.1}"
CACHE="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
MOD=helm.sh/helm/v3

log() { printf '[build-helm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (see README)"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN" "$WORK"

out="$BIN/helm"
have_version() {
  [[ -x "$out" ]] || return 1
  [[ "$("$out" version --short 2>/dev/null || true)" == "$HELM_VERSION"* ]]
}
if have_version; then
  log "helm $HELM_VERSION cached at $out"
  exit 0
fi

t0=$SECONDS
dir="$WORK/helm-$HELM_VERSION"
mkdir -p "$dir"; cd "$dir"
log "building helm $HELM_VERSION in $dir"
[[ -f go.mod ]] || go mod init local.invalid/helm-build >/dev/null 2>&1
go get "$MOD/cmd/helm@$HELM_VERSION"
# The module proxy reports the tag's commit only sometimes (Origin.Hash); without it helm prints the bare version.
commit="$(go mod download -json "$MOD@$HELM_VERSION" | sed -n 's/^\s*"Hash": "\(.*\)",\?$/\1/p' | head -1)"
V="$MOD/internal/version"
flags="-s -w -X $V.version=$HELM_VERSION -X $V.gitTreeState=clean"
[[ -n "$commit" ]] && flags="$flags -X $V.gitCommit=$commit"
go build -trimpath -ldflags "$flags" -o "$out.tmp" "$MOD/cmd/helm"
mv -f "$out.tmp" "$out"
have_version || die "built helm does not report $HELM_VERSION: $("$out" version 2>&1 || true)"
log "helm built in $((SECONDS - t0)) s: $("$out" version --short)"
