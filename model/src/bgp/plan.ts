// Pure BGP announcement planning for one node: which sessions it opens and which prefixes it advertises to which
// peers, with which communities and LOCAL_PREF. Backend-independent (MetalLB's speaker/bgp_controller.go decisions);
// the FRR builder turns the plan into configuration.
import { planNodeAnnouncement, planServiceAnnouncement, type NodeAnnouncement, type NodeBgpAdvertisement, type ServiceAnnouncement } from "../announce/plan.js";
import type { Config, Peer } from "../config/types.js";
import type { Labels } from "../labels/selector.js";
import { cidrOf, type Cidr } from "../net/cidr.js";
import { compareIP, type IPAddress } from "../net/ip.js";
import { formatCommunity, type Community } from "./community.js";

/** A LoadBalancer Service as the BGP planner needs it (built by the shell). */
export interface BgpServiceView {
  /** `namespace/name`. */
  readonly key: string;
  /** Assigned LoadBalancer IPs (status.loadBalancer.ingress). */
  readonly ips: readonly IPAddress[];
  /** Pool the IPs were allocated from. */
  readonly pool: string;
  readonly labels: Labels;
  /** `allow-shared-ip` key, "" when the IP is not shared; services sharing an IP merge into one prefix. */
  readonly sharingKey: string;
  readonly externalTrafficPolicy: "Cluster" | "Local";
  /** Nodes hosting at least one serving endpoint (ready, or terminating but serving). */
  readonly nodesWithServingEndpoints: readonly string[];
}

/** A Node as the planner needs it. `excludedFromLoadBalancers` is computed by the shell (label + --ignore-exclude-lb). */
export interface NodeView {
  readonly name: string;
  readonly labels: Labels;
  readonly networkUnavailable: boolean;
  readonly excludedFromLoadBalancers: boolean;
  /**
   * Cordoned (spec.unschedulable): the node keeps announcing, but with RFC 8326's GRACEFUL_SHUTDOWN community so
   * routers prefer the other nodes (make before break). Absent = false.
   */
  readonly draining?: boolean;
  /**
   * The Node's Ready condition is False or Unknown (kubelet stopped, or the node lifecycle controller marked it after
   * ~40 s of silence). Layer 2 stops presuming such a node's speaker alive (layer2/watch.ts). Absent = ready.
   */
  readonly notReady?: boolean;
}

/** Why a service is not announced over BGP from this node. */
export type BgpSkipReason =
  "noMatchingAdvertisement" | "notOwner" | "noEndpoints" | "noLocalEndpoints" | "nodeNetworkUnavailable" | "nodeExcluded" | "conflictingLocalPref" | "noIPs";

/** How one prefix goes to one peer. */
export interface PeerAdvertisement {
  /** BGPPeer name. */
  readonly peer: string;
  /** 0 = not set. */
  readonly localPref: number;
  /** Legacy and large communities, deduplicated, legacy first, then numerically. */
  readonly communities: readonly Community[];
}

/** One prefix this node originates. */
export interface PrefixAnnouncement {
  /** LB IP masked to the advertisement's aggregation length. */
  readonly prefix: Cidr;
  /** Services contributing this prefix, sorted. */
  readonly services: readonly string[];
  /** BGPAdvertisements contributing this prefix, sorted. */
  readonly advertisements: readonly string[];
  /** Peers (sessions of this node) receiving the prefix, sorted by name. */
  readonly peers: readonly PeerAdvertisement[];
}

export type BgpServiceOutcome =
  | { readonly service: string; readonly announced: true; readonly peers: readonly string[]; readonly advertisements: readonly string[] }
  | { readonly service: string; readonly announced: false; readonly reason: BgpSkipReason };

export interface NodeBgpPlan {
  readonly node: string;
  /**
   * BGPPeers whose nodeSelectors select this node, sorted by name. Sessions stay up on excluded nodes. `routerID` is
   * the one FRR is given: the BGPPeers', or when no BGPPeer of the VRF sets one, the node's (nodeRouterID).
   */
  readonly sessions: readonly Peer[];
  /** Every originated prefix, sorted (IPv4 first, then by address, then by length). */
  readonly announcements: readonly PrefixAnnouncement[];
  /** One outcome per input service, sorted by key. */
  readonly services: readonly BgpServiceOutcome[];
  /** The node is draining (cordoned): FRR announces with graceful shutdown (RFC 8326). Absent = false. */
  readonly draining?: boolean;
}

