import { EVERYTHING } from "../labels/selector.js";
import { cidrsOverlap, formatCidr, parsePoolAddress, type Cidr } from "../net/cidr.js";
import type { Entry } from "./entries.js";
import type { Reporter } from "./problems.js";
import { field, INT32, readBool, readInt, readObject, readStringList, reportDuplicates, type RawObject } from "./raw.js";
import { readSelectorList, selectNames, type Labelled } from "./selectors.js";
import type { Pool, PoolAddress, ServiceAllocation } from "./types.js";

/** The parsed address entries of a pool, kept even when other fields are invalid (for the overlap check). */
export interface ParsedPool {
  readonly entry: Entry;
  readonly addresses: readonly (PoolAddress & { readonly index: number })[];
  /** Null if the pool has problems. */
  readonly pool: Pool | null;
}

function addressesFromSpec(spec: RawObject, r: Reporter): (PoolAddress & { index: number })[] {
  const rawAddresses = field(spec, "addresses");
  const items = readStringList(spec, "addresses", "spec", r);
  if (Array.isArray(rawAddresses) && rawAddresses.length === 0) r.permanent("spec.addresses", "pool has no prefixes defined");
  else if (rawAddresses === undefined || rawAddresses === null) r.permanent("spec.addresses", "pool has no prefixes defined");
  const result: (PoolAddress & { index: number })[] = [];
  for (const { value, index } of items) {
    const cidrs = parsePoolAddress(value);
    if (cidrs.ok) result.push({ text: value, cidrs: cidrs.value, index });
    else r.permanent(`spec.addresses[${index}]`, cidrs.error);
  }
  return result;
}

/** `spec.serviceAllocation` (MetalLB's addressPoolServiceAllocationsFromCR). */
function serviceAllocationFromSpec(spec: RawObject, namespaces: readonly Labelled[], r: Reporter): ServiceAllocation | null {
  const raw = readObject(spec, "serviceAllocation", "spec", r);
  if (raw === undefined) return null;
  const path = "spec.serviceAllocation";
  const priority = readInt(raw, "priority", path, r, INT32) ?? 0;
  const listed = readStringList(raw, "namespaces", path, r);
  reportDuplicates(listed, `${path}.namespaces`, "namespace in namespaces field", r);
  const namespaceSelectors = readSelectorList(raw, "namespaceSelectors", path, r) ?? [];
  const serviceSelectors = readSelectorList(raw, "serviceSelectors", path, r) ?? [];
  const selected = namespaceSelectors.length === 0 ? [] : selectNames(namespaces, namespaceSelectors);
  const allNamespaces = [...new Set([...listed.map((n) => n.value), ...selected])].sort();
  const unconstrained = listed.length === 0 && namespaceSelectors.length === 0 && serviceSelectors.length === 0;
  return {
    priority,
    namespaces: allNamespaces,
    namespaceSelectors,
    serviceSelectors: unconstrained ? [EVERYTHING] : serviceSelectors,
  };
}

/** Converts an IPAddressPool (MetalLB's addressPoolFromCR). */
export function poolFromResource(e: Entry, namespaces: readonly Labelled[]): ParsedPool {
  const r = e.reporter;
  const addresses = addressesFromSpec(e.spec, r);
  const autoAssign = readBool(e.spec, "autoAssign", "spec", r) ?? true;
  const avoidBuggyIPs = readBool(e.spec, "avoidBuggyIPs", "spec", r) ?? false;
  const serviceAllocation = serviceAllocationFromSpec(e.spec, namespaces, r);
  const cidrs = addresses.flatMap((a) => a.cidrs);
  const pool: Pool = {
    name: e.name,
    labels: e.labels,
    addresses: addresses.map(({ text, cidrs: c }) => ({ text, cidrs: c })),
    cidrs,
    ipv4: cidrs.filter((c) => c.family === "IPv4"),
    ipv6: cidrs.filter((c) => c.family === "IPv6"),
    autoAssign,
    avoidBuggyIPs,
    serviceAllocation,
  };
  return { entry: e, addresses, pool: r.count() === 0 ? pool : null };
}

interface DefinedCidr {
  readonly cidr: Cidr;
  readonly pool: string;
}

/**
 * Rule C.2: no CIDR may overlap another CIDR of any pool, including the same pool. Pools are visited in name order;
 * each address entry is reported once, against the first earlier CIDR it overlaps.
 * Returns the names of pools with an overlap.
 */
export function reportOverlappingCidrs(pools: readonly ParsedPool[]): Set<string> {
  const defined: DefinedCidr[] = [];
  const overlapping = new Set<string>();
  for (const { entry, addresses } of pools) {
    for (const address of addresses) {
      const clash = address.cidrs.map((cidr) => ({ cidr, other: defined.find((d) => cidrsOverlap(d.cidr, cidr)) })).find((c) => c.other !== undefined);
      if (clash?.other !== undefined) {
        overlapping.add(entry.name);
        entry.reporter.permanent(
          `spec.addresses[${address.index}]`,
          `CIDR ${JSON.stringify(formatCidr(clash.cidr))} in pool ${JSON.stringify(entry.name)} overlaps with already defined ` +
            `CIDR ${JSON.stringify(formatCidr(clash.other.cidr))}` +
            (clash.other.pool === entry.name ? " in the same pool" : ` in pool ${JSON.stringify(clash.other.pool)}`),
        );
      }
      for (const cidr of address.cidrs) defined.push({ cidr, pool: entry.name });
    }
  }
  return overlapping;
}
