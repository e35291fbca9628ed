#!/usr/bin/env bash
# Builds operator-sdk from Go modules into the same cache as the control plane (used by the OLM bundle test:
# `operator-sdk bundle validate ./bundle`). Skips the build when the cached binary already reports the pinned version.
#   METALLB_TS_CACHE        cache root (default ~/.cache/metallb-ts); the binary lands in $METALLB_TS_CACHE/bin
#   OPERATOR_SDK_VERSION    default v1.42.2 (its go.mod needs Go >= 1.25.7)
set -euo pipefail

OPERATOR_SDK_VERSION="${OPERATOR_SDK_VERSION:-v1.42.2}"
CACHE="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
MOD=github.com/operator-framework/operator-sdk

log() { printf '[build-operator-sdk] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.25.7 on PATH; see README)"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN" "$WORK"

out="$BIN/operator-sdk"
want="operator-sdk version: \"$OPERATOR_SDK_VERSION\""
have_version() {
  [[ -x "$out" ]] || return 1
  local v; v="$("$out" version 2>/dev/null || true)"
  [[ "$v" == *"$want"* ]]
}

if have_version; then
  log "operator-sdk $OPERATOR_SDK_VERSION cached at $out"
  exit 0
fi

t0=$SECONDS
dir="$WORK/operator-sdk-$OPERATOR_SDK_VERSION"
mkdir -p "$dir"; cd "$dir"
log "building operator-sdk $OPERATOR_SDK_VERSION in $dir (first build takes minutes)"

# The release's go.mod has no replace directives, so a plain wrapper module requiring it is enough (`go install
# pkg@version` would do too, but a wrapper module gives one place for go.sum and the version metadata below).
# The checksum database is used as configured.
[[ -f go.mod ]] || go mod init local.invalid/operator-sdk-build >/dev/null 2>&1
dl="$(go mod download -json "$MOD@$OPERATOR_SDK_VERSION" 2>&1 || true)"
src="$(sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p' <<<"$dl")"
[[ -d "$src" ]] || die "could not download $MOD@$OPERATOR_SDK_VERSION: $(sed -n 's/^\s*"Error": //p' <<<"$dl")"
commit="$(sed -n 's/^\s*"Hash": "\(.*\)",\?$/\1/p' <<<"$dl" | head -1)"
# The Kubernetes version the release reports is pinned in its Makefile (K8S_VERSION), as in upstream `make build`.
k8s="$(sed -n 's/^export K8S_VERSION = \(.*\)$/\1/p' "$src/Makefile" 2>/dev/null | head -1)"
go get "$MOD/cmd/operator-sdk@$OPERATOR_SDK_VERSION"

V="$MOD/internal/version"
# containers_image_openpgp: upstream's build tag, so containers/image needs no gpgme (cgo).
go build -trimpath -tags containers_image_openpgp \
  -ldflags "-s -w -X $V.Version=$OPERATOR_SDK_VERSION -X $V.GitVersion=$OPERATOR_SDK_VERSION \
    -X $V.GitCommit=${commit:-unknown} -X $V.KubernetesVersion=v${k8s:-unknown} -X $V.ImageVersion=$OPERATOR_SDK_VERSION" \
  -o "$out.tmp" "$MOD/cmd/operator-sdk"
mv -f "$out.tmp" "$out"
have_version || die "built operator-sdk does not report $OPERATOR_SDK_VERSION: $("$out" version 2>&1 || true)"
log "operator-sdk built in $((SECONDS - t0)) s: $("$out" version)"
