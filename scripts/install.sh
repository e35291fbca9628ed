#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine (run as root, or with sudo available):
# Debian packages (FRR, iproute2, arping, ndisc6, tcpdump, ...), the npm dependencies, and the real control plane
# (kube-apiserver + etcd built from Go modules into ~/.cache/metallb-ts/bin, skipped when already cached),
# operator-sdk (same cache, for `operator-sdk bundle validate`), helm, podman's configuration and the project's images
# (scripts/build-images.sh: cached, seconds when nothing changed). The cluster layer's builds come with `npm test`
# (scripts/build-cluster-layer.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install] %s\n' "$*" >&2; }
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { log "ERROR: run as root (or install sudo)"; exit 1; }
  SUDO=sudo
fi

APT_PACKAGES=(frr frr-pythontools iproute2 iputils-arping iputils-ping ndisc6 tcpdump socat openssl procps ca-certificates curl python3 make g++
  # images (podman, buildah, debootstrap for the base), testcontainers' engine (podman's API), the cluster layer's
  # runtime (containerd, runc, CNI plugins) and the lab routers' BIRD 2 and GoBGP (their CLIs read the containers)
  podman buildah debootstrap containerd runc containernetworking-plugins netavark aardvark-dns catatonit bird2 gobgpd
  # the cluster layer's node: kube-proxy's iptables, nsenter/unshare (util-linux), the static pause binary (gcc, libc6-dev)
  iptables util-linux gcc libc6-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  # The routing daemons are for the lab's containers and namespaces only: never on the machine's own interfaces.
  if [[ -d /run/systemd/system ]]; then
    for unit in bird gobgpd; do $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
  fi
else
  log "apt: all packages present"
fi

# podman: the project's containers.conf and storage.conf, written only where none exists or ours does (its first
# line says so); an administrator's own file is left alone. See scripts/containers/*.conf for why each setting.
for f in containers.conf storage.conf; do
  target=/etc/containers/$f
  if [[ ! -e "$target" ]] || head -1 "$target" | grep -q '^# metallb-ts:'; then
    $SUDO install -D -m 0644 "scripts/containers/$f" "$target"
  else
    log "podman: keeping the existing $target (not ours)"
  fi
done

command -v node >/dev/null 2>&1 || { log "ERROR: Node.js >= 20.19 is required"; exit 1; }
log "npm ci"
npm ci --no-audit --no-fund

# The image build (on a fresh machine mostly debootstrap's and npm's downloads) runs beside the Go builds below, which
# are mostly CPU; its output goes to a log printed when it is waited for.
log "images (podman: base, operator, speaker, lab router), in the background"
images_log=$(mktemp)
$SUDO bash scripts/build-images.sh >"$images_log" 2>&1 &
images_pid=$!
trap 'kill "$images_pid" 2>/dev/null || true; rm -f "$images_log"' EXIT

log "control plane (kube-apiserver + etcd)"
bash scripts/build-control-plane.sh

log "operator-sdk (OLM bundle validation)"
bash scripts/build-operator-sdk.sh

log "helm (chart lint and render, the cluster layer's Helm install)"
bash scripts/build-helm.sh

# The cluster layer's own Go builds (node binaries, OLM, opm, the registry; ≈ 20–25 min on a fresh machine) are not
# here: nothing but that layer needs them, so the demo does not wait for them. `npm test` starts them in the
# background beside the first four layers (scripts/test-all.sh), `npm run test:cluster` before its tests.
log "images: waiting for the background build"
if ! wait "$images_pid"; then cat "$images_log" >&2; log "ERROR: scripts/build-images.sh failed"; exit 1; fi
grep '^\[build-images\]' "$images_log" >&2 || true

log "done"
