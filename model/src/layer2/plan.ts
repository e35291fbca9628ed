// Pure Layer 2 announcement planning (operator side): for every LoadBalancer IP announced in L2 mode, the ordered
// list of candidate nodes that may answer ARP/NDP for it, and the interfaces each candidate announces on. The
// speakers then only pick the first *live* candidate (election.ts), so the expensive part of MetalLB's
// ShouldAnnounce (speaker/layer2_controller.go) is computed once, here, and every speaker sees the same order.
import type { BgpServiceView, NodeView } from "../bgp/plan.js";
import type { Config, L2Advertisement } from "../config/types.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes as utf8 } from "@noble/hashes/utils.js";
import { compareBytes } from "../bytes.js";
import { anySelectorMatches, selectorMatches } from "../labels/selector.js";
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
  /** Candidates in election order: the first live one owns the IP. Never empty. */
  readonly candidates: readonly L2Candidate[];
}

/** What one candidate node is told about one IP (published to that node). */
export interface L2NodeEntry {
  readonly ip: IPAddress;
  readonly services: readonly string[];
  /** The full ordered candidate list (node names), so the node can tell whether someone before it is alive. */
  readonly candidates: readonly string[];
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

const hashWithSuffix = (node: string, suffix: string): Uint8Array => sha256(utf8(node + suffix));

/** Σ weights of the preferredNodeSelectors matching the node, of the advertisements that select the node (MetalLB). */
function scoreOf(node: NodeView, advs: readonly L2Advertisement[]): number {
  let score = 0;
  for (const adv of advs) {
    if (!anySelectorMatches(adv.nodeSelectors, node.labels)) continue;
    for (const p of adv.preferredNodeSelectors) if (selectorMatches(p.preference, node.labels)) score += p.weight;
  }
  return score;
}

/** Interfaces of the advertisements that select the node; [] (= all) when any of them lists none. */
function interfacesOf(node: NodeView, advs: readonly L2Advertisement[]): string[] {
  const names = new Set<string>();
  for (const adv of advs) {
    if (!anySelectorMatches(adv.nodeSelectors, node.labels)) continue;
    if (adv.interfaces.length === 0) return [];
    for (const i of adv.interfaces) names.add(i);
  }
  return [...names].sort(byString);
}

/** Nodes allowed to announce for the advertisements: selected by one of them and not unavailable or excluded. */
function eligibleNodes(advs: readonly L2Advertisement[], nodes: readonly NodeView[]): NodeView[] {
  return nodes.filter(
    (n) => !n.networkUnavailable && !n.excludedFromLoadBalancers && advs.some((a) => anySelectorMatches(a.nodeSelectors, n.labels)),
  );
}

const advsKey = (advs: readonly L2Advertisement[]): string => advs.map((a) => a.name).join("\u0000");

/**
 * Per-call cache of what depends only on a set of advertisements and a node: services of one pool nearly always
 * match the same advertisements, so selector evaluation is done once per (set, node) instead of once per service.
 */
class AdvertisementMemo {
  private readonly eligible = new Map<string, NodeView[]>();
  private readonly candidates = new Map<string, L2Candidate>();

  constructor(private readonly nodes: readonly NodeView[]) {}

  eligibleNodes(advs: readonly L2Advertisement[]): NodeView[] {
    const key = advsKey(advs);
    let hit = this.eligible.get(key);
    if (hit === undefined) {
      hit = eligibleNodes(advs, this.nodes);
      this.eligible.set(key, hit);
    }
    return hit;
  }

