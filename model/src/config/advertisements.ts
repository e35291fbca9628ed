import { formatCommunity, parseCommunity, type Community } from "../bgp/community.js";
import { parseLabelSelector, type LabelSelector } from "../labels/selector.js";
import type { Entry } from "./entries.js";
import { joinField, type Reporter } from "./problems.js";
import { describeType, field, INT32, isRawObject, readInt, readList, readStringList, reportDuplicates, UINT32, type RawObject } from "./raw.js";
import { readSelectorList, selectNames, type Labelled } from "./selectors.js";
import type { BGPAdvertisement, L2Advertisement, PreferredNodeSelector } from "./types.js";

export interface AdvertisementContext {
  /** Every pool with a name, valid or not, so that an invalid pool does not make its advertisements fail too. */
  readonly pools: readonly Labelled[];
  readonly nodes: readonly Labelled[];
  readonly communities: ReadonlyMap<string, Community>;
}

interface CommonFields {
  readonly pools: string[];
  readonly nodeSelectors: readonly LabelSelector[];
  readonly nodes: string[];
  readonly serviceSelectors: readonly LabelSelector[];
}

/** Pools named in `ipAddressPools` (unknown names ignored) ∪ pools matched by `ipAddressPoolSelectors`; all when both are empty. */
function commonFieldsFromSpec(spec: RawObject, ctx: AdvertisementContext, r: Reporter): CommonFields {
  const names = readStringList(spec, "ipAddressPools", "spec", r);
  reportDuplicates(names, "spec.ipAddressPools", "ipAddressPools", r);
  const poolSelectors = readSelectorList(spec, "ipAddressPoolSelectors", "spec", r) ?? [];
  const nodeSelectors = readSelectorList(spec, "nodeSelectors", "spec", r) ?? [];
  const serviceSelectors = readSelectorList(spec, "serviceSelectors", "spec", r) ?? [];
  const rawSelectors = field(spec, "ipAddressPoolSelectors");
  const rawSelectorCount = Array.isArray(rawSelectors) ? rawSelectors.length : 0;
  let pools: string[];
  if (names.length === 0 && rawSelectorCount === 0) pools = ctx.pools.map((p) => p.name);
  else {
    const known = new Set(ctx.pools.map((p) => p.name));
    const byName = names.map((n) => n.value).filter((n) => known.has(n));
    const bySelector = poolSelectors.length === 0 ? [] : selectNames(ctx.pools, poolSelectors);
    pools = [...byName, ...bySelector];
  }
  return {
    pools: [...new Set(pools)].sort(),
    nodeSelectors,
    nodes: selectNames(ctx.nodes, nodeSelectors),
    serviceSelectors,
  };
}

function preferredNodeSelectorsFromSpec(spec: RawObject, r: Reporter): PreferredNodeSelector[] {
  const result: PreferredNodeSelector[] = [];
  readList(spec, "preferredNodeSelectors", "spec", r).forEach((item, i) => {
    const path = `spec.preferredNodeSelectors[${i}]`;
    if (!isRawObject(item)) {
      r.permanent(path, `must be an object with weight and preference, got ${describeType(item)}`);
      return;
    }
    const weight = readInt(item, "weight", path, r, { min: 1, max: 100 });
    if (field(item, "weight") === undefined) r.permanent(`${path}.weight`, "weight is required");
    const preference = parseLabelSelector(field(item, "preference"));
    if (!preference.ok) {
      for (const p of preference.error) r.permanent(joinField(`${path}.preference`, p.field), p.message);
      return;
    }
    if (weight !== undefined) result.push({ weight, preference: preference.value });
  });
  return result;
}

/** Converts an L2Advertisement (MetalLB's l2AdvertisementFromCR); null if it has problems. */
export function l2AdvertisementFromResource(e: Entry, ctx: AdvertisementContext): L2Advertisement | null {
  const r = e.reporter;
  const common = commonFieldsFromSpec(e.spec, ctx, r);
  const interfaces = readStringList(e.spec, "interfaces", "spec", r);
  reportDuplicates(interfaces, "spec.interfaces", "interfaces", r);
  const adv: L2Advertisement = {
    name: e.name,
    ...common,
    interfaces: interfaces.map((i) => i.value),
    preferredNodeSelectors: preferredNodeSelectorsFromSpec(e.spec, r),
  };
  return r.count() === 0 ? adv : null;
}

/**
 * Resolves one `communities` entry: an alias of a Community object, else a literal value. A string without ':' that
 * names no alias is a dangling alias reference (transient); a malformed literal is permanent.
 */
function communityFromString(text: string, path: string, ctx: AdvertisementContext, r: Reporter): Community | null {
  const alias = ctx.communities.get(text);
  if (alias !== undefined) return alias;
  const parsed = parseCommunity(text);
  if (parsed.ok) return parsed.value;
  if (parsed.error.reason === "format") {
    r.transient(path, `invalid community ${JSON.stringify(text)} in BGP advertisement: no Community alias named ${JSON.stringify(text)} exists`);
  } else {
    r.permanent(path, `invalid community ${JSON.stringify(text)} in BGP advertisement: ${parsed.error.message}`);
  }
  return null;
}

function communitiesFromSpec(spec: RawObject, ctx: AdvertisementContext, r: Reporter): Community[] {
  const items = readStringList(spec, "communities", "spec", r);
  reportDuplicates(items, "spec.communities", "community", r);
  const byText = new Map<string, Community>();
  for (const { value, index } of items) {
    const c = communityFromString(value, `spec.communities[${index}]`, ctx, r);
    if (c !== null) byText.set(formatCommunity(c), c);
  }
  return [...byText.keys()].sort().map((k) => byText.get(k) as Community);
}

const SELECTOR_AGGREGATION_MESSAGE =
  "serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)";

function aggregationFromSpec(spec: RawObject, hasServiceSelectors: boolean, r: Reporter): { v4: number; v6: number } {
  const v4 = readInt(spec, "aggregationLength", "spec", r, { min: 1, max: INT32.max }) ?? 32;
  const v6 = readInt(spec, "aggregationLengthV6", "spec", r, INT32) ?? 128;
  if (v4 > 32) r.permanent("spec.aggregationLength", `invalid aggregation length ${v4} for IPv4`);
  if (v6 < 0 || v6 > 128) r.permanent("spec.aggregationLengthV6", `invalid aggregation length ${v6} for IPv6`);
  if (hasServiceSelectors && (v4 !== 32 || v6 !== 128)) r.permanent("spec.serviceSelectors", SELECTOR_AGGREGATION_MESSAGE);
  return { v4, v6 };
}

/** Converts a BGPAdvertisement (MetalLB's bgpAdvertisementFromCR); per-pool checks are in `reportBGPAdvertisementPoolConflicts`. */
export function bgpAdvertisementFromResource(e: Entry, ctx: AdvertisementContext): BGPAdvertisement | null {
  const r = e.reporter;
  const common = commonFieldsFromSpec(e.spec, ctx, r);
  const aggregation = aggregationFromSpec(e.spec, common.serviceSelectors.length > 0, r);
  const localPref = readInt(e.spec, "localPref", "spec", r, UINT32) ?? 0;
  const communities = communitiesFromSpec(e.spec, ctx, r);
  const peers = readStringList(e.spec, "peers", "spec", r);
  reportDuplicates(peers, "spec.peers", "peers", r);
  const adv: BGPAdvertisement = {
    name: e.name,
    ...common,
    aggregationLength: aggregation.v4,
    aggregationLengthV6: aggregation.v6,
    localPref,
    communities,
    peers: peers.map((p) => p.value),
  };
  return r.count() === 0 ? adv : null;
}
