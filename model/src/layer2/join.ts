// Incremental Layer 2 join (issue 12): the same result as joinL2 (plan.ts, kept as the reference), at the cost of what
// changed instead of IPs × speakers per plan.
//
// joinL2 re-decides every Service and, per IP, hashes every candidate (sha256(node#ip)) and sorts: at 1,000 speakers ×
// 10,000 IPs that is 10 M hashes, about a minute of CPU, on every batch of shard/NodeConfig changes and every time a
// speaker is heard or publishes its run. This join keeps, per IP, its ranked candidates (names, election-hash prefix,
// rank, score, interfaces) and the inputs they came from, and on each update:
//   - a Service added, removed or changed re-decides that Service and re-ranks only its IPs (old and new);
//   - a node whose Layer 2 half changed (networkUnavailable, exclusion, draining, the L2Advertisements selecting it,
//     their weights and interfaces), that appears or disappears, or that starts or stops running a speaker (`only`),
//     moves only its own position in the IPs it may announce: one binary search and one splice per IP, and one hash
//     per IP it was not ranked in (the others keep their memoized hash). A node's eligibility for a set of
//     advertisements depends on its own half only, so a Service's decision can change only when the count of eligible
//     nodes crosses zero (or, for ETP=Local, when one of its endpoint nodes changed): only those are re-decided;
//   - nothing else: inputs equal to the previous ones (same objects, or equal content) cost one comparison each.
// Equality with joinL2 (ips, byNode, services, candidateCount, order) is checked by a seeded randomized test
// (join.test.ts) after every step of random sequences of changes.
//
// Hashes are compared by their first 48 bits (a number, no allocation); equal prefixes fall back to the full digests
// and then the names, exactly as joinL2's compareRanked. Node names are assumed unique within `nodes` (NodeConfig names).
import type { NodeAnnouncement, NodeL2Advertisement, ServiceAnnouncement } from "../announce/plan.js";
import { compareBytes } from "../bytes.js";
import { compareIP, formatIP, type IPAddress } from "../net/ip.js";
import {
  byNodeOf,
  candidateOf,
  hashWithSuffix,
  uniqueIPs,
  type L2IPPlan,
  type L2NodeEntry,
  type L2Plan,
  type L2PlanSkipReason,
  type L2ServiceOutcome,
} from "./plan.js";

const NO_INTERFACES: readonly string[] = Object.freeze([]);
const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const ipKey = (ip: IPAddress): string => `${ip.family}|${ip.value}`;

/** The first 48 bits of a digest as a number: orders like the digest except on equal prefixes. */
function prefix48(d: Uint8Array): number {
  const hi = ((d[0] ?? 0) << 16) | ((d[1] ?? 0) << 8) | (d[2] ?? 0);
  const lo = ((d[3] ?? 0) << 16) | ((d[4] ?? 0) << 8) | (d[5] ?? 0);
  return hi * 0x1000000 + lo;
}

type Decision = { readonly ok: true } | { readonly ok: false; readonly reason: L2PlanSkipReason };
const OK: Decision = Object.freeze({ ok: true });

interface ServiceState {
  svc: ServiceAnnouncement;
  /** Its IPs without duplicates (joinL2's uniqueIPs). */
  readonly ips: readonly IPAddress[];
  /** The keys of ips (formatted once). */
  readonly ipKeys: readonly string[];
  /** svc.l2 joined: the key of its AdvGroup. */
  readonly advKey: string;
  /** ETP=Local: the nodes with a serving endpoint; null for Cluster. */
  readonly local: ReadonlySet<string> | null;
  /** Whether the decision depends on the nodes (passed the node-independent checks): indexed in its AdvGroup. */
  readonly nodeDependent: boolean;
  decision: Decision;
}

/** The Services sharing one list of L2Advertisements, and the nodes eligible for it (any of them selects the node). */
interface AdvGroup {
  readonly advs: readonly string[];
  readonly eligible: Set<string>;
  readonly services: Set<string>;
}

