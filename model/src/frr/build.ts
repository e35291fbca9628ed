// Builds the FRR view model from a node's BGP plan. Every decision about what FRR is told is made here; the
// templates only lay the lines out. Lines are produced in FRR 8.4's canonical form (what `show running-config`
// prints) and FRR's order, so that reloading an unchanged configuration is a no-op.
import { compareCidr, compareCommunity, type NodeBgpPlan, type PrefixAnnouncement } from "../bgp/plan.js";
import type { Community } from "../bgp/community.js";
import type { BFDProfile, Peer } from "../config/types.js";
import { formatCidr, type Cidr } from "../net/cidr.js";
import { formatIP, type IPFamily } from "../net/ip.js";
import type {
  FrrAddressFamily,
  FrrAddressFamilyNeighbor,
  FrrBfdProfile,
  FrrConfig,
  FrrLogging,
  FrrNeighbor,
  FrrNetwork,
  FrrPrefixList,
  FrrRouteMapEntry,
  FrrRouter,
  LogLevel,
} from "./types.js";

export interface BuildFrrOptions {
  readonly logLevel: LogLevel;
  /** MetalLB namespace, used in the comments naming the objects; default `metallb-system`. */
  readonly namespace?: string;
}

const DEFAULT_NAMESPACE = "metallb-system";
const DEFAULT_BGP_PORT = 179;
/** FRR 8.4 BFD defaults: lines with these values are not shown by `show running-config`, so they are not rendered. */
const BFD_DEFAULTS = { interval: 300, detectMultiplier: 3, echoInterval: 50, minimumTtl: 254 };
const FAMILIES: readonly IPFamily[] = ["IPv4", "IPv6"];

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** FRR's log level names; the default (debugging) is printed without a level. */
function loggingFor(level: LogLevel): FrrLogging {
  const names: Record<LogLevel, string> = {
    all: "debugging",
    debug: "debugging",
    info: "informational",
    warn: "warnings",
    error: "errors",
    none: "emergencies",
  };
  const name = names[level];
  return { hasLevel: name !== "debugging", level: name === "debugging" ? "" : name, debug: name === "debugging" };
}

/**
 * FRR's interface name order (lib/if.c if_cmp_name_func): non-digit runs compared as strings, digit runs as
 * numbers, so eth2 sorts before eth10.
 */
export function compareInterfaceNames(a: string, b: string): number {
  const split = (s: string): string[] => s.match(/[0-9]+|[^0-9]+/g) ?? [];
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    const numeric = /^[0-9]/.test(x) && /^[0-9]/.test(y);
    const d = numeric ? Number(x) - Number(y) : byString(x, y);
    if (d !== 0) return d;
  }
  return pa.length - pb.length;
}

/** FRR's neighbor order (bgpd peer_cmp): interface peers by name, then IPv4 numerically, then IPv6 numerically. */
export function compareNeighbors(a: Peer, b: Peer): number {
  if (a.interface !== null || b.interface !== null) {
    if (a.interface === null) return 1;
    if (b.interface === null) return -1;
    return compareInterfaceNames(a.interface, b.interface);
  }
  if (a.address === null || b.address === null) return 0;
  if (a.address.family !== b.address.family) return a.address.family === "IPv4" ? -1 : 1;
  return a.address.value < b.address.value ? -1 : a.address.value > b.address.value ? 1 : 0;
}

/** Address families a session carries: its own, or both for unnumbered and dualStackAddressFamily sessions. */
export function sessionFamilies(peer: Peer): readonly IPFamily[] {
  if (peer.interface !== null || peer.dualStackAddressFamily || peer.address === null) return FAMILIES;
  return [peer.address.family];
}

export function isIBGP(peer: Peer): boolean {
  return peer.dynamicASN === "internal" || (peer.dynamicASN === null && peer.peerASN === peer.myASN);
}

const neighborId = (peer: Peer): string => (peer.address !== null ? formatIP(peer.address) : (peer.interface ?? ""));

/** Base of the route-map and prefix-list names of a neighbor; unique across VRFs because filters are global. */
const filterBase = (peer: Peer): string => (peer.vrf === "" ? neighborId(peer) : `${neighborId(peer)}-${peer.vrf}`);

