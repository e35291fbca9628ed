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

# A wrapper module that requires k8s.io/kubernetes at the pinned tag with its staging modules replaced by their
# published versions (k8s.io/kubernetes itself is not meant to be required; its go.mod points them at ./staging).
prepare_kube_module() {
  local dir="$WORK/kube-$KUBE_VERSION"
  local staging="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$dir"; cd "$dir"
  # The staging module list is read from the tag's own go.mod, so it is right for any minor.
  # The checksum database does not answer for k8s.io/kubernetes tags through this proxy (404 on
  # /sumdb/.../lookup), so checksum verification is off for this wrapper module only; go.sum is still written.
  export GOSUMDB=off
  [[ -f go.mod ]] && return
  local gomod dl
  dl="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>&1 || true)"
  gomod="$(sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p' <<<"$dl")"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$KUBE_VERSION go.mod: $(sed -n 's/^\s*"Error": //p' <<<"$dl")"
  local mods
  mods="$(sed -n 's#^\s*\(k8s\.io/[^ \t]*\)\s*=>\s*\./staging/.*#\1#p' "$gomod" | sort -u)"
  [[ -n "$mods" ]] || die "no staging replaces found in $gomod"
  local golines godebug
  golines="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -1)"
  godebug="$(grep -E '^godebug ' "$gomod" | head -1 || true)"
  {
    echo "module local.invalid/kube-build"
    echo
    echo "go ${golines:-1.24.0}"
    [[ -n "$godebug" ]] && { echo; echo "$godebug"; }
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in $mods; do echo "	$m => $m $staging"; done
    echo ")"
  } > go.mod.tmp
  mv go.mod.tmp go.mod
}

kube_ldflags() {
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local f="-s -w" V
  for V in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f="$f -X $V.gitVersion=$KUBE_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean"
  done
  echo "$f"
}

build_apiserver() {
  local out="$BIN/kube-apiserver"
  if have_version "$out" "Kubernetes $KUBE_VERSION"; then
    log "kube-apiserver $KUBE_VERSION cached at $out"; return
  fi
  local t0=$SECONDS
  prepare_kube_module
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
  prepare_kube_module
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