/** One announced IP: its members and its ranked candidates, in columns (one row per candidate, election order). */
interface IPState {
  readonly ip: IPAddress;
  readonly key: string;
  /** Accepted Services using the IP. */
  readonly members: Set<string>;
  inOrder: boolean;
  /** "#" + the IP whose text is hashed (the lowest first IP of the members). */
  suffix: string;
  /** The members' advertisements, sorted (scores and interfaces are taken over them). */
  advs: readonly string[];
  services: readonly string[];
  /** Nodes that may announce it, among all nodes (not only `only`). */
  count: number;
  /** Copy on write: handed out in entries. */
  names: readonly string[];
  readonly hashes: number[];
  /** coverage × 2 + (draining ? 0 : 1): higher first. */
  readonly ranks: number[];
  readonly scores: number[];
  readonly ifs: (readonly string[])[];
  /** The entry of `self`, cached; undefined = to compute, null = not a candidate. */
  entry: L2NodeEntry | null | undefined;
}

/** One candidate row being placed. */
interface Row {
  readonly name: string;
  readonly hash: number;
  readonly rank: number;
  readonly score: number;
  readonly ifs: readonly string[];
}

/** A node whose half or speaker membership changed in this update, with its eligibility per AdvGroup before. */
interface NodeChange {
  readonly name: string;
  readonly before: ReadonlyMap<string, boolean>;
}

function eligibleFor(half: NodeAnnouncement | undefined, advs: readonly string[]): boolean {
  return half !== undefined && !half.networkUnavailable && !half.excludedFromLoadBalancers && half.l2Advertisements.some((a) => advs.includes(a.name));
}

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function sameIPs(a: readonly IPAddress[], b: readonly IPAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.family === b[i]?.family && x.value === b[i]?.value);
}

/** Whether two Service halves plan alike in Layer 2 (the fields joinL2 reads). */
function sameL2Service(a: ServiceAnnouncement, b: ServiceAnnouncement): boolean {
  if (a === b) return true;
  if (a.hasEndpoints !== b.hasEndpoints || a.l2Skip !== b.l2Skip || !sameIPs(a.ips, b.ips) || !sameStrings(a.l2, b.l2)) return false;
  if (a.localNodes === null || b.localNodes === null) return a.localNodes === b.localNodes;
  return sameStrings(a.localNodes, b.localNodes);
}

const sameL2Adv = (a: NodeL2Advertisement, b: NodeL2Advertisement | undefined): boolean =>
  b !== undefined && a.name === b.name && a.weight === b.weight && sameStrings(a.interfaces, b.interfaces);

/** Whether two node halves plan alike in Layer 2 (the fields joinL2 reads; undefined = no such node). */
function sameL2Node(a: NodeAnnouncement | undefined, b: NodeAnnouncement | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (a.networkUnavailable !== b.networkUnavailable || a.excludedFromLoadBalancers !== b.excludedFromLoadBalancers || a.draining !== b.draining) return false;
  return a.l2Advertisements.length === b.l2Advertisements.length && a.l2Advertisements.every((x, i) => sameL2Adv(x, b.l2Advertisements[i]));
}

export interface IncrementalL2JoinOptions {
  /** The node whose entries `entries()` returns (a speaker's own node), cached per IP. */
  readonly self?: string;
  /** The election hash, sha256(node + suffix) (hashWithSuffix); tests count the calls through it. */
  readonly hash?: (node: string, suffix: string) => Uint8Array;
}

/**
 * joinL2, kept up to date: call `update` with the whole inputs each time (as joinL2 would be called); it diffs them
 * against the previous ones and re-ranks only what they affect. `plan()` is joinL2's result for the last inputs;
 * `entries()` is `plan().byNode.get(self) ?? []` without building the rest. `only` undefined = every node (as joinL2).
 */
export class IncrementalL2Join {
  private readonly self: string | undefined;
  private readonly hash: (node: string, suffix: string) => Uint8Array;
  private readonly compare = (a: Row, b: Row, suffix: string): number => compareRows(a, b, suffix, this.hash);
  private nodes = new Map<string, NodeAnnouncement>();
  private nodeList: readonly NodeAnnouncement[] | undefined;
  private serviceList: readonly ServiceAnnouncement[] | undefined;
  private only: ReadonlySet<string> | undefined;
  private readonly services = new Map<string, ServiceState>();
  private readonly groups = new Map<string, AdvGroup>();
  private readonly ips = new Map<string, IPState>();
  /** The IPs in plan order (compareIP). */
  private readonly order: IPState[] = [];
  /** IPs whose members changed in this update: re-ranked from scratch at its end. */
  private dirty = new Set<IPState>();
  /** Per AdvGroup touched in this update: its eligible count before, and the nodes whose eligibility changed. */
  private touched = new Map<string, { sizeBefore: number; nodes: Set<string> }>();