  candidate(node: NodeView, advs: readonly L2Advertisement[]): L2Candidate {
    const key = `${advsKey(advs)}\u0001${node.name}`;
    let hit = this.candidates.get(key);
    if (hit === undefined) {
      hit = { node: node.name, score: scoreOf(node, advs), interfaces: interfacesOf(node, advs) };
      this.candidates.set(key, hit);
    }
    return hit;
  }
}

/** A service that passed all checks, with the advertisements that apply and the nodes that may announce it. */
interface Accepted {
  readonly svc: L2ServiceView;
  readonly ips: readonly IPAddress[];
  readonly advs: readonly L2Advertisement[];
  readonly nodes: readonly NodeView[];
}

type Decision = { readonly ok: true; readonly accepted: Accepted } | { readonly ok: false; readonly reason: L2PlanSkipReason };

const skip = (reason: L2PlanSkipReason): Decision => ({ ok: false, reason });

function uniqueIPs(ips: readonly IPAddress[]): IPAddress[] {
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
function decide(config: Config, svc: L2ServiceView, memo: AdvertisementMemo): Decision {
  const ips = uniqueIPs(svc.ips);
  if (ips.length === 0) return skip("noIPs");
  const advs = config.l2Advertisements.filter((a) => a.pools.includes(svc.pool) && anySelectorMatches(a.serviceSelectors, svc.labels));
  if (advs.length === 0) return skip("noMatchingAdvertisement");
  if (svc.sharingKey !== "" && advs.some((a) => a.serviceSelectors.length > 0)) return skip("sharedIPWithServiceSelector");
  if (svc.externalTrafficPolicy === "Cluster" && svc.nodesWithServingEndpoints.length === 0) return skip("noServingEndpoints");
  const eligible = memo.eligibleNodes(advs);
  if (eligible.length === 0) return skip("noEligibleNodes");
  if (svc.externalTrafficPolicy === "Local") {
    const local = eligible.filter((n) => svc.nodesWithServingEndpoints.includes(n.name));
    if (local.length === 0) return skip("noLocalEndpoints");
    return { ok: true, accepted: { svc, ips, advs, nodes: local } };
  }
  return { ok: true, accepted: { svc, ips, advs, nodes: eligible } };
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
  readonly hash: Uint8Array;
}

/**
 * Orders candidates: nodes serving more of the IP's services first (so a shared ETP=Local IP prefers a node with
 * endpoints of every service), then higher preference score, then ascending election hash. Node names break
 * (astronomically unlikely) hash ties.
 */
function compareRanked(a: Ranked, b: Ranked): number {
  if (a.coverage !== b.coverage) return b.coverage - a.coverage;
  if (a.candidate.score !== b.candidate.score) return b.candidate.score - a.candidate.score;
  return compareBytes(a.hash, b.hash) || byString(a.candidate.node, b.candidate.node);
}

function planIP(group: IPGroup, memo: AdvertisementMemo): L2IPPlan {
  const suffix = `#${formatIP(hashIPOf(group))}`;
  const allAdvs = [...new Map(group.members.flatMap((m) => m.advs).map((a) => [a.name, a])).values()].sort((a, b) => byString(a.name, b.name));
  const coverage = new Map<string, { node: NodeView; count: number }>();
  for (const m of group.members) {
    for (const n of m.nodes) {
      const c = coverage.get(n.name);
      if (c === undefined) coverage.set(n.name, { node: n, count: 1 });
      else c.count += 1;
    }
  }
  const ranked: Ranked[] = [...coverage.values()].map(({ node, count }) => ({
    candidate: memo.candidate(node, allAdvs),
    coverage: count,
    hash: hashWithSuffix(node.name, suffix),
  }));
  ranked.sort(compareRanked);
  return {
    ip: group.ip,
    services: [...new Set(group.members.map((m) => m.svc.key))].sort(byString),
    candidates: ranked.map((r) => r.candidate),
  };
}

function byNodeOf(ips: readonly L2IPPlan[]): Map<string, L2NodeEntry[]> {
  const out = new Map<string, L2NodeEntry[]>();
  for (const plan of ips) {
    const names = plan.candidates.map((c) => c.node);
    for (const c of plan.candidates) {
      const entries = out.get(c.node) ?? [];
      entries.push({ ip: plan.ip, services: plan.services, candidates: names, interfaces: c.interfaces });
      out.set(c.node, entries);
    }
  }
  return new Map([...out.entries()].sort(([a], [b]) => byString(a, b)));
}

/**
 * Plans the Layer 2 announcements of the whole cluster. `nodes` is the universe of nodes that run a speaker; the
 * advertisements' nodeSelectors are evaluated against their labels. Services sharing an IP get one candidate list
 * for the IP, so they are always answered for by the same node.
 */
export function planL2Announcements(config: Config, services: readonly L2ServiceView[], nodes: readonly NodeView[]): L2Plan {
  const memo = new AdvertisementMemo(nodes);
  const groups = new Map<string, IPGroup>();
  const outcomes: L2ServiceOutcome[] = [];
  for (const svc of [...services].sort((a, b) => byString(a.key, b.key))) {
    const d = decide(config, svc, memo);
    if (!d.ok) {
      outcomes.push({ service: svc.key, announced: false, reason: d.reason });
      continue;
    }
    for (const ip of d.accepted.ips) {
      const group = groups.get(ipKey(ip)) ?? { ip, members: [] };
      group.members.push(d.accepted);
      groups.set(ipKey(ip), group);
    }
    outcomes.push({ service: svc.key, announced: true, ips: d.accepted.ips, advertisements: d.accepted.advs.map((a) => a.name).sort(byString) });
  }
  const ips = [...groups.values()].sort((a, b) => compareIP(a.ip, b.ip)).map((g) => planIP(g, memo));
  return { ips, byNode: byNodeOf(ips), services: outcomes };
}
