// Bounded heartbeat fan-out for Layer 2 (issue 12): which peers a speaker heartbeats with, and which it presumes
// alive without heartbeats.
//
// A speaker decides an IP from the liveness of the candidates ranked above it (election.ts). Every speaker ranks an
// IP's candidates the same way (preference, then sha256(node#ip), over the nodes that run a speaker), so each can
// compute, for every IP, its *watch group*: the first `depth` candidates. A speaker heartbeats the other members of
// every group it belongs to, and only them: the node ranked k-th (k ≤ depth) hears every node ranked above it, and
// is heard by every node ranked below it within the group. With 1,000 speakers and 10,000 IPs a node belongs to ~30
// groups of 3 (≤ ~90 peers at the tail, see watch.test.ts) instead of heartbeating 999 nodes.
//
// A candidate outside this node's groups is never heard, so "not heard" cannot mean "dead" for it: it is presumed
// alive (it published a run, that is all this node knows) — until the API says otherwise. A *suspect* is a speaker
// whose Node is not Ready (the operator copies the Ready condition into the node's NodeConfig as `notReady`: kubelet
// stopped, marked Unknown by the node lifecycle controller after ~40 s) and that has not been heard since. A suspect
// is not presumed alive: this node heartbeats every suspect ranked above it in its IPs (probePeers), so a suspect
// whose speaker still runs (only its kubelet is down) answers and counts as heard, and a dead one stays silent and
// counts as dead. So when every node of an IP's group dies at once (a rack or power failure), the next live candidate
// claims the IP once the group's Nodes turn NotReady (~40 s: slower than the sub-second failover inside a group, but
// sure); a node whose NodeConfig is gone (its Node deleted) is no candidate at all (joinL2 ranks NodeConfigs only). A
// recovered node stays a suspect until it is heard again (its speaker runs, not just its kubelet),
// so the stand-in keeps the IP until the owner can take it back; then the IP returns by rank. Within a group, failover
// is exactly as before (the phi detector on direct heartbeats). Never two owners: a node that claims has heard, or
// seen as a silent suspect, every candidate ranked above it.

/** Candidates per IP that watch each other (MetalLB-style election: the first live one owns the IP). */
export const DEFAULT_WATCH_DEPTH = 3;

/** What the watch needs of an IP's plan entry: its candidates in election order (an L2NodeEntry or L2IPPlan fits). */
export interface RankedCandidates {
  readonly candidates: ReadonlyArray<string | { readonly node: string }>;
}

const nameOf = (c: string | { readonly node: string }): string => (typeof c === "string" ? c : c.node);

/**
 * The peers `self` heartbeats with: the other members of every IP's first `depth` candidates that include `self`.
 * `entries` are ranked over the nodes that run a speaker (joinL2's `only`); only their first `depth` are read.
 */
export function watchPeers(self: string, entries: Iterable<RankedCandidates>, depth: number = DEFAULT_WATCH_DEPTH): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    const n = Math.min(depth, e.candidates.length);
    let inGroup = false;
    for (let i = 0; i < n; i++) if (nameOf(e.candidates[i] as string | { node: string }) === self) inGroup = true;
    if (!inGroup) continue;
    for (let i = 0; i < n; i++) {
      const name = nameOf(e.candidates[i] as string | { node: string });
      if (name !== self) out.add(name);
    }
  }
  return out;
}

/**
 * Every node's watch peers at once, from the whole cluster's ranked IPs (for sizing: `watchFanOut`). Symmetric: a
 * node watches each member of its groups and is watched by them.
 */
export function watchSets(ips: Iterable<RankedCandidates>, depth: number = DEFAULT_WATCH_DEPTH): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of ips) {
    const group = e.candidates.slice(0, depth).map(nameOf);
    for (const a of group) {
      let set = out.get(a);
      if (set === undefined) {
        set = new Set();
        out.set(a, set);
      }
      for (const b of group) if (b !== a) set.add(b);
    }
  }
  return out;
}

/** The largest and mean watch set of a cluster (heartbeat datagrams per interval per node). */
export function watchFanOut(sets: ReadonlyMap<string, ReadonlySet<string>>): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (const s of sets.values()) {
    max = Math.max(max, s.size);
    sum += s.size;
  }
  return { max, mean: sets.size === 0 ? 0 : sum / sets.size };
}

/**
 * The liveness view the election runs on: the nodes heard alive (heartbeats), plus every other speaker this node
 * does not watch and that is not a suspect (presumed alive: see the file header). A watched speaker or a suspect that
 * is not heard is dead; `self` is never added (its own fence decides).
 */
export function electionView(
  heardAlive: ReadonlySet<string>,
  speakers: Iterable<string>,
  watched: ReadonlySet<string>,
  self: string,
  suspects: ReadonlySet<string> = new Set(),
): Set<string> {
  const out = new Set(heardAlive);
  for (const s of speakers) if (s !== self && !watched.has(s) && !suspects.has(s)) out.add(s);
  return out;
}

/**
 * The suspects `self` must hear to decide its IPs: those ranked above it for an IP it is a candidate of (a suspect
 * ranked below cannot change whether `self` announces). Heartbeated in addition to the watch peers; empty while
 * every Node is Ready, and bounded by the nodes down at once.
 */
export function probePeers(self: string, entries: Iterable<RankedCandidates>, suspects: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  if (suspects.size === 0) return out;
  for (const e of entries) {
    const above: string[] = [];
    for (const c of e.candidates) {
      const name = nameOf(c);
      if (name === self) {
        for (const a of above) out.add(a);
        break;
      }
      if (suspects.has(name)) above.push(name);
    }
  }
  return out;
}
