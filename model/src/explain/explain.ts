// `metallb-ts explain service`: why one Service is pending or not announced, from the same pure parser, allocator and
// planners the operator and the speakers use (pure). The caller gives the parsed configuration, every Service (the
// target competes with them for IPs), the Nodes and where each Service has serving endpoints; the explanation says
// which pools were considered and why each was taken or refused, which advertisements select the Service, what each
// node does with it (Layer 2 candidate order with the election inputs, BGP peers, or why not) and the one fix a user
// most likely needs.
import { Allocator } from "../allocator/allocator.js";
import { joinL2 } from "../layer2/plan.js";
import { electionHash } from "../layer2/plan.js";
import { joinBgp, type BgpServiceView, type NodeView } from "../bgp/plan.js";
import { planNodeAnnouncement, planServiceAnnouncement, type NodeAnnouncement, type ServiceAnnouncement } from "../announce/plan.js";
import type { BGPAdvertisement, Config, L2Advertisement } from "../config/types.js";
import { anySelectorMatches, formatLabelSelector, type LabelSelector } from "../labels/selector.js";
import { formatIP, type IPAddress } from "../net/ip.js";
import { convergeAll } from "../service/converge.js";
import type { ServiceSnapshot } from "../service/snapshot.js";
import { err, ok, type Result } from "../result.js";
import { explainPools, type PoolVerdict } from "./pools.js";
import { announceVerdict, type NotAnnouncedReason } from "./verdict.js";

/** A LoadBalancer Service as explain needs it: the operator's snapshot plus its externalTrafficPolicy. */
export interface ExplainService {
  readonly snapshot: ServiceSnapshot;
  readonly externalTrafficPolicy: "Cluster" | "Local";
  /** Whether this operator handles the Service (type LoadBalancer and our loadBalancerClass). */
  readonly handled: boolean;
}

export interface ExplainInput {
  readonly config: Config;
  /** Every Service of the input, the target included. */
  readonly services: readonly ExplainService[];
  readonly nodes: readonly NodeView[];
  /**
   * `namespace/name` → nodes hosting a serving endpoint. A Service missing from the map has no EndpointSlice in the
   * input: with `assumeServedEverywhere` (offline YAML without slices) it is taken as served on every node.
   */
  readonly serving: ReadonlyMap<string, ReadonlySet<string>>;
  readonly assumeServedEverywhere: boolean;
}

export type ExplainState = "notHandled" | "pending" | "notAnnounced" | "announced";

export interface AllocationExplanation {
  readonly ips: readonly string[];
  readonly pool: string | null;
  /** The allocation Event the operator emits for it (AllocationFailed, LoadBalancerFailed, …), when it fails. */
  readonly failure: { readonly reason: string; readonly message: string } | null;
  readonly requestedIPs: readonly string[];
  readonly requestedPool: string | null;
  readonly sharingKey: string;
  readonly pools: readonly PoolVerdict[];
}

export type AdvertisementSelection = "selected" | "otherPools" | "serviceSelectorsDoNotMatch";

export interface AdvertisementExplanation {
  readonly kind: "L2Advertisement" | "BGPAdvertisement";
  readonly name: string;
  readonly selection: AdvertisementSelection;
  readonly pools: readonly string[];
  readonly serviceSelectors: readonly string[];
  readonly nodeSelectors: readonly string[];
  /** Nodes the nodeSelectors select. */
  readonly nodes: readonly string[];
  /** BGPAdvertisement peers (empty = all). */
  readonly peers: readonly string[];
}

/** A BGPPeer and the nodes its nodeSelectors select (where a BGPAdvertisement can reach it). */
export interface PeerExplanation {
  readonly name: string;
  readonly nodeSelectors: readonly string[];
  readonly nodes: readonly string[];
}

export type L2NodeState = "owner" | "standby" | "notApplicable" | "notSelected" | "excluded" | "networkUnavailable" | "noLocalEndpoint" | "noEndpoints";
export type BgpNodeState =
  | "announced"
  | "noPeerSession"
  | "notApplicable"
  | "notSelected"
  | "excluded"
  | "networkUnavailable"
  | "noLocalEndpoint"
  | "noEndpoints"
  | "conflictingLocalPref";

