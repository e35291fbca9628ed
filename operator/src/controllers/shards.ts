// Announcement shard publisher (keys "shard/<n>"): keeps AnnouncementShard objects equal to the Services' halves the
// Service controller planned. A Service lands in the shard its key hashes to; a change is a JSON merge patch of that
// one entry (plus the shard's count), batched per shard for a few milliseconds, so a Service change writes one small
// patch whatever the number of nodes, and an unchanged Service writes nothing.
import { entryContent, shardName, shardOf, type ServiceEntrySpec } from "../../../model/src/announce/contract.js";
import { kubeRequest, statusMessage, type RawResponse } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { KEYS, MANAGED_BY, NODE_CONFIG_API, type OperatorContext } from "./context.js";
import { canonicalJson } from "../../../model/src/canonical-json.js";

export const DEFAULT_ANNOUNCEMENT_SHARDS = 64;
/** Changes to one shard are batched this long (a burst of creates becomes one patch per shard). */
const SHARD_BATCH_MS = 20;

interface ShardState {
  /** Entries as written, without their change time (canonical JSON per Service key). */
  published: Map<string, string>;
  /** Changes not written yet: entry, or null to remove. */
  dirty: Map<string, ServiceEntrySpec | null>;
  exists: boolean;
}

export class ShardPublisher {
  private readonly shards = new Map<number, ShardState>();

  constructor(
    private readonly ctx: OperatorContext,
    readonly shardCount: number,
    private readonly now: () => number = Date.now,
  ) {}

  private path(index?: number): string {
    const base = `${NODE_CONFIG_API}/namespaces/${this.ctx.settings.namespace}/announcementshards`;
    return index === undefined ? base : `${base}/${shardName(index)}`;
  }

  /** Rebuilds what is published from the shard cache (a new leadership term). O(published entries), once. */
  reset(): void {
    this.shards.clear();
    for (const o of this.ctx.inf.shards.cache.list()) {
      const index = (o.spec as { shard?: unknown } | undefined)?.shard;
      if (typeof index !== "number" || o.metadata?.name !== shardName(index)) continue;
      const services = (o.spec as { services?: Record<string, unknown> } | undefined)?.services ?? {};
      const content = (v: unknown): string => canonicalJson(entryContent(v as ServiceEntrySpec));
      this.shards.set(index, { published: new Map(Object.entries(services).map(([k, v]) => [k, content(v)])), dirty: new Map(), exists: true });
    }
  }

  private state(index: number): ShardState {
    let s = this.shards.get(index);
    if (s === undefined) {
      s = { published: new Map(), dirty: new Map(), exists: false };
      this.shards.set(index, s);
    }
    return s;
  }

  /**
   * Sets (or with null removes) a Service's entry; writes only when it differs from what is published. A changed entry
   * carries the time of this change (`changedAt`, kept through a batch: the first change of a burst counts).
   */
  set(key: string, entry: ServiceEntrySpec | null): void {
    const index = shardOf(key, this.shardCount);
    const s = this.state(index);
    const text = entry === null ? null : canonicalJson(entryContent(entry));
    const pending = s.dirty.get(key);
    const current = pending !== undefined ? (pending === null ? null : canonicalJson(entryContent(pending))) : (s.published.get(key) ?? null);
    if (current === text) return;
    if (pending !== undefined && (s.published.get(key) ?? null) === text) s.dirty.delete(key);
    else s.dirty.set(key, entry === null ? null : { ...entryContent(entry), changedAt: pending?.changedAt ?? new Date(this.now()).toISOString() });
    this.ctx.queue.addAfter(`${KEYS.shard}${index}`, SHARD_BATCH_MS);
  }

  /** Service keys with a published entry (the first full pass removes those of Services that are gone). */
  publishedKeys(): string[] {
    return [...this.shards.values()].flatMap((s) => [...s.published.keys()]);
  }

  async reconcile(indexText: string): Promise<Outcome> {
    const index = Number(indexText);
    const s = this.shards.get(index);
    if (s === undefined || s.dirty.size === 0) return DONE;
    const batch = new Map(s.dirty);
    s.dirty.clear();
    // The shard's entries once this batch is written: its count, and its whole body when it must be created.
    const after = new Map(s.published);
    for (const [k, v] of batch) {
      if (v === null) after.delete(k);
      else after.set(k, canonicalJson(entryContent(v)));
    }
    const patch = (): Promise<RawResponse> =>
      kubeRequest(this.ctx.kc, "PATCH", this.path(index), { spec: { count: after.size, services: Object.fromEntries(batch) } }, "application/merge-patch+json");
    let res: RawResponse;
    if (!s.exists) {
      const services = Object.fromEntries([...after].map(([k, text]) => [k, batch.get(k) ?? (JSON.parse(text) as ServiceEntrySpec)]));
      res = await kubeRequest(this.ctx.kc, "POST", this.path(), {
        apiVersion: "metallb-ts.dev/v1alpha1",
        kind: "AnnouncementShard",
        metadata: { name: shardName(index), namespace: this.ctx.settings.namespace, labels: MANAGED_BY },
        spec: { shard: index, count: after.size, services },
      });
      // Created meanwhile (cache lag): patch instead.
      if (res.status === 409) res = await patch();
    } else {
      res = await patch();
      if (res.status === 404) {
        // Deleted behind our back: recreate it whole.
        s.exists = false;
        s.published.clear();
        for (const [k, text] of after) if (!s.dirty.has(k)) s.dirty.set(k, JSON.parse(text) as ServiceEntrySpec);
        return { kind: "retry", reason: `${shardName(index)} was deleted` };
      }
    }
    if (res.status >= 300) {
      for (const [k, v] of batch) if (!s.dirty.has(k)) s.dirty.set(k, v);
      this.ctx.log.warn({ shard: shardName(index), err: statusMessage(res) }, "publishing announcement shard failed");
      return { kind: "retry", reason: `${shardName(index)}: ${statusMessage(res)}` };
    }
    s.exists = true;
    s.published = after;
    this.ctx.log.debug({ shard: shardName(index), changed: batch.size, services: after.size }, "published announcement shard");
    return DONE;
  }
}
