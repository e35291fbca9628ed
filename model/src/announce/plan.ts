// Announcement planning split in the two halves the operator publishes (pure):
// - the service half (planServiceAnnouncement): which advertisements select a Service's pool and labels, its IPs, and
//   where its serving endpoints are. It does not depend on any node, so it is planned once per Service change and
//   published once for all nodes (sharded AnnouncementShard objects).
// - the node half (planNodeAnnouncement): a node's BGP sessions, the BGP and Layer 2 advertisements whose
//   nodeSelectors select it (with their communities, LOCAL_PREF, preference weight, interfaces) and whether it is
//   excluded. It does not depend on any Service, so it is planned once per node or configuration change (NodeConfig).
// joinBgp and the Layer 2 ranking (layer2/plan.ts) combine the halves. planBgpAnnouncements and planL2Announcements are
// exactly "both halves, then the join", so the speaker, which joins what it reads from the API, computes what the
// operator's planners (and `metallb-ts render`/`explain`) compute.
import type { BgpServiceView, NodeView } from "../bgp/plan.js";
import type { Community } from "../bgp/community.js";
import type { BFDProfile, BGPAdvertisement, Config, L2Advertisement, NodeInfo, Peer } from "../config/types.js";
import { anySelectorMatches, selectorMatches } from "../labels/selector.js";
import { parseIPv4, type IPAddress } from "../net/ip.js";

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Why a Service's IPs are not announced in Layer 2 mode, decided without looking at any node. */
export type L2ServiceSkip = "noMatchingAdvertisement" | "sharedIPWithServiceSelector" | null;

/** The node-independent half of a Service's announcement. */
export interface ServiceAnnouncement {
  /** `namespace/name`. */
  readonly key: string;
  readonly ips: readonly IPAddress[];
  /** `allow-shared-ip` key ("" = not shared). */
  readonly sharingKey: string;
  /** externalTrafficPolicy Local: the nodes with a serving endpoint; null for Cluster. */
  readonly localNodes: readonly string[] | null;
  /** Whether any node has a serving endpoint. */
  readonly hasEndpoints: boolean;
  /** BGPAdvertisements selecting the pool and the Service (names, sorted). */
  readonly bgp: readonly string[];
  /** L2Advertisements selecting the pool and the Service (names, sorted); empty when l2Skip says why. */
  readonly l2: readonly string[];
  readonly l2Skip: L2ServiceSkip;
}

/** A BGPAdvertisement as a node that it selects needs it. */
export interface NodeBgpAdvertisement {
  readonly name: string;
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  readonly localPref: number;
  readonly communities: readonly Community[];
  /** BGPPeer names; empty = every session of the node. */
  readonly peers: readonly string[];
}

/** An L2Advertisement as a node that it selects needs it. */
export interface NodeL2Advertisement {
  readonly name: string;
  /** Σ weights of the advertisement's preferredNodeSelectors that match the node. */
  readonly weight: number;
  /** Interfaces to announce on; empty = all. */
  readonly interfaces: readonly string[];
}

/** The Service-independent half: what one node announces with and through. */
export interface NodeAnnouncement {
  readonly node: string;
  /** First InternalIP (heartbeats; default router ID when IPv4). */
  readonly address: string | null;
  readonly networkUnavailable: boolean;
  readonly excludedFromLoadBalancers: boolean;
  /**
   * Cordoned (spec.unschedulable). Unlike the exclusion label (MetalLB's only way to take a node out), a cordon does
   * not stop the node's announcements: BGP keeps them with the GRACEFUL_SHUTDOWN community, so traffic shifts to the
   * other nodes without being dropped, and comes back when the node is uncordoned.
   */
  readonly draining: boolean;
  /**
   * The Node's Ready condition is False/Unknown. Written only on a transition (Node status heartbeats go to a Lease,
   * not the Node), so it costs one small NodeConfig write per node going down or up. Speakers stop presuming such a
   * node's speaker alive outside their watch groups (layer2/watch.ts).
   */
  readonly notReady: boolean;
  /** BGPPeers selecting the node, sorted, with the router ID FRR is given. */
  readonly sessions: readonly Peer[];
  readonly bfdProfiles: readonly BFDProfile[];
  /** BGPAdvertisements whose nodeSelectors select the node, sorted by name. */
  readonly bgpAdvertisements: readonly NodeBgpAdvertisement[];
  /** L2Advertisements whose nodeSelectors select the node, sorted by name. */
  readonly l2Advertisements: readonly NodeL2Advertisement[];
}

const names = (advs: ReadonlyArray<{ name: string }>): string[] => advs.map((a) => a.name).sort(byString);

