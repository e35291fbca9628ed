// The speaker's view of what the operator publishes (model/src/announce/contract.ts): every node's NodeConfig half
// and the AnnouncementShards' Service halves, decoded once per object version and joined into the arrays the planners
// take. A batch of events costs the objects that changed: an unchanged shard or NodeConfig is not decoded again, the
// Service array is rebuilt only when a shard changed, and a NodeConfig write that changed only its status (every
// speaker writes its own, transitions only) changes no plan at all (specChanged).
import { decodeNodeConfigSpec, decodeServiceEntry, entryChangedAtMs, type DecodedNodeConfig } from "../../model/src/announce/contract.js";
import type { NodeAnnouncement, ServiceAnnouncement } from "../../model/src/announce/plan.js";

/** Layer 2 plan changes are batched at least this long (a burst of shard and NodeConfig events is one join). */
export const L2_PLAN_BATCH_MS = 10;
/** ... and at least this many times the last join's duration, so joins take at most ~1/(1+factor) of a core. */
export const L2_PLAN_COST_FACTOR = 4;
/** ... but never longer than this (a new Service's Layer 2 answer waits at most this for its join). */
export const L2_PLAN_MAX_BATCH_MS = 1_000;

/**
 * The batch window before the next Layer 2 join. The full join (model/src/layer2/plan.ts, joinL2) cost O(Services)
 * per batch: ~60 ms at 10,000 Services with 2 speakers on this machine, up to 300 ms under load, where shard patches
 * arrive every ~50 ms during a creation burst, so a fixed 10 ms window meant joining back to back. The speaker now
 * joins incrementally (model/src/layer2/join.ts: 3–20 ms for one changed Service of 10,000, bench/README.md
 * "Layer 2 join"), so the window mostly stays 10 ms; it still adapts to the observed cost (a first join, many
 * speakers joining).
 */
export function l2PlanBatchMs(lastJoinMs: number): number {
  return Math.min(L2_PLAN_MAX_BATCH_MS, Math.max(L2_PLAN_BATCH_MS, Math.round(L2_PLAN_COST_FACTOR * lastJoinMs)));
}

/**
 * The delay before a BGP re-plan after a shard change: none while a plan costs under 5 ms (a new Service's prefix is
 * announced at once), else 4x the last plan's cost, at most 1 s (joinBgp alone is 15-100 ms at 10,000 Services).
 */
export function bgpApplyDelayMs(lastPlanMs: number): number {
  if (lastPlanMs < 5) return 0;
  return Math.min(L2_PLAN_MAX_BATCH_MS, Math.round(L2_PLAN_COST_FACTOR * lastPlanMs));
}

export interface PublishedObject {
  metadata?: { name?: string; resourceVersion?: string; generation?: number } | undefined;
  spec?: unknown;
  status?: unknown;
}

/** The Layer 2 run identity a node's speaker published in its NodeConfig (status.l2.incarnation), or null. */
export function l2Incarnation(o: PublishedObject): number | null {
  const inc = (o.status as { l2?: { incarnation?: unknown } } | undefined)?.l2?.incarnation;
  return typeof inc === "number" && Number.isSafeInteger(inc) && inc >= 0 ? inc : null;
}

export type DecodeProblem = (what: { nodeConfig?: string; shard?: string }, err: string) => void;

export class PublishedHalves {
  private readonly shards = new Map<string, { rv: string; entries: ServiceAnnouncement[]; changedAt: Map<string, number> }>();
  private services: ServiceAnnouncement[] | undefined;
  private readonly nodeConfigs = new Map<string, { rv: string; decoded: DecodedNodeConfig | null }>();
  private readonly generations = new Map<string, number>();
  private readonly incarnationsSeen = new Map<string, number | null>();

  constructor(private readonly problem: DecodeProblem) {}

