// Preconditions of the cluster layer: root, the node binaries, containerd/runc/CNI/podman, and the project's images
// in podman's storage. (Plain JS: jest loads global setup through Node's loader, which cannot import TypeScript.)
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export default async function clusterSetup() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push("must run as root (network and mount namespaces, containerd, kubelet)");
  const env = process.env;
  const binDir = env.METALLB_TS_BIN_DIR ?? join(env.METALLB_TS_CACHE ?? join(homedir(), ".cache", "metallb-ts"), "bin");
  for (const b of ["etcd", "kube-apiserver", "kubectl", "helm"]) {
    if (!existsSync(join(binDir, b))) problems.push(`${join(binDir, b)} is missing (npm run build:control-plane, npm run build:helm)`);
  }
  for (const b of ["kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy", "pause"]) {
    if (!existsSync(join(binDir, b))) problems.push(`${join(binDir, b)} is missing (npm run build:node)`);
  }
  // The OLM file (e2e/cluster/olm.cluster.test.ts): OLM, opm, grpc_health_probe and the registry.
  for (const b of ["olm", "catalog", "cpb", "copy-content", "opm", "grpc_health_probe", "registry"]) {
    if (!existsSync(join(binDir, b))) problems.push(`${join(binDir, b)} is missing (npm run build:olm)`);
  }
  const needs = [
    ["/usr/bin/containerd", "containerd"],
    ["/usr/sbin/runc", "runc"],
    ["/usr/lib/cni/bridge", "containernetworking-plugins"],
    ["/usr/bin/podman", "podman"],
    ["/usr/sbin/iptables", "iptables"],
    ["/usr/lib/frr/bgpd", "frr"],
    ["/usr/bin/arping", "iputils-arping"],
    ["/usr/bin/ndisc6", "ndisc6"],
  ];
  for (const [path, pkg] of needs) if (!existsSync(path)) problems.push(`${path} is missing (Debian package ${pkg})`);
  if (existsSync("/usr/bin/podman")) {
    for (const image of ["ghcr.io/metallb-ts/operator:v0.1.0", "ghcr.io/metallb-ts/speaker:v0.1.0"]) {
      try {
        execFileSync("podman", ["image", "exists", image], { stdio: "ignore" });
      } catch {
        problems.push(`image ${image} is not in podman's storage (npm run build:images)`);
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`cluster tests cannot run:\n  - ${problems.join("\n  - ")}\n` + "Install with `bash scripts/install.sh` and run the cluster layer as root.");
  }
}