  constructor(options: IncrementalL2JoinOptions = {}) {
    this.self = options.self;
    this.hash = options.hash ?? hashWithSuffix;
  }

  /**
   * Brings the join up to date with these inputs (joinL2's arguments). The arrays and objects must not be mutated
   * afterwards: the same services array as last time is taken as unchanged without a look (the speaker's arrays are
   * rebuilt when a shard changes), and unchanged objects are recognised by identity before their content.
   */
  update(services: readonly ServiceAnnouncement[], nodes: readonly NodeAnnouncement[], only?: ReadonlySet<string>): void {
    this.dirty = new Set();
    this.touched = new Map();
    const changes = nodes === this.nodeList && only === undefined && this.only === undefined ? [] : this.updateNodes(nodes, only);
    if (services !== this.serviceList) this.updateServices(services);
    this.serviceList = services;
    this.redecideTouched();
    for (const change of changes) this.moveNode(change);
    for (const st of this.dirty) this.rerank(st);
  }

  /** This node's entries (`self`), sorted by IP: what joinL2's byNode holds for it. */
  entries(): L2NodeEntry[] {
    const self = this.self;
    if (self === undefined) return [];
    const out: L2NodeEntry[] = [];
    for (const st of this.order) {
      if (st.entry === undefined) {
        const i = st.names.indexOf(self);
        st.entry = i < 0 ? null : { ip: st.ip, services: st.services, candidates: st.names, candidateCount: st.count, interfaces: st.ifs[i] ?? NO_INTERFACES };
      }
      if (st.entry !== null) out.push(st.entry);
    }
    return out;
  }

  /** joinL2's result for the last inputs (builds every candidate: O(IPs × candidates)). */
  plan(): L2Plan {
    const ips: L2IPPlan[] = this.order.map((st) => ({
      ip: st.ip,
      services: st.services,
      candidates: st.names.map((node, i) => ({ node, score: st.scores[i] ?? 0, interfaces: st.ifs[i] ?? NO_INTERFACES })),
      candidateCount: st.count,
    }));
    const outcomes: L2ServiceOutcome[] = [...this.services.values()]
      .sort((a, b) => byString(a.svc.key, b.svc.key))
      .map((s) =>
        s.decision.ok
          ? { service: s.svc.key, announced: true, ips: s.ips, advertisements: s.svc.l2 }
          : { service: s.svc.key, announced: false, reason: s.decision.reason },
      );
    return { ips, byNode: byNodeOf(ips), services: outcomes };
  }

  // --- nodes -------------------------------------------------------------------------------------------------------

  private inOnly(only: ReadonlySet<string> | undefined, name: string): boolean {
    return only === undefined || only.has(name);
  }

  /** Takes in the new nodes and `only`; updates eligibility; returns the nodes whose place in the rankings may move. */
  private updateNodes(nodes: readonly NodeAnnouncement[], only: ReadonlySet<string> | undefined): NodeChange[] {
    const next = new Map(nodes.map((n) => [n.node, n]));
    const changes: NodeChange[] = [];
    const names = new Set([...this.nodes.keys(), ...next.keys()]);
    for (const name of names) {
      const before = this.nodes.get(name);
      const after = next.get(name);
      const sameHalf = sameL2Node(before, after);
      if (sameHalf && this.inOnly(this.only, name) === this.inOnly(only, name)) continue;
      const eligibleBefore = new Map<string, boolean>();
      for (const [key, g] of this.groups) eligibleBefore.set(key, g.eligible.has(name));
      changes.push({ name, before: eligibleBefore });
      if (!sameHalf) this.updateEligibility(name, after);
    }
    this.nodes = next;
    this.nodeList = nodes;
    this.only = only === undefined ? undefined : new Set(only);
    return changes;
  }

  private updateEligibility(name: string, half: NodeAnnouncement | undefined): void {
    for (const [key, g] of this.groups) {
      const now = eligibleFor(half, g.advs);
      if (now === g.eligible.has(name)) continue;
      let t = this.touched.get(key);
      if (t === undefined) {
        t = { sizeBefore: g.eligible.size, nodes: new Set() };
        this.touched.set(key, t);
      }
      t.nodes.add(name);
      if (now) g.eligible.add(name);
      else g.eligible.delete(name);
    }
  }