/** The node-independent half of a Service's announcement (MetalLB's pool and serviceSelectors checks). */
export function planServiceAnnouncement(config: Config, svc: BgpServiceView): ServiceAnnouncement {
  const selects = (a: BGPAdvertisement | L2Advertisement): boolean => a.pools.includes(svc.pool) && anySelectorMatches(a.serviceSelectors, svc.labels);
  const l2Advs = config.l2Advertisements.filter(selects);
  // MetalLB: a shared IP is not announced in L2 by an advertisement with serviceSelectors (services sharing an IP
  // could otherwise be announced by different nodes).
  const l2Skip: L2ServiceSkip =
    l2Advs.length === 0
      ? "noMatchingAdvertisement"
      : svc.sharingKey !== "" && l2Advs.some((a) => a.serviceSelectors.length > 0)
        ? "sharedIPWithServiceSelector"
        : null;
  return {
    key: svc.key,
    ips: svc.ips,
    sharingKey: svc.sharingKey,
    localNodes: svc.externalTrafficPolicy === "Local" ? [...svc.nodesWithServingEndpoints].sort(byString) : null,
    hasEndpoints: svc.nodesWithServingEndpoints.length > 0,
    bgp: names(config.bgpAdvertisements.filter(selects)),
    l2: l2Skip === null ? names(l2Advs) : [],
    l2Skip,
  };
}

/** Whether the Service half has anything for a speaker (an advertisement selects it). */
export const isAnnounced = (s: ServiceAnnouncement): boolean => s.ips.length > 0 && (s.bgp.length > 0 || s.l2.length > 0);

/** BGPPeers whose nodeSelectors select the node (empty selectors select every node), sorted by name. */
export function sessionsForNode(config: Config, node: NodeView): Peer[] {
  return config.peers.filter((p) => anySelectorMatches(p.nodeSelectors, node.labels)).sort((a, b) => byString(a.name, b.name));
}

/**
 * The BGP router ID of a node whose BGPPeers set none: its first InternalIP that is an IPv4 address
 * (Node.status.addresses), null when it has none.
 *
 * Without `bgp router-id`, zebra picks the highest loopback address, else the highest interface address, and Service
 * IPs live on local interfaces (kube-proxy IPVS puts every LoadBalancer IP on kube-ipvs0; the labs put them on `lo`).
 * The node's BGP identifier would then be a Service IP, the same on every node holding it, and would change with the
 * Services: FRR 8.4 defers zebra's new router ID while a session of the instance is Established and adopts it as soon
 * as none is (any flap, a bgpd restart); a router ID changed while sessions are Established (by configuration) resets
 * every one of them. The node's own address is unique and stable.
 *
 * An IPv6-only node (no IPv4 InternalIP) gets no `bgp router-id` line: a BGP identifier is 32 bits, so its BGPPeers
 * must set `routerID` explicitly.
 */
export function nodeRouterID(node: NodeInfo | undefined): IPAddress | null {
  for (const a of node?.addresses ?? []) {
    if (a.type !== "InternalIP") continue;
    const ip = parseIPv4(a.address);
    if (ip !== null && ip.value !== 0n) return ip;
  }
  return null;
}

/** Per VRF (one FRR instance each), sessions of a VRF where no BGPPeer sets `routerID` get the node's. */
function withRouterIDs(sessions: readonly Peer[], nodeID: IPAddress | null): Peer[] {
  if (nodeID === null) return [...sessions];
  const vrfsWithRouterID = new Set(sessions.filter((p) => p.routerID !== null).map((p) => p.vrf));
  return sessions.map((p) => (p.routerID === null && !vrfsWithRouterID.has(p.vrf) ? { ...p, routerID: nodeID } : p));
}

/**
 * The Service-independent half for one node. `info` holds the node's addresses (its InternalIP is the default router
 * ID and the heartbeat address); a node missing from the cluster is an unlabelled, available node.
 */
export function planNodeAnnouncement(config: Config, node: NodeView, info: NodeInfo | undefined): NodeAnnouncement {
  const address = info?.addresses.find((a) => a.type === "InternalIP")?.address ?? null;
  return {
    node: node.name,
    address,
    networkUnavailable: node.networkUnavailable,
    excludedFromLoadBalancers: node.excludedFromLoadBalancers,
    draining: node.draining === true,
    notReady: node.notReady === true,
    sessions: withRouterIDs(sessionsForNode(config, node), nodeRouterID(info)),
    // Every profile, used or not: FRR's configuration carries them all (as MetalLB renders them).
    bfdProfiles: config.bfdProfiles,
    bgpAdvertisements: config.bgpAdvertisements
      .filter((a) => anySelectorMatches(a.nodeSelectors, node.labels))
      .map((a) => ({
        name: a.name,
        aggregationLength: a.aggregationLength,
        aggregationLengthV6: a.aggregationLengthV6,
        localPref: a.localPref,
        communities: a.communities,
        peers: a.peers,
      }))
      .sort((a, b) => byString(a.name, b.name)),
    l2Advertisements: config.l2Advertisements
      .filter((a) => anySelectorMatches(a.nodeSelectors, node.labels))
      .map((a) => ({
        name: a.name,
        weight: a.preferredNodeSelectors.reduce((sum, p) => (selectorMatches(p.preference, node.labels) ? sum + p.weight : sum), 0),
        interfaces: [...a.interfaces].sort(byString),
      }))
      .sort((a, b) => byString(a.name, b.name)),
  };
}
