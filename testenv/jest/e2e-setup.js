// Preconditions of the e2e layer: root (network namespaces, raw sockets, FRR), iproute2 and Debian's frr.
// (Plain JS: jest loads global setup through Node's loader, which cannot import TypeScript.)
import { existsSync } from "node:fs";

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
  ];
  for (const [path, pkg] of needs) if (!existsSync(path)) problems.push(`${path} is missing (Debian package ${pkg})`);
  if (problems.length > 0) {
    throw new Error(
      `e2e tests cannot run:\n  - ${problems.join("\n  - ")}\n` + "Install with `bash scripts/install.sh` and run the e2e layer as root.",
    );
  }
}