  /** Re-decides the Services whose decision an eligibility change may flip. */
  private redecideTouched(): void {
    for (const [key, t] of this.touched) {
      const g = this.groups.get(key);
      if (g === undefined) continue;
      const crossed = (t.sizeBefore === 0) !== (g.eligible.size === 0);
      for (const svcKey of g.services) {
        const st = this.services.get(svcKey);
        if (st === undefined) continue;
        const local = st.local;
        if (crossed || (local !== null && [...t.nodes].some((n) => local.has(n)))) this.redecide(st);
      }
    }
  }

  /** Moves one node in every clean IP it could announce before or after (dirty IPs are re-ranked anyway). */
  private moveNode(change: NodeChange): void {
    const targets = new Set<IPState>();
    for (const [key, wasEligible] of change.before) {
      const g = this.groups.get(key);
      if (g === undefined || (!wasEligible && !g.eligible.has(change.name))) continue;
      for (const svcKey of g.services) {
        const st = this.services.get(svcKey);
        if (st === undefined || !st.decision.ok || (st.local !== null && !st.local.has(change.name))) continue;
        for (const key of st.ipKeys) {
          const ipState = this.ips.get(key);
          if (ipState !== undefined && !this.dirty.has(ipState)) targets.add(ipState);
        }
      }
    }
    for (const ipState of targets) this.moveNodeAt(ipState, change);
  }

  private moveNodeAt(st: IPState, change: NodeChange): void {
    const name = change.name;
    let before = 0;
    let after = 0;
    for (const key of st.members) {
      const m = this.services.get(key);
      if (m === undefined || (m.local !== null && !m.local.has(name))) continue;
      if (change.before.get(m.advKey) === true) before += 1;
      if (this.groups.get(m.advKey)?.eligible.has(name) === true) after += 1;
    }
    const countBefore = st.count;
    st.count += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    const i = st.names.indexOf(name);
    const row = this.rowOf(st, name, after, i < 0 ? undefined : st.hashes[i]);
    if (i >= 0 && row !== null && this.sameRow(st, i, row)) {
      if (st.count !== countBefore) st.entry = undefined;
      return;
    }
    if (i >= 0) this.removeAt(st, i);
    if (row !== null) this.insert(st, row);
    st.entry = undefined;
  }

  // --- services ----------------------------------------------------------------------------------------------------

  private updateServices(services: readonly ServiceAnnouncement[]): void {
    const next = new Map(services.map((s) => [s.key, s]));
    for (const key of [...this.services.keys()]) if (!next.has(key)) this.removeService(key);
    for (const svc of next.values()) {
      const st = this.services.get(svc.key);
      if (st !== undefined && sameL2Service(st.svc, svc)) {
        st.svc = svc;
        continue;
      }
      if (st !== undefined) this.removeService(svc.key);
      this.addService(svc);
    }
  }

  private removeService(key: string): void {
    const st = this.services.get(key);
    if (st === undefined) return;
    this.setDecision(st, { ok: false, reason: "noIPs" });
    this.services.delete(key);
    if (!st.nodeDependent) return;
    const g = this.groups.get(st.advKey);
    g?.services.delete(key);
    if (g !== undefined && g.services.size === 0) this.groups.delete(st.advKey);
  }

  private addService(svc: ServiceAnnouncement): void {
    const ips = uniqueIPs(svc.ips);
    const local = svc.localNodes === null ? null : new Set(svc.localNodes);
    const nodeDependent = ips.length > 0 && svc.l2Skip === null && (local !== null || svc.hasEndpoints);
    const st: ServiceState = {
      svc,
      ips,
      ipKeys: ips.map(ipKey),
      advKey: svc.l2.join("\u0000"),
      local,
      nodeDependent,
      decision: { ok: false, reason: "noIPs" },
    };
    this.services.set(svc.key, st);
    if (nodeDependent) this.groupOf(st).services.add(svc.key);
    this.setDecision(st, this.decide(st));
  }

  private groupOf(st: ServiceState): AdvGroup {
    let g = this.groups.get(st.advKey);
    if (g === undefined) {
      const advs = st.svc.l2;
      g = { advs, eligible: new Set([...this.nodes.values()].filter((n) => eligibleFor(n, advs)).map((n) => n.node)), services: new Set() };
      this.groups.set(st.advKey, g);
    }
    return g;
  }