export interface NodeExplanation {
  readonly node: string;
  readonly excludedFromLoadBalancers: boolean;
  readonly networkUnavailable: boolean;
  readonly servingEndpoint: boolean;
  readonly l2: {
    readonly state: L2NodeState;
    /** Position in the candidate order of the Service's first IP (0 = owner while alive); null when not a candidate. */
    readonly rank: number | null;
    /** Σ preferredNodeSelectors weights of the selecting L2Advertisements. */
    readonly score: number | null;
    /** First 16 hex digits of sha256(node#ip), MetalLB's tie-break (ascending). */
    readonly hash: string | null;
    readonly interfaces: readonly string[];
  };
  readonly bgp: { readonly state: BgpNodeState; readonly peers: readonly string[]; readonly advertisements: readonly string[] };
}

export interface L2IPExplanation {
  readonly ip: string;
  /** The first candidate: the owner while its speaker is alive (each speaker skips candidates it sees dead). */
  readonly owner: string | null;
  readonly candidates: readonly string[];
  readonly services: readonly string[];
}

export interface ServiceExplanation {
  readonly service: string;
  readonly state: ExplainState;
  /** One line: what is wrong (or where it is announced). */
  readonly summary: string;
  /** The change a user most likely needs; null when nothing is wrong. */
  readonly fix: string | null;
  readonly notAnnouncedReason: NotAnnouncedReason | null;
  readonly externalTrafficPolicy: "Cluster" | "Local";
  readonly allocation: AllocationExplanation;
  readonly advertisements: readonly AdvertisementExplanation[];
  /** The BGPPeers, when some BGPAdvertisement selects the Service. */
  readonly peers: readonly PeerExplanation[];
  readonly l2: readonly L2IPExplanation[];
  readonly nodes: readonly NodeExplanation[];
}

const q = (s: string): string => JSON.stringify(s);
const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const selectorTexts = (s: readonly LabelSelector[]): string[] => s.map((x) => `{${formatLabelSelector(x)}}`);
const hex = (b: Uint8Array): string => [...b.slice(0, 8)].map((x) => x.toString(16).padStart(2, "0")).join("");

function servingNodes(input: ExplainInput, key: string): string[] {
  const s = input.serving.get(key);
  if (s === undefined) return input.assumeServedEverywhere ? input.nodes.map((n) => n.name) : [];
  return [...s].sort(byString);
}

function viewOf(input: ExplainInput, svc: ExplainService, ips: readonly IPAddress[], pool: string): BgpServiceView {
  const snap = svc.snapshot;
  return {
    key: snap.view.key,
    ips,
    pool,
    labels: snap.view.labels,
    sharingKey: snap.view.sharingKey,
    externalTrafficPolicy: svc.externalTrafficPolicy,
    nodesWithServingEndpoints: servingNodes(input, snap.view.key),
  };
}

function advertisementsOf(config: Config, svc: ServiceSnapshot, pool: string | null): AdvertisementExplanation[] {
  const one = (kind: AdvertisementExplanation["kind"], a: L2Advertisement | BGPAdvertisement): AdvertisementExplanation => ({
    kind,
    name: a.name,
    selection:
      pool === null || !a.pools.includes(pool)
        ? "otherPools"
        : anySelectorMatches(a.serviceSelectors, svc.view.labels)
          ? "selected"
          : "serviceSelectorsDoNotMatch",
    pools: a.pools,
    serviceSelectors: selectorTexts(a.serviceSelectors),
    nodeSelectors: selectorTexts(a.nodeSelectors),
    nodes: a.nodes,
    peers: "peers" in a ? a.peers : [],
  });
  return [...config.l2Advertisements.map((a) => one("L2Advertisement", a)), ...config.bgpAdvertisements.map((a) => one("BGPAdvertisement", a))];
}

interface Allocated {
  readonly alloc: Allocator;
  readonly failure: AllocationExplanation["failure"];
}