const familyWord = (f: IPFamily): string => (f === "IPv4" ? "ipv4" : "ipv6");
const prefixListKeyword = (f: IPFamily): string => (f === "IPv4" ? "ip" : "ipv6");

const WELL_KNOWN_COMMUNITIES: ReadonlyMap<number, string> = new Map([
  [0x00000000, "internet"],
  [0xffff0000, "graceful-shutdown"],
  [0xffff0001, "accept-own"],
  [0xffff0002, "route-filter-translated-v4"],
  [0xffff0003, "route-filter-v4"],
  [0xffff0004, "route-filter-translated-v6"],
  [0xffff0005, "route-filter-v6"],
  [0xffff0006, "llgr-stale"],
  [0xffff0007, "no-llgr"],
  [0xffff0008, "accept-own-nexthop"],
  [0xffff029a, "blackhole"],
  [0xffffff01, "no-export"],
  [0xffffff02, "no-advertise"],
  [0xffffff03, "local-AS"],
  [0xffffff04, "no-peer"],
]);

/** A community as FRR prints it in `set community`/`set large-community`: well-known legacy values by name. */
export function frrCommunityText(c: Community): string {
  if (c.kind === "large") return `${c.globalAdministrator}:${c.localData1}:${c.localData2}`;
  return WELL_KNOWN_COMMUNITIES.get(c.asn * 0x10000 + c.value) ?? `${c.asn}:${c.value}`;
}

/** The numeric text of a community, used in prefix-list names. */
const communityNameText = (c: Community): string =>
  c.kind === "legacy" ? `${c.asn}:${c.value}` : `${c.globalAdministrator}:${c.localData1}:${c.localData2}`;

interface Naming {
  readonly namespace: string;
}

const peerRef = (n: Naming, name: string): string => `BGPPeer ${n.namespace}/${name}`;
const advRefs = (n: Naming, names: Iterable<string>): string => {
  const sorted = [...new Set(names)].sort(byString);
  return sorted.length === 0 ? "" : ` (BGPAdvertisement ${sorted.map((a) => `${n.namespace}/${a}`).join(", ")})`;
};

function neighborFor(peer: Peer, n: Naming): FrrNeighbor {
  const ibgp = isIBGP(peer);
  const hasTimers = peer.holdTimeMs !== null && peer.keepaliveTimeMs !== null;
  return {
    comment: peerRef(n, peer.name),
    id: neighborId(peer),
    unnumbered: peer.interface !== null,
    remoteAs: peer.dynamicASN ?? String(peer.peerASN),
    hasLocalAs: peer.localASN !== null,
    localAs: peer.localASN ?? 0,
    bfd: peer.bfdProfile !== null,
    hasBfdProfile: peer.bfdProfile !== null,
    bfdProfile: peer.bfdProfile ?? "",
    hasPassword: peer.password !== "",
    passwordKey: peer.name,
    hasPort: peer.port !== DEFAULT_BGP_PORT,
    port: peer.port,
    ebgpMultihop: peer.ebgpMultiHop,
    // MetalLB disables the check for single-hop eBGP over IPv6; FRR refuses it on unnumbered (interface) peers.
    disableConnectedCheck: peer.address?.family === "IPv6" && !peer.ebgpMultiHop && !ibgp,
    hasUpdateSource: peer.sourceAddress !== null,
    updateSource: peer.sourceAddress === null ? "" : formatIP(peer.sourceAddress),
    hasTimers,
    keepaliveSeconds: hasTimers ? Math.trunc((peer.keepaliveTimeMs ?? 0) / 1000) : 0,
    holdSeconds: hasTimers ? Math.trunc((peer.holdTimeMs ?? 0) / 1000) : 0,
    hasConnectTime: peer.connectTimeMs !== null,
    connectSeconds: peer.connectTimeMs === null ? 0 : Math.trunc(peer.connectTimeMs / 1000),
    gracefulRestart: peer.enableGracefulRestart,
  };
}

