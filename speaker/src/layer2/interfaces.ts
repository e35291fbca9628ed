// The node's interfaces a Layer 2 IP may be announced on (MetalLB internal/layer2/announcer.go): up, not loopback,
// an Ethernet MAC, ARP enabled and not enslaved to a bridge or bond. Read from /sys/class/net, which shows the
// speaker's own network namespace (hostNetwork in production; `ip netns exec` remounts it in the e2e).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface NodeInterface {
  name: string;
  mac: string;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_NOARP = 0x80;
const ARPHRD_ETHER = 1;

function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Up, non-loopback Ethernet interfaces with ARP, not enslaved; sorted by name. */
export function listAnnounceInterfaces(sysNet = "/sys/class/net"): NodeInterface[] {
  let names: string[];
  try {
    names = readdirSync(sysNet);
  } catch {
    return [];
  }
  const out: NodeInterface[] = [];
  for (const name of names.sort()) {
    const dir = join(sysNet, name);
    const flags = Number.parseInt(read(dir, "flags") ?? "0", 16);
    const type = Number.parseInt(read(dir, "type") ?? "0", 10);
    const mac = read(dir, "address") ?? "";
    if ((flags & IFF_UP) === 0 || (flags & IFF_LOOPBACK) !== 0 || (flags & IFF_NOARP) !== 0) continue;
    if (type !== ARPHRD_ETHER || mac === "" || mac === "00:00:00:00:00:00") continue;
    if (existsSync(join(dir, "master"))) continue;
    out.push({ name, mac });
  }
  return out;
}

/**
 * The interfaces to announce an IP on: the entry's list (those that exist locally) or every usable interface when
 * the list is empty; both restricted to `allow` when an allow-list is configured.
 */
export function selectInterfaces(entryInterfaces: readonly string[], available: readonly NodeInterface[], allow: readonly string[] | null): string[] {
  const usable = available.map((i) => i.name).filter((n) => allow === null || allow.includes(n));
  if (entryInterfaces.length === 0) return usable;
  return usable.filter((n) => entryInterfaces.includes(n));
}