/** Replays every handled Service on a fresh allocator, as the operator's first pass does. */
function replay(input: ExplainInput, target: ExplainService): Allocated {
  const alloc = new Allocator();
  alloc.setPools(input.config.pools);
  const snaps = input.services.filter((s) => s.handled).map((s) => s.snapshot);
  const results = convergeAll(alloc, snaps, true);
  const mine = results.find((r) => r.snap.view.key === target.snapshot.view.key)?.result ?? null;
  const warning = mine?.events.find((e) => e.type === "Warning") ?? null;
  return { alloc, failure: mine !== null && mine.failed && warning !== null ? { reason: warning.reason, message: warning.message } : null };
}

/** Halves of the handled Services holding one of the IPs (the Layer 2 plan ranks a shared IP once for all of them). */
function sharersOf(input: ExplainInput, alloc: Allocator, ips: readonly IPAddress[], self: string): ServiceAnnouncement[] {
  const keys = new Set(ips.flatMap((ip) => alloc.servicesOn(ip)).filter((k) => k !== self));
  return input.services
    .filter((s) => s.handled && keys.has(s.snapshot.view.key))
    .flatMap((s) => {
      const pool = alloc.poolOf(s.snapshot.view.key);
      return pool === null ? [] : [planServiceAnnouncement(input.config, viewOf(input, s, alloc.ipsOf(s.snapshot.view.key), pool))];
    });
}

const BGP_STATE: Readonly<Record<string, BgpNodeState>> = {
  notOwner: "notSelected",
  nodeExcluded: "excluded",
  nodeNetworkUnavailable: "networkUnavailable",
  noLocalEndpoints: "noLocalEndpoint",
  noEndpoints: "noEndpoints",
  conflictingLocalPref: "conflictingLocalPref",
};

function bgpOf(half: ServiceAnnouncement, node: NodeAnnouncement): NodeExplanation["bgp"] {
  if (half.bgp.length === 0) return { state: "notApplicable", peers: [], advertisements: [] };
  const [outcome] = joinBgp(node, [half]).services;
  if (outcome === undefined) return { state: "notApplicable", peers: [], advertisements: [] };
  if (!outcome.announced) return { state: BGP_STATE[outcome.reason] ?? "notApplicable", peers: [], advertisements: [] };
  return { state: outcome.peers.length > 0 ? "announced" : "noPeerSession", peers: outcome.peers, advertisements: outcome.advertisements };
}

function l2StateOf(half: ServiceAnnouncement, node: NodeAnnouncement): L2NodeState {
  if (half.l2.length === 0) return "notApplicable";
  if (!node.l2Advertisements.some((a) => half.l2.includes(a.name))) return "notSelected";
  if (node.networkUnavailable) return "networkUnavailable";
  if (node.excludedFromLoadBalancers) return "excluded";
  if (half.localNodes !== null) return half.localNodes.includes(node.node) ? "standby" : "noLocalEndpoint";
  return half.hasEndpoints ? "standby" : "noEndpoints";
}

interface Announcement {
  readonly half: ServiceAnnouncement;
  readonly l2: L2IPExplanation[];
  readonly nodes: NodeExplanation[];
}

function explainAnnouncement(input: ExplainInput, alloc: Allocator, svc: ExplainService, pool: string): Announcement {
  const key = svc.snapshot.view.key;
  const ips = alloc.ipsOf(key);
  const half = planServiceAnnouncement(input.config, viewOf(input, svc, ips, pool));
  const nodeHalves = input.nodes.map((n) =>
    planNodeAnnouncement(
      input.config,
      n,
      input.config.nodes.find((i) => i.name === n.name),
    ),
  );
  const plan = joinL2([half, ...sharersOf(input, alloc, ips, key)], nodeHalves);
  const mine = new Set(ips.map(formatIP));
  const l2 = plan.ips
    .filter((p) => mine.has(formatIP(p.ip)))
    .map((p) => ({ ip: formatIP(p.ip), owner: p.candidates[0]?.node ?? null, candidates: p.candidates.map((c) => c.node), services: p.services }));
  const first = plan.ips.find((p) => mine.has(formatIP(p.ip)));
  const firstIP = ips[0];
  const serving = new Set(half.localNodes ?? servingNodes(input, key));
  const nodes = nodeHalves.map((n): NodeExplanation => {
    const rank = first?.candidates.findIndex((c) => c.node === n.node) ?? -1;
    const candidate = rank >= 0 ? first?.candidates[rank] : undefined;
    const state = l2StateOf(half, n);
    return {
      node: n.node,
      excludedFromLoadBalancers: n.excludedFromLoadBalancers,
      networkUnavailable: n.networkUnavailable,
      servingEndpoint: serving.has(n.node),
      l2: {
        state: candidate === undefined ? (state === "standby" ? "notApplicable" : state) : rank === 0 ? "owner" : "standby",
        rank: candidate === undefined ? null : rank,
        score: candidate?.score ?? null,
        hash: candidate === undefined || firstIP === undefined ? null : hex(electionHash(n.node, firstIP)),
        interfaces: candidate?.interfaces ?? [],
      },
      bgp: bgpOf(half, n),
    };
  });
  return { half, l2, nodes };
}