/** What one neighbor advertises in one family. */
interface FamilyAdvertisements {
  readonly family: IPFamily;
  /** Sorted prefixes with the advertisements that sent them to this peer. */
  readonly prefixes: readonly { prefix: Cidr; advertisements: readonly string[] }[];
  /** LOCAL_PREF value → prefixes (iBGP only). */
  readonly localPrefs: ReadonlyMap<number, Cidr[]>;
  /** Community numeric text → community and prefixes. */
  readonly communities: ReadonlyMap<string, { community: Community; prefixes: Cidr[] }>;
}

function familyAdvertisements(peer: Peer, family: IPFamily, announcements: readonly PrefixAnnouncement[]): FamilyAdvertisements {
  const prefixes: { prefix: Cidr; advertisements: readonly string[] }[] = [];
  const localPrefs = new Map<number, Cidr[]>();
  const communities = new Map<string, { community: Community; prefixes: Cidr[] }>();
  for (const a of announcements) {
    if (a.prefix.family !== family) continue;
    const pa = a.peers.find((p) => p.peer === peer.name);
    if (pa === undefined) continue;
    prefixes.push({ prefix: a.prefix, advertisements: a.advertisements });
    if (pa.localPref !== 0 && isIBGP(peer)) localPrefs.set(pa.localPref, [...(localPrefs.get(pa.localPref) ?? []), a.prefix]);
    for (const c of pa.communities) {
      const key = communityNameText(c);
      const entry = communities.get(key) ?? { community: c, prefixes: [] };
      entry.prefixes.push(a.prefix);
      communities.set(key, entry);
    }
  }
  return { family, prefixes, localPrefs, communities };
}

const permitEntries = (prefixes: readonly Cidr[]): FrrPrefixList["entries"] =>
  [...prefixes].sort(compareCidr).map((p, i) => ({ seq: i + 1, action: "permit", prefix: formatCidr(p) }));

interface NeighborFilters {
  readonly prefixLists: Map<IPFamily, FrrPrefixList[]>;
  readonly routeMaps: FrrRouteMapEntry[];
}

interface FilterContext {
  readonly peer: Peer;
  readonly naming: Naming;
  readonly out: NeighborFilters;
  nextSeq: number;
}

function advsOf(fa: FamilyAdvertisements, prefixes: readonly Cidr[]): string[] {
  const wanted = new Set(prefixes.map(formatCidr));
  return fa.prefixes.filter((p) => wanted.has(formatCidr(p.prefix))).flatMap((p) => p.advertisements);
}

/** Adds a prefix list and the route-map entry matching it. */
function addFilter(ctx: FilterContext, family: IPFamily, list: FrrPrefixList, set: { onMatchNext: boolean; set: string }): void {
  ctx.out.prefixLists.get(family)?.push(list);
  ctx.out.routeMaps.push({
    comment: list.comment,
    name: `${filterBase(ctx.peer)}-out`,
    action: "permit",
    seq: ctx.nextSeq,
    hasMatch: true,
    matchFamily: prefixListKeyword(family),
    matchPrefixList: list.name,
    onMatchNext: set.onMatchNext,
    hasSet: set.set !== "",
    set: set.set,
  });
  ctx.nextSeq += 10;
}

