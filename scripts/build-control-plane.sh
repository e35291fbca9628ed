#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from Go modules into a cache outside the work tree.
# Skips a binary when the cached one already reports the pinned version.
#   METALLB_TS_CACHE   cache root (default ~/.cache/metallb-ts); binaries land in $METALLB_TS_CACHE/bin
#   KUBE_VERSION       default v1.34.11      ETCD_VERSION  default v3.6.14
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.34.11}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.14}"
CACHE="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
BIN="$CACHE/bin"
WORK="$CACHE/build"

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.24 on PATH; see README)"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN" "$WORK"

have_version() { # $1 binary, $2 expected substring in --version output
  [[ -x "$1" ]] || return 1
  local out; out="$("$1" --version 2>/dev/null || true)"
  [[ "$out" == *"$2"* ]]
}

# shellcheck source=scripts/kube-module.sh
source "$(dirname "$0")/kube-module.sh"

build_apiserver() {
  local out="$BIN/kube-apiserver"
  if have_version "$out" "Kubernetes $KUBE_VERSION"; then
    log "kube-apiserver $KUBE_VERSION cached at $out"; return
  fi
  local t0=$SECONDS
  prepare_kube_module "$WORK/kube-$KUBE_VERSION"
  log "building kube-apiserver $KUBE_VERSION in $PWD (first build takes minutes)"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION"
  go build -trimpath -tags notest,grpcnotrace -ldflags "$(kube_ldflags)" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv -f "$out.tmp" "$out"
  have_version "$out" "Kubernetes $KUBE_VERSION" || die "built kube-apiserver does not report $KUBE_VERSION"
  log "kube-apiserver built in $((SECONDS - t0)) s"
}

# kubectl, for the manifests' `kubectl apply --dry-run=server` tests (same module graph as kube-apiserver).
kubectl_version_ok() {
  [[ -x "$BIN/kubectl" ]] && [[ "$("$BIN/kubectl" version --client 2>/dev/null || true)" == *"Client Version: $KUBE_VERSION"* ]]
}

build_kubectl() {
  local out="$BIN/kubectl"
  if kubectl_version_ok; then
    log "kubectl $KUBE_VERSION cached at $out"; return
  fi
  local t0=$SECONDS
  prepare_kube_module "$WORK/kube-$KUBE_VERSION"
  log "building kubectl $KUBE_VERSION in $PWD"
  go get "k8s.io/kubernetes/cmd/kubectl@$KUBE_VERSION"
  go build -trimpath -tags notest -ldflags "$(kube_ldflags)" -o "$out.tmp" k8s.io/kubernetes/cmd/kubectl
  mv -f "$out.tmp" "$out"
  kubectl_version_ok || die "built kubectl does not report $KUBE_VERSION"
  log "kubectl built in $((SECONDS - t0)) s"
}

build_etcd() {
  local out="$BIN/etcd" want="etcd Version: ${ETCD_VERSION#v}"
  if have_version "$out" "$want"; then
    log "etcd $ETCD_VERSION cached at $out"; return
  fi
  local t0=$SECONDS dir="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$dir"; cd "$dir"
  log "building etcd $ETCD_VERSION in $dir"
  [[ -f go.mod ]] || go mod init local.invalid/etcd-build >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3
  mv -f "$out.tmp" "$out"
  have_version "$out" "$want" || die "built etcd does not report $want"
  log "etcd built in $((SECONDS - t0)) s"
}

t_all=$SECONDS
build_etcd
build_apiserver
build_kubectl
log "control plane ready in $BIN ($((SECONDS - t_all)) s)"