  /** MetalLB's ShouldAnnounce checks that do not depend on the announcing node, in joinL2's order. */
  private decide(st: ServiceState): Decision {
    if (st.ips.length === 0) return { ok: false, reason: "noIPs" };
    if (st.svc.l2Skip !== null) return { ok: false, reason: st.svc.l2Skip };
    if (st.local === null && !st.svc.hasEndpoints) return { ok: false, reason: "noServingEndpoints" };
    const eligible = this.groups.get(st.advKey)?.eligible;
    if (eligible === undefined || eligible.size === 0) return { ok: false, reason: "noEligibleNodes" };
    if (st.local !== null && ![...st.local].some((n) => eligible.has(n))) return { ok: false, reason: "noLocalEndpoints" };
    return OK;
  }

  private redecide(st: ServiceState): void {
    const d = this.decide(st);
    const same = d.ok ? st.decision.ok : !st.decision.ok && st.decision.reason === d.reason;
    if (!same) this.setDecision(st, d);
  }

  /** Sets a Service's decision; when it joins or leaves its IPs, they are marked dirty. */
  private setDecision(st: ServiceState, d: Decision): void {
    const was = st.decision.ok;
    st.decision = d;
    if (was === d.ok) return;
    for (const [i, ip] of st.ips.entries()) {
      const key = st.ipKeys[i] ?? ipKey(ip);
      let ipState = this.ips.get(key);
      if (ipState === undefined) {
        if (!d.ok) continue;
        ipState = newIPState(ip, key);
        this.ips.set(key, ipState);
      }
      if (d.ok) ipState.members.add(st.svc.key);
      else ipState.members.delete(st.svc.key);
      this.dirty.add(ipState);
    }
  }

  // --- ranking -----------------------------------------------------------------------------------------------------

  /** Re-ranks an IP whose members changed, from scratch (hashes reused while the hashed IP stays the same). */
  private rerank(st: IPState): void {
    const members = [...st.members].flatMap((k) => this.services.get(k) ?? []);
    if (members.length === 0) {
      this.ips.delete(st.key);
      if (st.inOrder) this.order.splice(this.orderIndex(st), 1);
      return;
    }
    const memo = new Map<string, number>();
    const suffix = `#${formatIP(hashIPOf(members))}`;
    if (suffix === st.suffix) st.names.forEach((n, i) => memo.set(n, st.hashes[i] ?? 0));
    st.suffix = suffix;
    st.advs = [...new Set(members.flatMap((m) => m.svc.l2))].sort(byString);
    st.services = members.map((m) => m.svc.key).sort(byString);
    st.count = this.countCovered(members);
    const rows: Row[] = [];
    for (const name of this.rankable(members)) {
      const row = this.rowOf(st, name, this.coverageOf(members, name), memo.get(name));
      if (row !== null) rows.push(row);
    }
    rows.sort((a, b) => this.compare(a, b, suffix));
    st.names = rows.map((r) => r.name);
    st.hashes.length = st.ranks.length = st.scores.length = st.ifs.length = 0;
    for (const r of rows) {
      st.hashes.push(r.hash);
      st.ranks.push(r.rank);
      st.scores.push(r.score);
      st.ifs.push(r.ifs);
    }
    st.entry = undefined;
    if (!st.inOrder) {
      this.order.splice(this.insertionIndex(st.ip), 0, st);
      st.inOrder = true;
    }
  }

  /** The nodes that may announce an accepted Service: eligible, and hosting an endpoint for ETP=Local. */
  private coveredBy(st: ServiceState): ReadonlySet<string> | readonly string[] {
    const eligible = this.groups.get(st.advKey)?.eligible ?? new Set<string>();
    if (st.local === null) return eligible;
    return [...st.local].filter((n) => eligible.has(n));
  }

  /** How many nodes (all, not only `only`) may announce an IP with these members. */
  private countCovered(members: readonly ServiceState[]): number {
    if (members.length === 1 && members[0] !== undefined) {
      const covered = this.coveredBy(members[0]);
      return covered instanceof Set ? covered.size : (covered as readonly string[]).length;
    }
    const all = new Set<string>();
    for (const m of members) for (const n of this.coveredBy(m)) all.add(n);
    return all.size;
  }