function addFamilyFilters(ctx: FilterContext, fa: FamilyAdvertisements): void {
  const base = filterBase(ctx.peer);
  const fw = familyWord(fa.family);
  const who = peerRef(ctx.naming, ctx.peer.name);
  for (const [value, prefixes] of [...fa.localPrefs.entries()].sort(([a], [b]) => a - b)) {
    const comment = `${who}: ${fw} prefixes with local-preference ${value}${advRefs(ctx.naming, advsOf(fa, prefixes))}`;
    const list = { comment, family: prefixListKeyword(fa.family), name: `${base}-localpref-${value}-${fw}`, entries: permitEntries(prefixes) };
    addFilter(ctx, fa.family, list, { onMatchNext: true, set: `local-preference ${value}` });
  }
  for (const { community, prefixes } of [...fa.communities.values()].sort((a, b) => compareCommunity(a.community, b.community))) {
    const large = community.kind === "large";
    const what = large ? "large-community" : "community";
    const comment = `${who}: ${fw} prefixes with ${what} ${communityNameText(community)}${advRefs(ctx.naming, advsOf(fa, prefixes))}`;
    const list = { comment, family: prefixListKeyword(fa.family), name: `${base}-${what}-${communityNameText(community)}-${fw}`, entries: permitEntries(prefixes) };
    addFilter(ctx, fa.family, list, { onMatchNext: true, set: `${what} ${frrCommunityText(community)} additive` });
  }
  const allowed = fa.prefixes.map((p) => p.prefix);
  const comment = allowed.length === 0
    ? `${who}: no ${fw} prefix to advertise`
    : `${who}: ${fw} prefixes to advertise${advRefs(ctx.naming, fa.prefixes.flatMap((p) => p.advertisements))}`;
  const entries: FrrPrefixList["entries"] = allowed.length === 0 ? [{ seq: 1, action: "deny", prefix: "any" }] : permitEntries(allowed);
  addFilter(ctx, fa.family, { comment, family: prefixListKeyword(fa.family), name: `${base}-allowed-${fw}`, entries }, { onMatchNext: false, set: "" });
}

/** Prefix lists and route-maps of one neighbor: deny everything received; send only the planned prefixes, tagged. */
function neighborFilters(peer: Peer, announcements: readonly PrefixAnnouncement[], naming: Naming): NeighborFilters {
  const out: NeighborFilters = { prefixLists: new Map([["IPv4", []], ["IPv6", []]]), routeMaps: [] };
  out.routeMaps.push({
    comment: `${peerRef(naming, peer.name)}: accept no route from the peer`,
    name: `${filterBase(peer)}-in`,
    action: "deny",
    seq: 10,
    hasMatch: false,
    matchFamily: "",
    matchPrefixList: "",
    onMatchNext: false,
    hasSet: false,
    set: "",
  });
  const ctx: FilterContext = { peer, naming, out, nextSeq: 10 };
  for (const family of sessionFamilies(peer)) addFamilyFilters(ctx, familyAdvertisements(peer, family, announcements));
  return out;
}

function networksFor(family: IPFamily, peers: readonly Peer[], announcements: readonly PrefixAnnouncement[], naming: Naming): FrrNetwork[] {
  const names = new Set(peers.filter((p) => sessionFamilies(p).includes(family)).map((p) => p.name));
  return announcements
    .filter((a) => a.prefix.family === family && a.peers.some((p) => names.has(p.peer)))
    .map((a) => ({ comment: `Service ${a.services.join(", ")}${advRefs(naming, a.advertisements)}`, prefix: formatCidr(a.prefix) }));
}

function addressFamiliesFor(peers: readonly Peer[], announcements: readonly PrefixAnnouncement[], naming: Naming): FrrAddressFamily[] {
  const result: FrrAddressFamily[] = [];
  for (const family of FAMILIES) {
    const neighbors: FrrAddressFamilyNeighbor[] = peers
      .filter((p) => sessionFamilies(p).includes(family))
      .map((p) => ({ comment: peerRef(naming, p.name), id: neighborId(p), routeMapIn: `${filterBase(p)}-in`, routeMapOut: `${filterBase(p)}-out` }));
    const networks = networksFor(family, peers, announcements, naming);
    if (neighbors.length > 0 || networks.length > 0) result.push({ name: `${familyWord(family)} unicast`, networks, neighbors });
  }
  return result;
}

interface RouterGroup {
  readonly asn: number;
  readonly routerId: string;
  readonly vrf: string;
  readonly peers: Peer[];
}

/** One router per (myASN, routerID, VRF): default VRF first, then VRFs by name. */
function routerGroups(sessions: readonly Peer[]): RouterGroup[] {
  const groups = new Map<string, RouterGroup>();
  for (const peer of sessions) {
    const routerId = peer.routerID === null ? "" : formatIP(peer.routerID);
    const key = `${peer.vrf}|${peer.myASN}|${routerId}`;
    const group = groups.get(key) ?? { asn: peer.myASN, routerId, vrf: peer.vrf, peers: [] };
    group.peers.push(peer);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => byString(a.vrf, b.vrf) || a.asn - b.asn || byString(a.routerId, b.routerId));
}

