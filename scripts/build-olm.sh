#!/usr/bin/env bash
# Builds Operator Lifecycle Manager and a container registry from Go modules for the cluster layer's OLM test, into
# the same cache as the control plane. Nothing but Go modules is downloaded.
#   1. ONE `go build` over the operator-lifecycle-manager module graph: olm, catalog, copy-content and cpb (OLM's own
#      commands), opm (operator-registry, the version OLM's go.mod requires) and grpc_health_probe (the exec probe OLM
#      puts on every catalog Pod). Static (CGO_ENABLED=0, as upstream's Makefile), tag json1 as upstream.
#   2. ONE `go build` of the distribution registry (cmd/registry), its own module graph.
#   3. OLM's CRDs, copied from the same module (deploy/chart/crds) to $METALLB_TS_CACHE/olm/crds.
# Skips each part whose stamp file names the pinned versions.
#   METALLB_TS_CACHE        cache root (default ~/.cache/metallb-ts); binaries land in $METALLB_TS_CACHE/bin
#   OLM_VERSION             default v0.36.0 (k8s.io/* v0.34, builds with Go 1.26)
#   GRPC_HEALTH_PROBE_VERSION  default v0.4.40
#   REGISTRY_VERSION        default v3.1.2 (github.com/distribution/distribution/v3; its go.mod needs Go >= 1.26)
set -euo pipefail

OLM_VERSION="${OLM_VERSION:-v0.36.0}"
GRPC_HEALTH_PROBE_VERSION="${GRPC_HEALTH_PROBE_VERSION:-v0.4.40}"
REGISTRY_VERSION="${REGISTRY_VERSION:-v3.1.2}"
CACHE="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
OLM_MOD=github.com/operator-framework/operator-lifecycle-manager
REG_MOD=github.com/operator-framework/operator-registry
PROBE_MOD=github.com/grpc-ecosystem/grpc-health-probe
DIST_MOD=github.com/distribution/distribution/v3
OLM_BINS=(olm catalog copy-content cpb opm grpc_health_probe)

