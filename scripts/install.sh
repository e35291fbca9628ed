#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine (run as root, or with sudo available):
# Debian packages (FRR, iproute2, arping, ndisc6, tcpdump, ...), the npm dependencies, and the real control plane
# (kube-apiserver + etcd built from Go modules into ~/.cache/metallb-ts/bin, skipped when already cached),
# operator-sdk (same cache, for `operator-sdk bundle validate`), helm, and the node binaries of the cluster layer.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install] %s\n' "$*" >&2; }
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { log "ERROR: run as root (or install sudo)"; exit 1; }
  SUDO=sudo
fi

APT_PACKAGES=(frr frr-pythontools iproute2 iputils-arping iputils-ping ndisc6 tcpdump socat openssl procps ca-certificates curl python3 make g++)
# The cluster layer (test:cluster): a real node on containerd (runc, the CNI plugins, iptables for kube-proxy) and the
# static pause binary (gcc, libc6-dev); podman/buildah/debootstrap build and export the images.
APT_PACKAGES+=(containerd runc containernetworking-plugins iptables podman buildah debootstrap gcc libc6-dev util-linux)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "apt: all packages present"
fi

command -v node >/dev/null 2>&1 || { log "ERROR: Node.js >= 20.19 is required"; exit 1; }
log "npm ci"
npm ci --no-audit --no-fund

log "control plane (kube-apiserver + etcd)"
bash scripts/build-control-plane.sh

log "operator-sdk (OLM bundle validation)"
bash scripts/build-operator-sdk.sh

log "helm (chart lint and render, the cluster layer's Helm install)"
bash scripts/build-helm.sh

log "node binaries (kubelet, kube-controller-manager, kube-scheduler, kube-proxy, pause) for the cluster layer"
bash scripts/build-node.sh
log "done"
