// Pure Layer 2 announcement planning (operator side): for every LoadBalancer IP announced in L2 mode, the ordered
// list of candidate nodes that may answer ARP/NDP for it, and the interfaces each candidate announces on. The
// speakers then only pick the first *live* candidate (election.ts), so the expensive part of MetalLB's
// ShouldAnnounce (speaker/layer2_controller.go) is computed once, here, and every speaker sees the same order.
import type { BgpServiceView, NodeView } from "../bgp/plan.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes as utf8 } from "@noble/hashes/utils.js";
import { planNodeAnnouncement, planServiceAnnouncement, type NodeAnnouncement, type ServiceAnnouncement } from "../announce/plan.js";
import { compareBytes } from "../bytes.js";
import type { Config } from "../config/types.js";
import { compareIP, formatIP, type IPAddress } from "../net/ip.js";

export type { NodeView } from "../bgp/plan.js";

/** A LoadBalancer Service as the L2 planner needs it: the same view the BGP planner takes (built once by the shell). */
export type L2ServiceView = BgpServiceView;

/** Why a service is not announced in Layer 2 mode at all. */
export type L2PlanSkipReason =
  /** The service has no LoadBalancer IP yet. */
  | "noIPs"
  /** No L2Advertisement selects the service's pool, or none of them selects the service (serviceSelectors). */
  | "noMatchingAdvertisement"
  /** The service shares its IP (`allow-shared-ip`) and a matching advertisement has serviceSelectors (MetalLB rule). */
  | "sharedIPWithServiceSelector"
  /** externalTrafficPolicy Cluster and no serving endpoint anywhere: nobody announces. */
  | "noServingEndpoints"
  /** No node is eligible: not selected by the advertisements, network unavailable, or excluded. */
  | "noEligibleNodes"
  /** externalTrafficPolicy Local and no eligible node hosts a serving endpoint. */
  | "noLocalEndpoints";

export type L2ServiceOutcome =
  | { readonly service: string; readonly announced: true; readonly ips: readonly IPAddress[]; readonly advertisements: readonly string[] }
  | { readonly service: string; readonly announced: false; readonly reason: L2PlanSkipReason };

/** One node that may announce an IP. */
export interface L2Candidate {
  readonly node: string;
  /** Σ weights of the preferredNodeSelectors matching the node, over the matching advertisements that select it. */
  readonly score: number;
  /** Interfaces to announce on, sorted; empty = all interfaces (some advertisement selecting the node lists none). */
  readonly interfaces: readonly string[];
}

/** One announced IP and who may answer for it. */
export interface L2IPPlan {
  readonly ip: IPAddress;
  /** Services using the IP (several when shared), sorted by key. */
  readonly services: readonly string[];
  /** Candidates in election order: the first live one owns the IP. Never empty (unless restricted, see joinL2). */
  readonly candidates: readonly L2Candidate[];
  /** How many nodes are candidates (candidates.length unless the list was restricted). */
  readonly candidateCount: number;
}

/** What one candidate node is told about one IP (published to that node). */
export interface L2NodeEntry {
  readonly ip: IPAddress;
  readonly services: readonly string[];
  /** The full ordered candidate list (node names), so the node can tell whether someone before it is alive. */
  readonly candidates: readonly string[];
  /** How many nodes are candidates in all (candidates may list only those the node sees alive). */
  readonly candidateCount: number;
  /** Interfaces this node announces the IP on; empty = all. */
  readonly interfaces: readonly string[];
}

export interface L2Plan {
  /** Every announced IP, sorted (IPv4 first, then numerically). */
  readonly ips: readonly L2IPPlan[];
  /** Node name → the entries of the IPs it is a candidate for (sorted by IP). Only nodes with at least one entry. */
  readonly byNode: ReadonlyMap<string, readonly L2NodeEntry[]>;
  /** One outcome per input service, sorted by key. */
  readonly services: readonly L2ServiceOutcome[];
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const ipKey = (ip: IPAddress): string => `${ip.family}|${ip.value}`;

/**
 * The election hash of MetalLB: sha256(node + "#" + ip) with the IP in its canonical text form. Candidates with equal
 * scores are ordered by this digest, ascending bytewise, so the order is stable, spread evenly over the nodes, and
 * identical to what MetalLB's Go speakers compute.
 */
export function electionHash(node: string, ip: IPAddress): Uint8Array {
  return hashWithSuffix(node, `#${formatIP(ip)}`);
}

/** sha256(node + suffix): the election hash with the `#ip` suffix formatted once per IP. */
export const hashWithSuffix = (node: string, suffix: string): Uint8Array => sha256(utf8(node + suffix));

/** Per-call memo of what depends only on a set of advertisements: the nodes they make eligible. */
class EligibilityMemo {
  private readonly eligible = new Map<string, { list: NodeAnnouncement[]; names: Set<string> }>();

  constructor(private readonly nodes: readonly NodeAnnouncement[]) {}