const FIXES: Readonly<Record<NotAnnouncedReason, (pool: string) => string>> = {
  noAdvertisementForPool: (pool) =>
    `create an L2Advertisement or a BGPAdvertisement whose ipAddressPools (or ipAddressPoolSelectors) select pool ${q(pool)} (one that names no pool selects every pool)`,
  serviceSelectorsDoNotMatch: () => "label the Service so that an advertisement's serviceSelectors match it, or relax those serviceSelectors",
  sharedIPWithServiceSelector: () =>
    "remove the serviceSelectors of the L2Advertisements selecting the Service, or stop sharing its IP (metallb.io/allow-shared-ip)",
  noServingEndpoints: () => "the Service has no ready endpoint: check that its selector matches running, ready Pods",
  noLocalEndpoints: () => "run a ready Pod of the Service on a node the advertisements select (and that is not excluded), or use externalTrafficPolicy Cluster",
  noSelectedNodes: () => "fix the advertisements' nodeSelectors (or the Nodes' labels) so that they select at least one node",
  noEligibleNodes: () =>
    "remove the node.kubernetes.io/exclude-from-external-load-balancers label from a selected node, or fix its NetworkUnavailable condition",
  noPeerSession: () => "create a BGPPeer whose nodeSelectors select those nodes (or fix the BGPAdvertisement's peers)",
};

/** Failures of the Service itself, before any pool is considered (converge.ts). */
const SERVICE_FIXES: Readonly<Record<string, (message: string) => string>> = {
  NoClusterIPs: () => "the Service has no ClusterIP (spec.clusterIPs): MetalLB takes its IP families from them; recreate it without clusterIP: None",
  NotEnoughClusterIPs: () => "a RequireDualStack Service needs an IPv4 and an IPv6 ClusterIP: enable dual-stack on the cluster or change spec.ipFamilyPolicy",
  LoadBalancerFailed: (message) => `fix the Service's annotations or spec.loadBalancerIP: ${message}`,
};

/** The most likely fix for a pending Service, from the pool verdicts. */
function pendingFix(alloc: AllocationExplanation): string {
  const pools = alloc.pools;
  const service = SERVICE_FIXES[alloc.failure?.reason ?? ""];
  if (service !== undefined) return service(alloc.failure?.message ?? "");
  if (alloc.requestedIPs.length > 0 && pools.every((p) => p.reason === "requestedIPNotInPool")) {
    return `the requested IP ${alloc.requestedIPs.join(", ")} is outside every IPAddressPool: add it to a pool's addresses or request another IP`;
  }
  if (alloc.requestedPool !== null && !pools.some((p) => p.pool === alloc.requestedPool)) {
    return `the Service asks for pool ${q(alloc.requestedPool)} (metallb.io/address-pool), which does not exist: create it or fix the annotation`;
  }
  const conflict = pools.find((p) => p.reason === "sharingConflict");
  if (conflict !== undefined) {
    return `${conflict.detail}: to share an IP, Services need the same metallb.io/allow-shared-ip key, the same externalTrafficPolicy Local selector, and different ports`;
  }
  const exhausted = pools.filter((p) => p.reason === "exhausted").map((p) => q(p.pool));
  if (exhausted.length > 0) return `pool ${exhausted.join(", ")} has no free address: add addresses to it or delete Services holding its IPs`;
  if (pools.length === 0) return "there is no IPAddressPool: create one";
  const refused = pools.map((p) => `pool ${q(p.pool)}: ${p.detail}`).join("; ");
  return alloc.failure !== null && !pools.some((p) => p.reason === "notNeeded")
    ? `no pool admits the Service (${refused})`
    : (alloc.failure?.message ?? refused);
}