  /**
   * Whether a NodeConfig event can change a plan: adds and deletes do, an update only when its spec changed (its
   * metadata.generation moved; the status subresource leaves it alone) or when the speaker's Layer 2 run identity in
   * its status did (status.l2.incarnation, written once per run: peers must learn it to refuse older heartbeats).
   */
  specChanged(verb: "add" | "update" | "delete", o: PublishedObject): boolean {
    const name = o.metadata?.name ?? "";
    if (verb === "delete") {
      this.generations.delete(name);
      this.incarnationsSeen.delete(name);
      return true;
    }
    const inc = l2Incarnation(o);
    const incarnationMoved = this.incarnationsSeen.has(name) && this.incarnationsSeen.get(name) !== inc;
    this.incarnationsSeen.set(name, inc);
    const gen = o.metadata?.generation;
    const before = this.generations.get(name);
    if (gen === undefined) {
      this.generations.delete(name);
      return true;
    }
    this.generations.set(name, gen);
    return verb === "add" || before !== gen || incarnationMoved;
  }

  /** The Layer 2 incarnation each node's speaker published, by node name (only nodes with a valid half). */
  incarnations(objects: readonly PublishedObject[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const o of objects) {
      const d = this.nodeConfig(o);
      const inc = l2Incarnation(o);
      if (d !== null && inc !== null) out.set(d.node.node, inc);
    }
    return out;
  }

  /** The change time the operator stamped on each Service entry (changedAt), by entry key, of every shard. */
  *changeTimes(): Iterable<[string, number]> {
    for (const s of this.shards.values()) yield* s.changedAt;
  }

  /** One NodeConfig's decoded half (null when invalid), decoded once per resourceVersion. */
  nodeConfig(o: PublishedObject): DecodedNodeConfig | null {
    const name = o.metadata?.name ?? "";
    const rv = o.metadata?.resourceVersion ?? "";
    const hit = this.nodeConfigs.get(name);
    if (hit !== undefined && hit.rv === rv && rv !== "") return hit.decoded;
    const d = decodeNodeConfigSpec(o.spec);
    if (!d.ok) this.problem({ nodeConfig: name }, d.error);
    const decoded = d.ok ? d.value : null;
    this.nodeConfigs.set(name, { rv, decoded });
    return decoded;
  }

  /** Every valid node half among these NodeConfigs (forgetting the ones that are gone). */
  nodes(objects: readonly PublishedObject[]): NodeAnnouncement[] {
    const out: NodeAnnouncement[] = [];
    const seen = new Set<string>();
    for (const o of objects) {
      seen.add(o.metadata?.name ?? "");
      const d = this.nodeConfig(o);
      if (d !== null) out.push(d.node);
    }
    for (const name of this.nodeConfigs.keys()) if (!seen.has(name)) this.nodeConfigs.delete(name);
    return out;
  }

  /** Every published Service half; the same array while no shard changed. */
  serviceEntries(shards: readonly PublishedObject[]): ServiceAnnouncement[] {
    let changed = shards.length !== this.shards.size;
    const seen = new Set<string>();
    for (const o of shards) {
      const name = o.metadata?.name ?? "";
      const rv = o.metadata?.resourceVersion ?? "";
      seen.add(name);
      const hit = this.shards.get(name);
      if (hit !== undefined && hit.rv === rv && rv !== "") continue;
      changed = true;
      const entries: ServiceAnnouncement[] = [];
      const changedAt = new Map<string, number>();
      const services = (o.spec as { services?: Record<string, unknown> } | undefined)?.services ?? {};
      for (const [key, v] of Object.entries(services)) {
        const d = decodeServiceEntry(key, v);
        if (d.ok) entries.push(d.value);
        else this.problem({ shard: name }, d.error);
        const t = entryChangedAtMs(v);
        if (t !== null) changedAt.set(key, t);
      }
      this.shards.set(name, { rv, entries, changedAt });
    }
    for (const name of this.shards.keys()) {
      if (!seen.has(name)) {
        this.shards.delete(name);
        changed = true;
      }
    }
    if (changed || this.services === undefined) {
      const out: ServiceAnnouncement[] = [];
      for (const s of this.shards.values()) for (const e of s.entries) out.push(e);
      this.services = out;
    }
    return this.services;
  }
}