  /** Nodes allowed to announce for the advertisements: selected by one of them and not unavailable or excluded. */
  eligibleNodes(advs: readonly string[]): { list: NodeAnnouncement[]; names: Set<string> } {
    const key = advs.join("\u0000");
    let hit = this.eligible.get(key);
    if (hit === undefined) {
      const list = this.nodes.filter((n) => !n.networkUnavailable && !n.excludedFromLoadBalancers && n.l2Advertisements.some((a) => advs.includes(a.name)));
      hit = { list, names: new Set(list.map((n) => n.node)) };
      this.eligible.set(key, hit);
    }
    return hit;
  }
}

/** A service that passed all checks, with the advertisements that apply and the nodes that may announce it. */
interface Accepted {
  readonly svc: ServiceAnnouncement;
  readonly ips: readonly IPAddress[];
  /** Advertisement names, sorted. */
  readonly advs: readonly string[];
  /** Whether a node may announce it (eligible, and hosting an endpoint for ETP Local). */
  readonly covers: (node: string) => boolean;
  /** The nodes that may announce it, when cheap to list (not restricted). */
  readonly nodes: () => readonly NodeAnnouncement[];
}

type Decision = { readonly ok: true; readonly accepted: Accepted } | { readonly ok: false; readonly reason: L2PlanSkipReason };

const skip = (reason: L2PlanSkipReason): Decision => ({ ok: false, reason });

export function uniqueIPs(ips: readonly IPAddress[]): IPAddress[] {
  const seen = new Set<string>();
  const out: IPAddress[] = [];
  for (const ip of ips) {
    if (seen.has(ipKey(ip))) continue;
    seen.add(ipKey(ip));
    out.push(ip);
  }
  return out;
}

/** MetalLB's ShouldAnnounce checks that do not depend on the announcing node, in its order. */
function decide(svc: ServiceAnnouncement, memo: EligibilityMemo): Decision {
  const ips = uniqueIPs(svc.ips);
  if (ips.length === 0) return skip("noIPs");
  if (svc.l2Skip !== null) return skip(svc.l2Skip);
  if (svc.localNodes === null && !svc.hasEndpoints) return skip("noServingEndpoints");
  const eligible = memo.eligibleNodes(svc.l2);
  if (eligible.list.length === 0) return skip("noEligibleNodes");
  const local = svc.localNodes;
  if (local !== null) {
    const nodes = eligible.list.filter((n) => local.includes(n.node));
    if (nodes.length === 0) return skip("noLocalEndpoints");
    const names = new Set(nodes.map((n) => n.node));
    return { ok: true, accepted: { svc, ips, advs: svc.l2, covers: (n) => names.has(n), nodes: () => nodes } };
  }
  return { ok: true, accepted: { svc, ips, advs: svc.l2, covers: (n) => eligible.names.has(n), nodes: () => eligible.list } };
}

/** Services using one IP, accumulated. */
interface IPGroup {
  readonly ip: IPAddress;
  readonly members: Accepted[];
}

/**
 * The IP whose text is hashed to order an IP's candidates: the first IP of the service (so both IPs of a dual-stack
 * service land on the same node). When services sharing the IP list different first IPs, the lowest is used so the
 * choice does not depend on input order.
 */
function hashIPOf(group: IPGroup): IPAddress {
  let best: IPAddress | null = null;
  for (const m of group.members) {
    const first = m.ips[0];
    if (first !== undefined && (best === null || compareIP(first, best) < 0)) best = first;
  }
  return best ?? group.ip;
}

interface Ranked {
  readonly candidate: L2Candidate;
  /** How many of the IP's services the node can serve (differs only for ETP Local services sharing an IP). */
  readonly coverage: number;
  /** Cordoned (NodeConfig draining): ranked after every node that is not, so it hands its IPs over. */
  readonly draining: boolean;
  readonly hash: Uint8Array;
}

/**
 * Orders candidates: nodes serving more of the IP's services first (so a shared ETP=Local IP prefers a node with
 * endpoints of every service), then nodes that are not cordoned (a draining node stays a candidate, last: it still
 * serves if it is the only one), then higher preference score, then ascending election hash. Node names break
 * (astronomically unlikely) hash ties.
 */
function compareRanked(a: Ranked, b: Ranked): number {
  if (a.coverage !== b.coverage) return b.coverage - a.coverage;
  if (a.draining !== b.draining) return a.draining ? 1 : -1;
  if (a.candidate.score !== b.candidate.score) return b.candidate.score - a.candidate.score;
  return compareBytes(a.hash, b.hash) || byString(a.candidate.node, b.candidate.node);
}

/** A node's score and interfaces for an IP: over the IP's advertisements that select the node (MetalLB). */
export function candidateOf(node: NodeAnnouncement, advs: readonly string[]): L2Candidate {
  let score = 0;
  const names = new Set<string>();
  let all = false;
  for (const a of node.l2Advertisements) {
    if (!advs.includes(a.name)) continue;
    score += a.weight;
    if (a.interfaces.length === 0) all = true;
    for (const i of a.interfaces) names.add(i);
  }
  return { node: node.node, score, interfaces: all ? [] : [...names].sort(byString) };
}

/** The nodes an IP group may be announced from, with how many of its services each serves. */
function coverageOf(group: IPGroup, only: ReadonlyMap<string, NodeAnnouncement> | undefined): Map<string, { node: NodeAnnouncement; count: number }> {
  const coverage = new Map<string, { node: NodeAnnouncement; count: number }>();
  const add = (n: NodeAnnouncement): void => {
    const c = coverage.get(n.node);
    if (c === undefined) coverage.set(n.node, { node: n, count: 1 });
    else c.count += 1;
  };
  for (const m of group.members) {
    if (only === undefined) for (const n of m.nodes()) add(n);
    else for (const [name, n] of only) if (m.covers(name)) add(n);
  }
  return coverage;
}

/** How many nodes may announce the group's IP (without ranking them). */
function candidateCountOf(group: IPGroup): number {
  const [first, ...rest] = group.members;
  if (first === undefined) return 0;
  if (rest.length === 0) return first.nodes().length;
  return new Set(group.members.flatMap((m) => m.nodes().map((n) => n.node))).size;
}

function planIP(group: IPGroup, only: ReadonlyMap<string, NodeAnnouncement> | undefined): L2IPPlan {
  const suffix = `#${formatIP(hashIPOf(group))}`;
  const allAdvs = [...new Set(group.members.flatMap((m) => m.advs))].sort(byString);
  const ranked: Ranked[] = [...coverageOf(group, only).values()].map(({ node, count }) => ({
    candidate: candidateOf(node, allAdvs),
    coverage: count,
    draining: node.draining,
    hash: hashWithSuffix(node.node, suffix),
  }));
  ranked.sort(compareRanked);
  return {
    ip: group.ip,
    services: [...new Set(group.members.map((m) => m.svc.key))].sort(byString),
    candidates: ranked.map((r) => r.candidate),
    candidateCount: only === undefined ? ranked.length : candidateCountOf(group),
  };
}

/** Node name → the entries of the IPs it is a candidate for, nodes sorted by name (the plan's byNode). */
export function byNodeOf(ips: readonly L2IPPlan[]): Map<string, L2NodeEntry[]> {
  const out = new Map<string, L2NodeEntry[]>();
  for (const plan of ips) {
    const names = plan.candidates.map((c) => c.node);
    for (const c of plan.candidates) {
      const entries = out.get(c.node) ?? [];
      entries.push({ ip: plan.ip, services: plan.services, candidates: names, candidateCount: plan.candidateCount, interfaces: c.interfaces });
      out.set(c.node, entries);
    }
  }
  return new Map([...out.entries()].sort(([a], [b]) => byString(a, b)));
}

/**
 * Joins the Services' halves with the nodes' halves into the Layer 2 plan. `nodes` is the universe of nodes that run a
 * speaker. Services sharing an IP get one candidate list for the IP, so they are always answered for by the same node.
 *
 * `only` restricts the ranked candidate lists to those nodes (a speaker passes the nodes it sees alive, plus itself):
 * the first live candidate of the full order is the first of the restricted one, and hashing every node for every IP
 * costs O(IPs × nodes). `candidateCount` still counts every candidate.
 */
export function joinL2(services: readonly ServiceAnnouncement[], nodes: readonly NodeAnnouncement[], only?: ReadonlySet<string>): L2Plan {
  const memo = new EligibilityMemo(nodes);
  const onlyNodes = only === undefined ? undefined : new Map(nodes.filter((n) => only.has(n.node)).map((n) => [n.node, n]));
  const groups = new Map<string, IPGroup>();
  const outcomes: L2ServiceOutcome[] = [];
  for (const svc of [...services].sort((a, b) => byString(a.key, b.key))) {
    const d = decide(svc, memo);
    if (!d.ok) {
      outcomes.push({ service: svc.key, announced: false, reason: d.reason });
      continue;
    }
    for (const ip of d.accepted.ips) {
      const group = groups.get(ipKey(ip)) ?? { ip, members: [] };
      group.members.push(d.accepted);
      groups.set(ipKey(ip), group);
    }
    outcomes.push({ service: svc.key, announced: true, ips: d.accepted.ips, advertisements: d.accepted.advs });
  }
  const ips = [...groups.values()].sort((a, b) => compareIP(a.ip, b.ip)).map((g) => planIP(g, onlyNodes));
  return { ips, byNode: byNodeOf(ips), services: outcomes };
}

/**
 * Plans the Layer 2 announcements of the whole cluster: both halves (announce/plan.ts), then the join. `nodes` is the
 * universe of nodes that run a speaker; the advertisements' nodeSelectors are evaluated against their labels.
 */
export function planL2Announcements(config: Config, services: readonly L2ServiceView[], nodes: readonly NodeView[]): L2Plan {
  const halves = nodes.map((n) => planNodeAnnouncement(config, n, undefined));
  return joinL2(
    services.map((s) => planServiceAnnouncement(config, s)),
    halves,
  );
}