function routerFor(group: RouterGroup, announcements: readonly PrefixAnnouncement[], naming: Naming): FrrRouter {
  const peers = [...group.peers].sort(compareNeighbors);
  const names = [...group.peers.map((p) => `${naming.namespace}/${p.name}`)].sort(byString);
  return {
    comment: `BGP instance for BGPPeer ${names.join(", ")}`,
    asn: group.asn,
    hasVrf: group.vrf !== "",
    vrf: group.vrf,
    hasRouterId: group.routerId !== "",
    routerId: group.routerId,
    neighbors: peers.map((p) => neighborFor(p, naming)),
    addressFamilies: addressFamiliesFor(peers, announcements, naming),
  };
}

function bfdProfileFor(p: BFDProfile, naming: Naming): FrrBfdProfile {
  const set = (v: number | null, dflt: number): boolean => v !== null && v !== dflt;
  return {
    comment: `BFDProfile ${naming.namespace}/${p.name}`,
    name: p.name,
    hasDetectMultiplier: set(p.detectMultiplier, BFD_DEFAULTS.detectMultiplier),
    detectMultiplier: p.detectMultiplier ?? BFD_DEFAULTS.detectMultiplier,
    hasTransmitInterval: set(p.transmitIntervalMs, BFD_DEFAULTS.interval),
    transmitInterval: p.transmitIntervalMs ?? BFD_DEFAULTS.interval,
    hasReceiveInterval: set(p.receiveIntervalMs, BFD_DEFAULTS.interval),
    receiveInterval: p.receiveIntervalMs ?? BFD_DEFAULTS.interval,
    passiveMode: p.passiveMode,
    echoMode: p.echoMode,
    hasEchoInterval: set(p.echoIntervalMs, BFD_DEFAULTS.echoInterval),
    echoInterval: p.echoIntervalMs ?? BFD_DEFAULTS.echoInterval,
    hasMinimumTtl: set(p.minimumTtl, BFD_DEFAULTS.minimumTtl),
    minimumTtl: p.minimumTtl ?? BFD_DEFAULTS.minimumTtl,
  };
}

/**
 * Builds the FRR configuration of a node from its BGP plan and the BFD profiles of the configuration (all of them
 * are rendered, used or not, as MetalLB does). Deterministic: equal inputs give equal output, whatever the order of
 * the input lists.
 */
export function buildFrrConfig(plan: NodeBgpPlan, bfdProfiles: readonly BFDProfile[], opts: BuildFrrOptions): FrrConfig {
  const naming: Naming = { namespace: opts.namespace ?? DEFAULT_NAMESPACE };
  const routers = routerGroups(plan.sessions).map((g) => routerFor(g, plan.announcements, naming));
  const orderedPeers = routerGroups(plan.sessions).flatMap((g) => [...g.peers].sort(compareNeighbors));
  const ipPrefixLists: FrrPrefixList[] = [];
  const ipv6PrefixLists: FrrPrefixList[] = [];
  const routeMaps: FrrRouteMapEntry[] = [];
  for (const peer of orderedPeers) {
    const filters = neighborFilters(peer, plan.announcements, naming);
    ipPrefixLists.push(...(filters.prefixLists.get("IPv4") ?? []));
    ipv6PrefixLists.push(...(filters.prefixLists.get("IPv6") ?? []));
    routeMaps.push(...filters.routeMaps);
  }
  const profiles = [...bfdProfiles].sort((a, b) => byString(a.name, b.name)).map((p) => bfdProfileFor(p, naming));
  return {
    header: [`FRR configuration of node ${plan.node}, generated by metallb-ts: do not edit.`],
    log: loggingFor(opts.logLevel),
    routers,
    hasIpPrefixLists: ipPrefixLists.length > 0,
    ipPrefixLists,
    hasIpv6PrefixLists: ipv6PrefixLists.length > 0,
    ipv6PrefixLists,
    routeMaps,
    hasBfdProfiles: profiles.length > 0,
    bfdProfiles: profiles,
  };
}
