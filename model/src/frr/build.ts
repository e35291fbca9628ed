// Builds the FRR view model from a node's BGP plan. Every decision about what FRR is told is made here; the
// templates only lay the lines out. Lines are produced in FRR 8.4's canonical form (what `show running-config`
// prints) and FRR's order, so that reloading an unchanged configuration is a no-op.
import { compareCidr, type NodeBgpPlan, type PrefixAnnouncement } from "../bgp/plan.js";
import type { Community } from "../bgp/community.js";
import type { BFDProfile, Peer } from "../config/types.js";
import { formatCidr } from "../net/cidr.js";
import { formatIP, type IPFamily } from "../net/ip.js";
import type {
  FrrAddressFamily,
  FrrAddressFamilyNeighbor,
  FrrBfdProfile,
  FrrConfig,
  FrrLogging,
  FrrNeighbor,
  FrrNetwork,
  FrrRouteMapEntry,
  FrrRouter,
  LogLevel,
} from "./types.js";

export interface BuildFrrOptions {
  readonly logLevel: LogLevel;
  /** MetalLB namespace, used in the comments naming the objects; default `metallb-system`. */
  readonly namespace?: string;
  /** Graceful shutdown whatever the plan says (the speaker is stopping). */
  readonly gracefulShutdown?: boolean;
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

/** The numeric text of a community (class signatures). */
const communityNameText = (c: Community): string => (c.kind === "legacy" ? `${c.asn}:${c.value}` : `${c.globalAdministrator}:${c.localData1}:${c.localData2}`);

interface Naming {
  readonly namespace: string;
}

const peerRef = (n: Naming, name: string): string => `BGPPeer ${n.namespace}/${name}`;
const peerRefs = (n: Naming, names: readonly string[]): string => `BGPPeer ${names.map((p) => `${n.namespace}/${p}`).join(", ")}`;
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
    // Without it, bgpd's restart takes BFD down with it, and the peer drops the session and the routes that graceful
    // restart was meant to keep (issue 17).
    bfdCheckControlPlaneFailure: peer.bfdProfile !== null && peer.enableGracefulRestart,
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

// ---------------------------------------------------------------------------------------------------------------
// Prefix classes
//
// The outbound policy must not grow with the number of Services: FRR 8.4 builds big prefix-lists in quadratic time
// (2,000 entries ≈ 2 minutes, bench/README.md). So prefixes that get exactly the same treatment towards every peer
// form a class; each prefix is originated with `network <prefix> route-map class-<id>`, whose only action is
// `set tag <id>` (the route tag is local to the router, never sent in BGP), and each peer's `-out` route-map has one
// `permit <id>` entry per class it receives (`match tag <id>` + the class's sets for that peer) and a final
// `deny 65535`. The number of classes depends on the BGPAdvertisements and peers, not on the number of Services.
//
// A class id is a hash of the class's signature (its canonical treatment text), so it does not move when other
// classes come and go: adding or removing Services rewrites only their own `network` lines. A treatment that changes
// (a BGPAdvertisement's communities, a new peer) gives a new class, i.e. the prefixes' `network` lines are rewritten
// to the new class route-map, which bgpd applies at once (changing the `set` lines of a live route-map entry would
// take effect only after bgpd's route-map delay timer, 5 s).

/** Route-map sequence numbers are 1..65535: class ids use 1..65534, 65535 is each `-out` route-map's final deny. */
const CLASS_ID_COUNT = 65534;
const FINAL_DENY_SEQ = 65535;
const CLASS_ROUTE_MAP_SEQ = 10;

/** How the prefixes of a class are sent to one peer. */
export interface PeerTreatment {
  readonly peer: Peer;
  /** LOCAL_PREF set on the route (iBGP peers only); 0 = not set. */
  readonly localPref: number;
  /** Legacy then large communities, sorted (compareCommunity). */
  readonly communities: readonly Community[];
}

/** Prefixes that get exactly the same treatment towards every peer. */
export interface PrefixClass {
  /** Route tag and sequence number of the class's entry in the peers' `-out` route-maps (1..65534). */
  readonly id: number;
  /** Canonical text of the treatments, the input of the id, e.g. `peer-a community 100:5; peer-b`. */
  readonly signature: string;
  /** By peer name. */
  readonly treatments: readonly PeerTreatment[];
  /** Sorted (compareCidr). */
  readonly prefixes: readonly PrefixAnnouncement[];
  /** BGPAdvertisements behind the prefixes, sorted. */
  readonly advertisements: readonly string[];
}

/** 32-bit FNV-1a of the UTF-8 bytes of `text`. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

function treatmentText(t: PeerTreatment): string {
  const legacy = t.communities.filter((c) => c.kind === "legacy").map(communityNameText);
  const large = t.communities.filter((c) => c.kind === "large").map(communityNameText);
  return [
    t.peer.name,
    ...(t.localPref !== 0 ? [`local-preference ${t.localPref}`] : []),
    ...(legacy.length > 0 ? [`community ${legacy.join(" ")}`] : []),
    ...(large.length > 0 ? [`large-community ${large.join(" ")}`] : []),
  ].join(" ");
}

/** The peers (of this node's sessions, carrying the prefix's family) receiving a prefix, and how. */
function treatmentsOf(a: PrefixAnnouncement, sessionsByName: ReadonlyMap<string, Peer>): PeerTreatment[] {
  const out: PeerTreatment[] = [];
  for (const pa of a.peers) {
    const peer = sessionsByName.get(pa.peer);
    if (peer === undefined || !sessionFamilies(peer).includes(a.prefix.family)) continue;
    out.push({ peer, localPref: isIBGP(peer) ? pa.localPref : 0, communities: pa.communities });
  }
  return out.sort((x, y) => byString(x.peer.name, y.peer.name));
}

/**
 * Groups the announced prefixes into classes (prefixes no peer receives are in none) and numbers them: each class's
 * id is derived from its signature; colliding signatures take the next free id, in signature order. Deterministic
 * and independent of the order of the inputs.
 */
export function classifyPrefixes(sessions: readonly Peer[], announcements: readonly PrefixAnnouncement[]): PrefixClass[] {
  const sessionsByName = new Map(sessions.map((p) => [p.name, p]));
  const groups = new Map<string, { treatments: PeerTreatment[]; prefixes: PrefixAnnouncement[] }>();
  for (const a of announcements) {
    const treatments = treatmentsOf(a, sessionsByName);
    if (treatments.length === 0) continue;
    const signature = treatments.map(treatmentText).join("; ");
    const group = groups.get(signature) ?? { treatments, prefixes: [] };
    group.prefixes.push(a);
    groups.set(signature, group);
  }
  const taken = new Set<number>();
  const classes: PrefixClass[] = [];
  for (const signature of [...groups.keys()].sort(byString)) {
    const group = groups.get(signature);
    if (group === undefined) continue;
    let id = (fnv1a32(signature) % CLASS_ID_COUNT) + 1;
    while (taken.has(id)) id = (id % CLASS_ID_COUNT) + 1;
    taken.add(id);
    classes.push({
      id,
      signature,
      treatments: group.treatments,
      prefixes: [...group.prefixes].sort((x, y) => compareCidr(x.prefix, y.prefix)),
      advertisements: [...new Set(group.prefixes.flatMap((p) => p.advertisements))].sort(byString),
    });
  }
  return classes.sort((x, y) => x.id - y.id);
}

const classRouteMapName = (c: PrefixClass): string => `class-${c.id}`;

/** `route-map class-<id> permit 10` + `set tag <id>`: the route-map of the class's `network` lines. */
function classRouteMap(c: PrefixClass, naming: Naming): FrrRouteMapEntry {
  return {
    comment: `Class ${c.id}: prefixes advertised to ${peerRefs(
      naming,
      c.treatments.map((t) => t.peer.name),
    )}${advRefs(naming, c.advertisements)}`,
    name: classRouteMapName(c),
    action: "permit",
    seq: CLASS_ROUTE_MAP_SEQ,
    hasMatchTag: false,
    matchTag: 0,
    sets: [`tag ${c.id}`],
  };
}

/** The `set` lines of a class towards one peer, in the order FRR prints them. */
function treatmentSets(t: PeerTreatment): string[] {
  const legacy = t.communities.filter((c) => c.kind === "legacy").map(frrCommunityText);
  const large = t.communities.filter((c) => c.kind === "large").map(frrCommunityText);
  return [
    ...(legacy.length > 0 ? [`community ${legacy.join(" ")} additive`] : []),
    ...(large.length > 0 ? [`large-community ${large.join(" ")} additive`] : []),
    ...(t.localPref !== 0 ? [`local-preference ${t.localPref}`] : []),
  ];
}

/** Route-maps of one neighbor: deny everything received; send the classes it receives, each with its sets. */
function neighborRouteMaps(peer: Peer, classes: readonly PrefixClass[], naming: Naming): FrrRouteMapEntry[] {
  const who = peerRef(naming, peer.name);
  const noMatch = { hasMatchTag: false, matchTag: 0, sets: [] };
  const entries: FrrRouteMapEntry[] = [
    { comment: `${who}: accept no route from the peer`, name: `${filterBase(peer)}-in`, action: "deny", seq: 10, ...noMatch },
  ];
  const out = `${filterBase(peer)}-out`;
  let received = 0;
  for (const c of classes) {
    const t = c.treatments.find((x) => x.peer.name === peer.name);
    if (t === undefined) continue;
    received++;
    entries.push({
      comment: `${who}: class ${c.id} prefixes${advRefs(naming, c.advertisements)}`,
      name: out,
      action: "permit",
      seq: c.id,
      hasMatchTag: true,
      matchTag: c.id,
      sets: treatmentSets(t),
    });
  }
  // Always present, so the route-map exists whatever the classes (FRR warns about a neighbor's missing route-map)
  // and is never deleted and re-created when a peer's last class goes and a new one comes.
  const comment = received === 0 ? `${who}: no prefix to advertise` : `${who}: advertise nothing else (untagged routes, e.g. learned from peers)`;
  entries.push({ comment, name: out, action: "deny", seq: FINAL_DENY_SEQ, ...noMatch });
  return entries;
}

function networksFor(family: IPFamily, peers: readonly Peer[], classes: readonly PrefixClass[], naming: Naming): FrrNetwork[] {
  const names = new Set(peers.map((p) => p.name));
  return classes
    .flatMap((c) => (c.treatments.some((t) => names.has(t.peer.name)) ? c.prefixes.map((a) => ({ a, c })) : []))
    .filter(({ a }) => a.prefix.family === family)
    .sort((x, y) => compareCidr(x.a.prefix, y.a.prefix))
    .map(({ a, c }) => ({
      comment: `Service ${a.services.join(", ")}${advRefs(naming, a.advertisements)}`,
      prefix: formatCidr(a.prefix),
      routeMap: classRouteMapName(c),
    }));
}

function addressFamiliesFor(peers: readonly Peer[], classes: readonly PrefixClass[], naming: Naming): FrrAddressFamily[] {
  const result: FrrAddressFamily[] = [];
  for (const family of FAMILIES) {
    const familyPeers = peers.filter((p) => sessionFamilies(p).includes(family));
    const neighbors: FrrAddressFamilyNeighbor[] = familyPeers.map((p) => ({
      comment: peerRef(naming, p.name),
      id: neighborId(p),
      routeMapIn: `${filterBase(p)}-in`,
      routeMapOut: `${filterBase(p)}-out`,
    }));
    const networks = networksFor(family, familyPeers, classes, naming);
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

/**
 * One router per (myASN, routerID, VRF): default VRF first, then VRFs by name. `routerID` is as the plan resolved it
 * (the BGPPeers', else the node's InternalIP: nodeRouterID in bgp/plan.ts); null only when neither exists.
 */
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

function routerFor(group: RouterGroup, classes: readonly PrefixClass[], naming: Naming, gracefulShutdown: boolean): FrrRouter {
  const peers = [...group.peers].sort(compareNeighbors);
  const names = [...group.peers.map((p) => `${naming.namespace}/${p.name}`)].sort(byString);
  return {
    comment: `BGP instance for BGPPeer ${names.join(", ")}`,
    asn: group.asn,
    hasVrf: group.vrf !== "",
    vrf: group.vrf,
    hasRouterId: group.routerId !== "",
    routerId: group.routerId,
    gracefulShutdown,
    neighbors: peers.map((p) => neighborFor(p, naming)),
    addressFamilies: addressFamiliesFor(peers, classes, naming),
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
  const classes = classifyPrefixes(plan.sessions, plan.announcements);
  const groups = routerGroups(plan.sessions);
  const gracefulShutdown = plan.draining === true || opts.gracefulShutdown === true;
  const routers = groups.map((g) => routerFor(g, classes, naming, gracefulShutdown));
  const orderedPeers = groups.flatMap((g) => [...g.peers].sort(compareNeighbors));
  const routeMaps: FrrRouteMapEntry[] = [
    ...classes.map((c) => classRouteMap(c, naming)),
    ...orderedPeers.flatMap((peer) => neighborRouteMaps(peer, classes, naming)),
  ];
  const profiles = [...bfdProfiles].sort((a, b) => byString(a.name, b.name)).map((p) => bfdProfileFor(p, naming));
  return {
    header: [`FRR configuration of node ${plan.node}, generated by metallb-ts: do not edit.`],
    log: loggingFor(opts.logLevel),
    routers,
    routeMaps,
    hasBfdProfiles: profiles.length > 0,
    bfdProfiles: profiles,
  };
}
