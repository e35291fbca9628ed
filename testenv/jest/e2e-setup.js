// Preconditions of the e2e layer: root (network namespaces, raw sockets, FRR), iproute2, Debian's frr and bird2, podman (the
// images themselves come from `npm run build:images`: a test needing a missing one says so).
// (Plain JS: jest loads global setup through Node's loader, which cannot import TypeScript.)
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export default async function e2eSetup() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push("must run as root (network namespaces, raw sockets, FRR)");
  const needs = [
    ["/usr/sbin/ip", "iproute2"],
    ["/usr/lib/frr/bgpd", "frr"],
    ["/usr/bin/vtysh", "frr"],
    ["/usr/bin/arping", "iputils-arping"],
    ["/usr/bin/ndisc6", "ndisc6"],
    ["/usr/bin/ping", "iputils-ping"],
    // Containers (the lab routers, the speaker image's FRR) and the CLIs that read the routers' sockets.
    ["/usr/bin/podman", "podman"],
    ["/usr/sbin/bird", "bird2"],
    ["/usr/sbin/birdc", "bird2"],
    ["/usr/bin/gobgp", "gobgpd"],
  ];
  for (const [path, pkg] of needs) if (!existsSync(path)) problems.push(`${path} is missing (Debian package ${pkg})`);
  // End-to-end suites run the real control plane too.
  const env = process.env;
  const binDir = env.METALLB_TS_BIN_DIR ?? join(env.METALLB_TS_CACHE ?? join(homedir(), ".cache", "metallb-ts"), "bin");
  for (const b of ["etcd", "kube-apiserver"]) {
    if (!existsSync(join(binDir, b))) problems.push(`${join(binDir, b)} is missing (npm run build:control-plane)`);
  }
  if (problems.length > 0) {
    throw new Error(
      `e2e tests cannot run:\n  - ${problems.join("\n  - ")}\n` + "Install with `bash scripts/install.sh` and run the e2e layer as root.",
    );
  }
}