  /** The nodes to try as ranked candidates: the speakers (`only`) when it is the smaller set, else the covered nodes. */
  private rankable(members: readonly ServiceState[]): Iterable<string> {
    const only = this.only;
    const covered = members.length === 1 && members[0] !== undefined ? this.coveredBy(members[0]) : null;
    if (only !== undefined && (covered === null || only.size < (covered instanceof Set ? covered.size : (covered as readonly string[]).length))) return only;
    if (covered !== null) return covered;
    const all = new Set<string>();
    for (const m of members) for (const n of this.coveredBy(m)) all.add(n);
    return all;
  }

  /** How many of the members a node may announce (its coverage: ETP=Local members sharing an IP differ). */
  private coverageOf(members: readonly ServiceState[], name: string): number {
    let n = 0;
    for (const m of members) if (this.groups.get(m.advKey)?.eligible.has(name) === true && (m.local === null || m.local.has(name))) n += 1;
    return n;
  }

  /** A node's row at an IP, or null when it is no ranked candidate there (not running a speaker, covers nothing). */
  private rowOf(st: IPState, name: string, coverage: number, hash: number | undefined): Row | null {
    const half = this.nodes.get(name);
    if (coverage === 0 || half === undefined || !this.inOnly(this.only, name)) return null;
    const c = candidateOf(half, st.advs);
    return {
      name,
      hash: hash ?? prefix48(this.hash(name, st.suffix)),
      rank: coverage * 2 + (half.draining ? 0 : 1),
      score: c.score,
      ifs: c.interfaces.length === 0 ? NO_INTERFACES : c.interfaces,
    };
  }

  private rowAt(st: IPState, i: number): Row {
    return { name: st.names[i] ?? "", hash: st.hashes[i] ?? 0, rank: st.ranks[i] ?? 0, score: st.scores[i] ?? 0, ifs: st.ifs[i] ?? NO_INTERFACES };
  }

  private sameRow(st: IPState, i: number, row: Row): boolean {
    return st.ranks[i] === row.rank && st.scores[i] === row.score && sameStrings(st.ifs[i] ?? NO_INTERFACES, row.ifs);
  }

  private removeAt(st: IPState, i: number): void {
    st.names = st.names.toSpliced(i, 1);
    st.hashes.splice(i, 1);
    st.ranks.splice(i, 1);
    st.scores.splice(i, 1);
    st.ifs.splice(i, 1);
  }

  /** Inserts a row at its place in the election order (binary search). */
  private insert(st: IPState, row: Row): void {
    let lo = 0;
    let hi = st.names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.rowAt(st, mid), row, st.suffix) < 0) lo = mid + 1;
      else hi = mid;
    }
    st.names = st.names.toSpliced(lo, 0, row.name);
    st.hashes.splice(lo, 0, row.hash);
    st.ranks.splice(lo, 0, row.rank);
    st.scores.splice(lo, 0, row.score);
    st.ifs.splice(lo, 0, row.ifs);
  }

  private insertionIndex(ip: IPAddress): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.order[mid];
      if (at !== undefined && compareIP(at.ip, ip) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private orderIndex(st: IPState): number {
    const i = this.insertionIndex(st.ip);
    if (this.order[i] !== st) throw new Error(`IncrementalL2Join: ${st.key} is not where the order says`);
    return i;
  }
}

function newIPState(ip: IPAddress, key: string): IPState {
  return {
    ip,
    key,
    members: new Set(),
    inOrder: false,
    suffix: "",
    advs: [],
    services: [],
    count: 0,
    names: [],
    hashes: [],
    ranks: [],
    scores: [],
    ifs: [],
    entry: undefined,
  };
}

/** joinL2's hashIPOf: the lowest first IP of the members (both IPs of a dual-stack Service land on one node). */
function hashIPOf(members: readonly ServiceState[]): IPAddress {
  let best: IPAddress | undefined;
  for (const m of members) {
    const first = m.ips[0];
    if (first !== undefined && (best === undefined || compareIP(first, best) < 0)) best = first;
  }
  if (best === undefined) throw new Error("IncrementalL2Join: an IP without members was ranked");
  return best;
}

/** joinL2's compareRanked on rows: coverage, not draining, score (all descending), then the hash, then the name. */
function compareRows(a: Row, b: Row, suffix: string, hash: (node: string, suffix: string) => Uint8Array): number {
  if (a.rank !== b.rank) return b.rank - a.rank;
  if (a.score !== b.score) return b.score - a.score;
  if (a.hash !== b.hash) return a.hash < b.hash ? -1 : 1;
  return compareBytes(hash(a.name, suffix), hash(b.name, suffix)) || byString(a.name, b.name);
}
