// Speaker-side Layer 2 owner election: the operator's plan gives every IP an ordered candidate list (plan.ts); a
// speaker announces an IP iff it is the first candidate it believes alive and it is not fenced. Because every speaker
// applies the same rule to the same list, ownership moves to the next candidate when the owner dies and back when it
// returns, with no API write on the failover path.

/** Why this speaker does not answer for an IP. */
export type L2SkipReason =
  /** The entry lists no candidate at all (should not be published; handled defensively). */
  | "noCandidates"
  /** This node is not one of the IP's candidates (stale entry). */
  | "notCandidate"
  /** This node may be the isolated one (no peer heartbeat, no apiserver contact), or is warming up or leaving. */
  | "fenced"
  /** A candidate before this node is alive: it owns the IP. */
  | "notOwner";

export type L2AnnounceDecision =
  | { readonly announce: true; readonly reason: "owner"; readonly owner: string }
  | { readonly announce: false; readonly reason: L2SkipReason; readonly owner: string | null };

/** The part of a published entry the election needs (an `L2NodeEntry` fits). */
export interface L2ElectionEntry {
  /** Candidate node names in election order (possibly only those this node sees alive, plus itself). */
  readonly candidates: readonly string[];
  /** How many candidates there are in all; defaults to candidates.length. */
  readonly candidateCount?: number;
}

/** The first candidate in `alive`, or null when none is. */
export function electL2Owner(candidates: readonly string[], alive: ReadonlySet<string>): string | null {
  for (const c of candidates) if (alive.has(c)) return c;
  return null;
}

/**
 * Whether `myNode` answers ARP/NDP for the entry's IP. `alive` is this speaker's liveness view (it contains
 * `myNode` unless fenced); `fenced` is true while this node may be cut off from the others.
 *
 * A fenced node stops answering so that an isolated former owner never competes with its successor — except when it
 * is the IP's only candidate: then nobody else can take the IP over, and withdrawing would only cause an outage (e.g.
 * a single-node cluster during an apiserver outage).
 */
export function shouldAnnounce(entry: L2ElectionEntry, myNode: string, alive: ReadonlySet<string>, fenced: boolean): L2AnnounceDecision {
  if (entry.candidates.length === 0) return { announce: false, reason: "noCandidates", owner: null };
  if (!entry.candidates.includes(myNode)) return { announce: false, reason: "notCandidate", owner: electL2Owner(entry.candidates, alive) };
  const soleCandidate = (entry.candidateCount ?? entry.candidates.length) === 1;
  if (fenced && !soleCandidate) return { announce: false, reason: "fenced", owner: null };
  const view = fenced || !alive.has(myNode) ? new Set([...alive, myNode]) : alive;
  const owner = electL2Owner(entry.candidates, view);
  if (owner === myNode) return { announce: true, reason: "owner", owner };
  return { announce: false, reason: "notOwner", owner };
}

/** Why ownership of an IP moved to this node from `previous` (the owner in this node's view before). */
export type OwnershipChangeReason =
  /** The previous owner's heartbeats stopped (phi above the threshold): crashed, stopped, or cut off. */
  | "ownerSilent"
  /** The previous owner said it was leaving (graceful shutdown, rolling restart). */
  | "ownerLeft"
  /** The previous owner is no candidate any more (excluded from load balancers, node selector, no endpoints). */
  | "nodeExcluded"
  /** The previous owner is cordoned (NodeConfig draining): it ranks last and hands its IPs over while still serving. */
  | "drain"
  /** The previous owner is alive, but this node ranks before it (it came back, or its preference is higher). */
  | "preference";

/** The text of a reason, for Events and logs. */
export const OWNERSHIP_CHANGE_TEXT: Readonly<Record<OwnershipChangeReason, string>> = Object.freeze({
  ownerSilent: "owner silent",
  ownerLeft: "owner left",
  nodeExcluded: "node excluded",
  drain: "node draining",
  preference: "preference",
});

/** What this node knows of its peers when ownership moves: who is alive, who said it was leaving, who is cordoned. */
export interface PeerView {
  readonly alive: ReadonlySet<string>;
  /** Peers whose heartbeats say "leaving" (graceful shutdown). */
  readonly left: ReadonlySet<string>;
  /** Nodes published as draining (cordoned) in their NodeConfig. */
  readonly draining: ReadonlySet<string>;
}

/**
 * Why this node (`me`) now owns an IP that `previous` owned in its view; null when there was no other owner (first
 * owner, or this node had been fenced and did not know one).
 */
export function ownershipChangeReason(previous: string | null, me: string, candidates: readonly string[], peers: PeerView): OwnershipChangeReason | null {
  if (previous === null || previous === me) return null;
  if (!candidates.includes(previous)) return "nodeExcluded";
  if (peers.left.has(previous)) return "ownerLeft";
  if (!peers.alive.has(previous)) return "ownerSilent";
  if (peers.draining.has(previous)) return "drain";
  return "preference";
}

/**
 * Whether the new owner takes the IP without probing first: when the previous owner hands it over (it said it is
 * leaving, or it is draining). Such an owner keeps answering until it sees the new owner's claim (make before
 * break), so a probe would only be answered by it and wait for nothing.
 */
export function handedOver(change: OwnershipChangeReason | null): boolean {
  return change === "ownerLeft" || change === "drain";
}

/**
 * Make before break, on the side of the owner that lets an IP go: the node expected to claim it next, for which
 * this node keeps answering until that node's gratuitous ARP/NA is seen (or a bound passes); null = stop answering
 * at once. Only a node that hands over on purpose holds on (it is leaving: SIGTERM; or it is draining: cordoned),
 * and only while another candidate it believes alive will take the IP. A fenced node (maybe the isolated one) or one
 * preempted by a returning candidate lets go at once, as before.
 */
export function handoverTarget(candidates: readonly string[], me: string, alive: ReadonlySet<string>, handingOff: boolean): string | null {
  if (!handingOff) return null;
  for (const c of candidates) if (c !== me && alive.has(c)) return c;
  return null;
}
