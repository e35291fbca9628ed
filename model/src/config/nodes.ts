// Nodes as the configuration sees them: their labels feed the selectors (selectors.ts, `named` in parse-config.ts),
// their `status.addresses` the plan (the BGP router ID of a node whose BGPPeers set none, bgp/plan.ts).
import type { Entry } from "./entries.js";
import { field, isRawObject } from "./raw.js";
import type { NodeAddress, NodeInfo } from "./types.js";

/**
 * A Node's `status.addresses`, in the Node's order, as plain data. Nodes are not MetalLB objects: an entry without a
 * string `type` and `address` is left out, never reported (it must not invalidate the MetalLB configuration).
 */
export function nodeInfoFromEntry(e: Entry): NodeInfo {
  const status = field(e.object, "status");
  const list = isRawObject(status) ? field(status, "addresses") : undefined;
  const addresses: NodeAddress[] = [];
  for (const item of Array.isArray(list) ? (list as readonly unknown[]) : []) {
    if (!isRawObject(item)) continue;
    const type = field(item, "type");
    const address = field(item, "address");
    if (typeof type === "string" && typeof address === "string") addresses.push({ type, address });
  }
  return { name: e.name, addresses };
}

/** The named Nodes, sorted by name; the first of two with one name wins (the API server allows no duplicates). */
export function nodeInfosFromEntries(entries: readonly Entry[]): NodeInfo[] {
  const seen = new Set<string>();
  const out: NodeInfo[] = [];
  for (const e of entries) {
    if (e.name === "" || seen.has(e.name)) continue;
    seen.add(e.name);
    out.push(nodeInfoFromEntry(e));
  }
  return out;
}