log() { printf '[build-olm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.26 on PATH; see README)"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN" "$WORK"
NICE=(nice -n 10)

mod_json() { # $1 module@version -> go mod download -json output
  go mod download -json "$1" 2>&1 || true
}
json_field() { # $1 field, stdin json
  sed -n "s/^\s*\"$1\": \"\(.*\)\",\?\$/\1/p" | head -1
}

t_all=$SECONDS

# --- 1. OLM + opm + grpc_health_probe --------------------------------------------------------------------------
olm_stamp="$BIN/olm.version"
olm_want="olm $OLM_VERSION grpc-health-probe $GRPC_HEALTH_PROBE_VERSION"
olm_cached() {
  [[ "$(cat "$olm_stamp" 2>/dev/null)" == "$olm_want" ]] || return 1
  local b; for b in "${OLM_BINS[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}
if olm_cached; then
  log "${OLM_BINS[*]} ($olm_want) cached in $BIN"
else
  t0=$SECONDS
  dir="$WORK/olm-$OLM_VERSION"
  mkdir -p "$dir"; cd "$dir"
  dl="$(mod_json "$OLM_MOD@$OLM_VERSION")"
  src="$(json_field Dir <<<"$dl")"
  [[ -d "$src" ]] || die "could not download $OLM_MOD@$OLM_VERSION: $(json_field Error <<<"$dl")"
  commit="$(json_field Hash <<<"$dl")"
  if [[ ! -f go.mod ]]; then
    # The wrapper module carries OLM's replace directives (a dependency's replaces do not apply to its requirers).
    {
      echo "module local.invalid/olm-build"
      echo
      echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$src/go.mod" | head -1)"
      echo
      echo "require $OLM_MOD $OLM_VERSION"
      echo
      sed -n '/^replace /p' "$src/go.mod"
      sed -n '/^replace ($/,/^)$/p' "$src/go.mod"
    } > go.mod.tmp
    mv go.mod.tmp go.mod
  fi
  # opm at the operator-registry version OLM's own go.mod pins, so OLM and opm share one graph.
  reg_version="$(sed -n "s#^\s*$REG_MOD \(v[^ ]*\).*#\1#p" "$src/go.mod" | head -1)"
  [[ -n "$reg_version" ]] || die "no $REG_MOD requirement in $src/go.mod"
  go get "$OLM_MOD/cmd/olm@$OLM_VERSION" "$REG_MOD/cmd/opm@$reg_version" "$PROBE_MOD@$GRPC_HEALTH_PROBE_VERSION"
  pkgs=("$OLM_MOD/cmd/olm" "$OLM_MOD/cmd/catalog" "$OLM_MOD/cmd/copy-content" "$OLM_MOD/util/cpb" "$REG_MOD/cmd/opm" "$PROBE_MOD")
  log "building ${OLM_BINS[*]} (olm $OLM_VERSION, opm $reg_version) in $dir, one go build"
  tmp="$BIN/.olm-build.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  OV="$OLM_MOD/pkg/version"
  RV="$REG_MOD/cmd/opm/version"
  "${NICE[@]}" go build -trimpath -tags json1,containers_image_openpgp \
    -ldflags "-s -w -X $OV.OLMVersion=$OLM_VERSION -X $OV.GitCommit=${commit:-unknown} \
      -X $RV.gitCommit=unknown -X $RV.opmVersion=$reg_version -X $RV.buildDate=unknown" \
    -o "$tmp/" "${pkgs[@]}"
  mv -f "$tmp/grpc-health-probe" "$tmp/grpc_health_probe"
  for b in "${OLM_BINS[@]}"; do [[ -x "$tmp/$b" ]] || die "go build made no $b"; mv -f "$tmp/$b" "$BIN/$b"; done
  rmdir "$tmp"
  echo "$olm_want" > "$olm_stamp"
  log "${OLM_BINS[*]} built in $((SECONDS - t0)) s"
fi

# --- 2. the registry -------------------------------------------------------------------------------------------
reg_stamp="$BIN/registry.version"
if [[ -x "$BIN/registry" && "$(cat "$reg_stamp" 2>/dev/null)" == "$REGISTRY_VERSION" ]]; then
  log "registry $REGISTRY_VERSION cached at $BIN/registry"
else
  t0=$SECONDS
  dir="$WORK/registry-$REGISTRY_VERSION"
  mkdir -p "$dir"; cd "$dir"
  [[ -f go.mod ]] || go mod init local.invalid/registry-build >/dev/null 2>&1
  go get "$DIST_MOD/cmd/registry@$REGISTRY_VERSION"
  log "building registry $REGISTRY_VERSION in $dir"
  "${NICE[@]}" go build -trimpath -ldflags "-s -w -X $DIST_MOD/version.version=$REGISTRY_VERSION" \
    -o "$BIN/registry.tmp" "$DIST_MOD/cmd/registry"
  mv -f "$BIN/registry.tmp" "$BIN/registry"
  echo "$REGISTRY_VERSION" > "$reg_stamp"
  log "registry built in $((SECONDS - t0)) s"
fi

# --- 3. OLM's CRDs ---------------------------------------------------------------------------------------------
crds="$CACHE/olm/crds"
if [[ "$(cat "$crds/.version" 2>/dev/null)" == "$OLM_VERSION" ]]; then
  log "OLM $OLM_VERSION CRDs cached in $crds"
else
  src="$(mod_json "$OLM_MOD@$OLM_VERSION" | json_field Dir)"
  [[ -d "$src/deploy/chart/crds" ]] || die "no deploy/chart/crds in $OLM_MOD@$OLM_VERSION"
  rm -rf "$crds"; mkdir -p "$crds"
  cp "$src"/deploy/chart/crds/*.yaml "$crds/"
  chmod u+w "$crds"/*.yaml
  echo "$OLM_VERSION" > "$crds/.version"
  log "OLM $OLM_VERSION CRDs copied to $crds"
fi
log "OLM, opm and registry ready in $BIN ($((SECONDS - t_all)) s)"
