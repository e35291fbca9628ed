// A small HTTP server inside a lab node's namespace answering on a Service IP put on the node's `lo` (as kube-proxy's
// IPVS mode does): the backend of the demo's and the drain lab's Services, with the ARP sysctls a node answering
// for a VIP on `lo` needs (set inside the lab namespace only).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BgpLab } from "./bgp-lab.js";
import { spawnLogged, waitFor } from "./proc.js";

export async function serveHttpOnNode(bgp: BgpLab, node: string, vip: string): Promise<void> {
  const { lab } = bgp;
  const dir = join(lab.dir, `www-${node}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.html"), `hello from ${node}\n`);
  await lab.exec(node, "sysctl", ["-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"]);
  await lab.exec(node, "ip", ["addr", "replace", `${vip}/32`, "dev", "lo"]);
  spawnLogged(
    "ip",
    ["netns", "exec", lab.host(node).netns, "python3", "-m", "http.server", "80", "--bind", "0.0.0.0", "--directory", dir],
    join(lab.dir, `www-${node}.log`),
  );
  await waitFor(
    `HTTP server on ${node}`,
    async () => ((await lab.exec(node, "curl", ["-s", "-m", "1", `http://${vip}/`], { allowFail: true })).stdout.includes("hello") ? true : undefined),
    10_000,
    100,
  );
}