/** Total order on CIDRs: IPv4 first, then by network address, shorter prefix first (FRR's table walk order). */
export function compareCidr(a: Cidr, b: Cidr): number {
  const byAddress = compareIP({ family: a.family, value: a.first }, { family: b.family, value: b.first });
  return byAddress !== 0 ? byAddress : a.prefixLength - b.prefixLength;
}

/** Legacy before large, then numerically field by field. */
export function compareCommunity(a: Community, b: Community): number {
  const fields = (c: Community): number[] => (c.kind === "legacy" ? [0, c.asn, c.value, 0] : [1, c.globalAdministrator, c.localData1, c.localData2]);
  const fa = fields(a);
  const fb = fields(b);
  for (let i = 0; i < fa.length; i++) {
    const d = (fa[i] ?? 0) - (fb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function prefixOf(ip: IPAddress, adv: NodeBgpAdvertisement): Cidr {
  return cidrOf(ip, ip.family === "IPv4" ? adv.aggregationLength : adv.aggregationLengthV6);
}

/** One (prefix, peer) pair produced by one service through one advertisement. */
interface Contribution {
  readonly prefix: Cidr;
  readonly peer: string;
  readonly localPref: number;
  readonly communities: readonly Community[];
  readonly advertisement: string;
}

const contributionKey = (prefix: Cidr, peer: string): string => `${prefix.family}|${prefix.first}|${prefix.prefixLength}|${peer}`;

/** Peers of this node an advertisement sends to: all sessions, or the named ones. */
function peersFor(adv: NodeBgpAdvertisement, sessions: readonly Peer[]): string[] {
  const names = sessions.map((s) => s.name);
  return adv.peers.length === 0 ? names : names.filter((n) => adv.peers.includes(n));
}

function contributionsFor(svc: ServiceAnnouncement, advs: readonly NodeBgpAdvertisement[], sessions: readonly Peer[]): Contribution[] {
  const out: Contribution[] = [];
  for (const ip of svc.ips) {
    for (const adv of advs) {
      const prefix = prefixOf(ip, adv);
      for (const peer of peersFor(adv, sessions)) {
        out.push({ prefix, peer, localPref: adv.localPref, communities: adv.communities, advertisement: adv.name });
      }
    }
  }
  return out;
}

/** True when two advertisements of the service give one prefix to one peer with different LOCAL_PREF values. */
function hasLocalPrefConflict(contributions: readonly Contribution[]): boolean {
  const seen = new Map<string, number>();
  for (const c of contributions) {
    const key = contributionKey(c.prefix, c.peer);
    const previous = seen.get(key);
    if (previous !== undefined && previous !== c.localPref) return true;
    seen.set(key, c.localPref);
  }
  return false;
}

interface Decision {
  readonly reason: BgpSkipReason | null;
  readonly advertisements: readonly NodeBgpAdvertisement[];
}

function skip(reason: BgpSkipReason): Decision {
  return { reason, advertisements: [] };
}

/** MetalLB's ShouldAnnounce for BGP over the two published halves, in its order of checks. */
function decide(svc: ServiceAnnouncement, node: NodeAnnouncement, advsByName: ReadonlyMap<string, NodeBgpAdvertisement>): Decision {
  if (svc.ips.length === 0) return skip("noIPs");
  if (svc.bgp.length === 0) return skip("noMatchingAdvertisement");
  const advs = svc.bgp.flatMap((name) => advsByName.get(name) ?? []);
  if (advs.length === 0) return skip("notOwner");
  if (hasLocalPrefConflict(contributionsFor(svc, advs, node.sessions))) return skip("conflictingLocalPref");
  if (node.networkUnavailable) return skip("nodeNetworkUnavailable");
  if (node.excludedFromLoadBalancers) return skip("nodeExcluded");
  if (svc.localNodes !== null) {
    if (!svc.localNodes.includes(node.node)) return skip("noLocalEndpoints");
  } else if (!svc.hasEndpoints) {
    return skip("noEndpoints");
  }
  return { reason: null, advertisements: advs };
}

interface PrefixAccumulator {
  readonly prefix: Cidr;
  readonly services: Set<string>;
  readonly advertisements: Set<string>;
  readonly peers: Map<string, { localPref: number; communities: Map<string, Community> }>;
}

function entryFor(acc: Map<string, PrefixAccumulator>, prefix: Cidr): PrefixAccumulator {
  const key = contributionKey(prefix, "");
  let entry = acc.get(key);
  if (entry === undefined) {
    entry = { prefix, services: new Set(), advertisements: new Set(), peers: new Map() };
    acc.set(key, entry);
  }
  return entry;
}

function addPeer(entry: PrefixAccumulator, c: Contribution): void {
  let peer = entry.peers.get(c.peer);
  if (peer === undefined) {
    peer = { localPref: 0, communities: new Map() };
    entry.peers.set(c.peer, peer);
  }
  // Services sharing an IP may bring different LOCAL_PREF values: the highest wins, deterministically.
  peer.localPref = Math.max(peer.localPref, c.localPref);
  for (const community of c.communities) peer.communities.set(formatCommunity(community), community);
}

function announcementOf(entry: PrefixAccumulator): PrefixAnnouncement {
  const peers = [...entry.peers.entries()]
    .sort(([a], [b]) => byString(a, b))
    .map(([peer, v]) => ({ peer, localPref: v.localPref, communities: [...v.communities.values()].sort(compareCommunity) }));
  return {
    prefix: entry.prefix,
    services: [...entry.services].sort(byString),
    advertisements: [...entry.advertisements].sort(byString),
    peers,
  };
}

/**
 * Joins a node's half with the Services' halves into the node's BGP plan. Services are merged by prefix: communities
 * are unioned per peer, and when services sharing an IP disagree on LOCAL_PREF the highest value is used.
 */
export function joinBgp(node: NodeAnnouncement, services: readonly ServiceAnnouncement[]): NodeBgpPlan {
  const advsByName = new Map(node.bgpAdvertisements.map((a) => [a.name, a]));
  const sessions = node.sessions;
  const acc = new Map<string, PrefixAccumulator>();
  const outcomes: BgpServiceOutcome[] = [];
  for (const svc of [...services].sort((a, b) => byString(a.key, b.key))) {
    const decision = decide(svc, node, advsByName);
    if (decision.reason !== null) {
      outcomes.push({ service: svc.key, announced: false, reason: decision.reason });
      continue;
    }
    // Every prefix is originated, even with no peer on this node (the `network` statement is router-wide).
    for (const ip of svc.ips) {
      for (const adv of decision.advertisements) {
        const entry = entryFor(acc, prefixOf(ip, adv));
        entry.services.add(svc.key);
        entry.advertisements.add(adv.name);
      }
    }
    const contributions = contributionsFor(svc, decision.advertisements, sessions);
    for (const c of contributions) addPeer(entryFor(acc, c.prefix), c);
    outcomes.push({
      service: svc.key,
      announced: true,
      peers: [...new Set(contributions.map((c) => c.peer))].sort(byString),
      advertisements: decision.advertisements.map((a) => a.name).sort(byString),
    });
  }
  const announcements = [...acc.values()].map(announcementOf).sort((a, b) => compareCidr(a.prefix, b.prefix));
  return { node: node.node, sessions, announcements, services: outcomes, draining: node.draining };
}

/**
 * Plans the BGP announcements of one node: both halves (announce/plan.ts), then the join. A node missing from `nodes`
 * is treated as an unlabelled, available node; its addresses (the default router ID) come from the configuration's
 * Nodes (`config.nodes`).
 */
export function planBgpAnnouncements(config: Config, services: readonly BgpServiceView[], nodes: readonly NodeView[], nodeName: string): NodeBgpPlan {
  const node: NodeView = nodes.find((n) => n.name === nodeName) ?? { name: nodeName, labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false };
  const half = planNodeAnnouncement(
    config,
    node,
    config.nodes.find((n) => n.name === nodeName),
  );
  return joinBgp(
    half,
    services.map((s) => planServiceAnnouncement(config, s)),
  );
}

export { nodeRouterID } from "../announce/plan.js";