function pendingSummary(alloc: AllocationExplanation): string {
  return `pending: ${alloc.failure?.message ?? "no IP"}`;
}

function notHandled(svc: ExplainService): ServiceExplanation {
  const snap = svc.snapshot;
  const summary = snap.isLoadBalancer
    ? `not handled: loadBalancerClass ${q(snap.loadBalancerClass ?? "")} belongs to another implementation`
    : "not handled: the Service is not of type LoadBalancer";
  return {
    service: snap.view.key,
    state: "notHandled",
    summary,
    fix: null,
    notAnnouncedReason: null,
    externalTrafficPolicy: svc.externalTrafficPolicy,
    allocation: { ips: [], pool: null, failure: null, requestedIPs: [], requestedPool: null, sharingKey: snap.view.sharingKey, pools: [] },
    advertisements: [],
    peers: [],
    l2: [],
    nodes: [],
  };
}

/** Explains one Service (`namespace/name`); an error when the input has no such Service. */
export function explainService(input: ExplainInput, key: string): Result<ServiceExplanation, string> {
  const svc = input.services.find((s) => s.snapshot.view.key === key);
  if (svc === undefined) return err(`service ${q(key)} not found`);
  if (!svc.handled) return ok(notHandled(svc));
  const snap = svc.snapshot;
  const { alloc, failure } = replay(input, svc);
  const pool = alloc.poolOf(key);
  const ips = alloc.ipsOf(key);
  const allocation: AllocationExplanation = {
    ips: ips.map(formatIP),
    pool,
    failure,
    requestedIPs: snap.requested.ok ? snap.requested.ips.map(formatIP) : [],
    requestedPool: snap.poolAnnotation,
    sharingKey: snap.view.sharingKey,
    pools: explainPools(input.config.pools, alloc, snap, pool),
  };
  const advertisements = advertisementsOf(input.config, snap, pool);
  const peers = advertisements.some((a) => a.kind === "BGPAdvertisement" && a.selection === "selected")
    ? input.config.peers.map((p) => ({ name: p.name, nodeSelectors: selectorTexts(p.nodeSelectors), nodes: p.nodes }))
    : [];
  const base = { service: key, externalTrafficPolicy: svc.externalTrafficPolicy, allocation, advertisements, peers };
  if (pool === null || ips.length === 0) {
    return ok({ ...base, state: "pending", summary: pendingSummary(allocation), fix: pendingFix(allocation), notAnnouncedReason: null, l2: [], nodes: [] });
  }
  const ann = explainAnnouncement(input, alloc, svc, pool);
  const byName = new Map(input.nodes.map((n) => [n.name, n]));
  const v = announceVerdict(input.config, ann.half, pool, (n) => byName.get(n));
  if (!v.announced) {
    return ok({
      ...base,
      state: "notAnnounced",
      summary: `not announced: ${v.message}`,
      fix: FIXES[v.reason](pool),
      notAnnouncedReason: v.reason,
      l2: ann.l2,
      nodes: ann.nodes,
    });
  }
  return ok({ ...base, state: "announced", summary: announcedSummary(ips, ann), fix: null, notAnnouncedReason: null, l2: ann.l2, nodes: ann.nodes });
}

function announcedSummary(ips: readonly IPAddress[], ann: Announcement): string {
  const parts: string[] = [];
  const owners = [...new Set(ann.l2.map((l) => l.owner).filter((o): o is string => o !== null))];
  if (owners.length > 0) parts.push(`Layer 2 from ${owners.join(", ")}`);
  const bgp = ann.nodes.filter((n) => n.bgp.state === "announced").map((n) => n.node);
  if (bgp.length > 0) parts.push(`BGP from ${bgp.join(", ")}`);
  return `announced: ${ips.map(formatIP).join(", ")} by ${parts.join("; ")}`;
}
