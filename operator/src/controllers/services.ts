// Service controller (keys "svc/<namespace>/<name>"): converges one Service on the allocator (pure, synchronous),
// writes its status, annotation and Events when they change, and plans its node-independent announcement half into
// its shard. A Service or EndpointSlice event costs this one Service; Services waiting for an IP are retried when IPs
// are freed, not every Service.
import { encodeServiceEntry } from "../../../model/src/announce/contract.js";
import { isAnnounced, planServiceAnnouncement } from "../../../model/src/announce/plan.js";
import { announceVerdict, verdictMessage, type AnnounceVerdict } from "../../../model/src/explain/verdict.js";
import { nodeViewFromObject, servingNodesOfSlice } from "../../../model/src/node-config/views.js";
import { convergeAll, convergeService, type ConvergeResult } from "../../../model/src/service/converge.js";
import {
  formatIPs,
  handlesLoadBalancerClass,
  serviceSnapshotFromObject,
  ANNOTATION_ALLOCATED_FROM_POOL,
  type ServiceSnapshot,
} from "../../../model/src/service/snapshot.js";
import { KeyedPipeline } from "../../../shell/src/keyed-pipeline.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { POOL_STATUS_DELAY_MS } from "./config.js";
import { KEYS, type OperatorContext, type Raw } from "./context.js";
import type { ShardPublisher } from "./shards.js";

/** Nodes with serving endpoints per Service, kept up to date from EndpointSlice events (no list per event). */
export class ServingEndpoints {
  private readonly bySlice = new Map<string, { service: string; nodes: string[] }>();
  private readonly byService = new Map<string, Set<string>>();

  /** Records a slice; returns the Service it belongs to (null when it names none). */
  update(slice: Raw): string | null {
    const id = `${slice.metadata?.namespace ?? ""}/${slice.metadata?.name ?? ""}`;
    const previous = this.bySlice.get(id);
    const now = servingNodesOfSlice(slice);
    if (previous !== undefined) this.byService.get(previous.service)?.delete(id);
    if (now === null) {
      this.bySlice.delete(id);
      return previous?.service ?? null;
    }
    this.bySlice.set(id, now);
    const set = this.byService.get(now.service) ?? new Set<string>();
    set.add(id);
    this.byService.set(now.service, set);
    return now.service;
  }

  remove(slice: Raw): string | null {
    const id = `${slice.metadata?.namespace ?? ""}/${slice.metadata?.name ?? ""}`;
    const previous = this.bySlice.get(id);
    if (previous === undefined) return null;
    this.bySlice.delete(id);
    const set = this.byService.get(previous.service);
    set?.delete(id);
    if (set?.size === 0) this.byService.delete(previous.service);
    return previous.service;
  }

  nodes(service: string): string[] {
    const out = new Set<string>();
    for (const id of this.byService.get(service) ?? []) for (const n of this.bySlice.get(id)?.nodes ?? []) out.add(n);
    return [...out].sort();
  }
}

const AVAILABLE = "false|false";

export class ServiceController {
  /** API writes of converged Services: overlapped across Services, in order per Service. */
  private readonly writes = new KeyedPipeline(16);
  private readonly writeFailures = new Map<string, number>();
  /** Services that could not get what they need: retried when IPs are freed or a sharing key changes. */
  private readonly waiting = new Set<string>();
  /**
   * Per Service: the resourceVersions our last writes left behind (the object before them and after each but the
   * last). While the cache shows one of them it lags behind our own writes, and nothing is written again.
   */
  private readonly ownVersions = new Map<string, { versions: Set<string>; want: string }>();
  /** Per Service: the value being written now. */
  private readonly inFlight = new Map<string, string>();
  /**
   * Services holding IPs that no node announces, with the message of the `NotAnnounced` Event last emitted: an Event
   * is written only when the reason changes, and an `Announced` one when it is fixed (never for a Service that was
   * announced all along). Cleared at each leadership term: a new leader tells each unannounced Service once.
   */
  private readonly notAnnounced = new Map<string, string>();
  /** Node → its availability for load balancers as last seen (`excluded|networkUnavailable`), kept across terms. */
  private readonly availabilitySeen = new Map<string, string>();
  readonly endpoints = new ServingEndpoints();

  constructor(
    private readonly ctx: OperatorContext,
    private readonly shards: ShardPublisher,
  ) {}

  reset(): void {
    this.waiting.clear();
    this.ownVersions.clear();
    this.inFlight.clear();
    this.notAnnounced.clear();
    this.ctx.metrics.notAnnounced.set(0);
  }

  /**
   * A Node event. When its availability for load balancers changes (the exclusion label, NetworkUnavailable, added
   * excluded, deleted) every Service holding IPs is re-planned, since any of them may have lost or gained its last
   * announcing node: a rare transition, like a configuration change. Otherwise only the unannounced Services are
   * re-planned (a new node may fix them): O(unannounced Services). Re-planning an unchanged verdict writes nothing.
   */
  nodeChanged(raw: Raw, deleted: boolean, leading: boolean): void {
    const name = raw.metadata?.name ?? "";
    const view = deleted ? null : nodeViewFromObject(raw);
    const now = view === null ? "gone" : `${view.excludedFromLoadBalancers}|${view.networkUnavailable}`;
    const before = this.availabilitySeen.get(name);
    if (view === null) this.availabilitySeen.delete(name);
    else this.availabilitySeen.set(name, now);
    if (!leading) return;
    const changed = before === undefined ? now !== AVAILABLE : before !== now;
    const keys = changed ? this.ctx.state.alloc.allocations().map((a) => a.key) : [...this.notAnnounced.keys()];
    for (const key of keys) this.ctx.queue.add(`${KEYS.service}${key}`);
  }

  async drain(): Promise<void> {
    await this.writes.drain();
  }

  private snapshot(raw: Raw): ServiceSnapshot | null {
    const nsLabels = this.ctx.inf.namespaces.cache.get(raw.metadata?.namespace ?? "")?.metadata?.labels ?? {};
    const snap = serviceSnapshotFromObject(raw, nsLabels);
    if (snap === null) return null;
    const s = this.ctx.settings;
    return handlesLoadBalancerClass(snap.loadBalancerClass, s.lbClass, s.defaultLbClass) ? snap : null;
  }

  /**
   * Every Service once (first pass of a leadership term, or a configuration change), O(Services): every Service first
   * re-registers the IPs it still validly holds, then the others allocate (convergeAll), so a takeover never changes a
   * valid assignment.
   */
  async reprocessAll(): Promise<Outcome> {
    const { state } = this.ctx;
    if (state.config === null) return DONE;
    const raws = this.ctx.inf.services.cache.list();
    const snaps = raws
      .map((o) => this.snapshot(o))
      .filter((s): s is ServiceSnapshot => s !== null)
      .sort((a, b) => a.view.key.localeCompare(b.view.key));
    const present = new Set(snaps.map((s) => s.view.key));
    for (const a of state.alloc.allocations()) if (!present.has(a.key)) state.alloc.unassign(a.key);
    for (const { snap, result } of convergeAll(state.alloc, snaps, true)) {
      this.record(snap, result);
      this.announce(snap.view.key, snap);
    }
    // Entries of Services that are gone (deleted while no leader ran).
    for (const key of this.shards.publishedKeys()) if (!present.has(key)) this.shards.set(key, null);
    await this.writes.drain();
    state.initialDone = true;
    this.ctx.queue.addAfter(KEYS.poolStatus, POOL_STATUS_DELAY_MS);
    return DONE;
  }

  reconcile(key: string): Outcome {
    const { state, queue } = this.ctx;
    if (state.config === null || !state.initialDone) return DONE; // the first full pass covers it
    const [ns = "", name = ""] = key.split("/");
    const raw = this.ctx.inf.services.cache.get(name, ns);
    const snap = raw === undefined ? null : this.snapshot(raw);
    if (snap === null) {
      this.waiting.delete(key);
      this.ownVersions.delete(key);
      this.forgetVerdict(key);
      this.shards.set(key, null);
      if (state.alloc.unassign(key)) {
        this.ctx.log.info({ service: key }, "released");
        this.retryWaiting();
        queue.addAfter(KEYS.poolStatus, POOL_STATUS_DELAY_MS);
      }
      return DONE;
    }
    const res = this.record(snap, convergeService(state.alloc, snap, true));
    this.announce(key, snap);
    if (res?.reprocessAll === true) this.retryWaiting();
    if (res !== null) queue.addAfter(KEYS.poolStatus, POOL_STATUS_DELAY_MS);
    return DONE;
  }

  private retryWaiting(): void {
    for (const k of this.waiting) this.ctx.queue.add(`${KEYS.service}${k}`);
  }

  /** Plans the Service's node-independent half from what the allocator holds and publishes it in its shard. */
  private announce(key: string, snap: ServiceSnapshot | undefined): void {
    const { state } = this.ctx;
    const config = state.config;
    const pool = state.alloc.poolOf(key);
    const ips = state.alloc.ipsOf(key);
    if (config === null || snap === undefined || pool === null || ips.length === 0) {
      // Pending: MetalLB's AllocationFailed tells why; announcement Events start once it holds IPs.
      this.forgetVerdict(key);
      this.shards.set(key, null);
      return;
    }
    const raw = this.ctx.inf.services.cache.get(snap.name, snap.namespace);
    const etp = (raw?.spec as { externalTrafficPolicy?: string } | undefined)?.externalTrafficPolicy === "Local" ? "Local" : "Cluster";
    const half = planServiceAnnouncement(config, {
      key,
      ips,
      pool,
      labels: snap.view.labels,
      sharingKey: snap.view.sharingKey,
      externalTrafficPolicy: etp,
      nodesWithServingEndpoints: this.endpoints.nodes(key),
    });
    this.shards.set(key, isAnnounced(half) ? encodeServiceEntry(half) : null);
    this.noteVerdict(
      snap,
      announceVerdict(config, half, pool, (name) => this.nodeAvailability(name)),
    );
  }

  private nodeAvailability(name: string): { excludedFromLoadBalancers: boolean; networkUnavailable: boolean } | undefined {
    const raw = this.ctx.inf.nodes.cache.get(name);
    return raw === undefined ? undefined : (nodeViewFromObject(raw) ?? undefined);
  }

  private forgetVerdict(key: string): void {
    if (this.notAnnounced.delete(key)) this.ctx.metrics.notAnnounced.set(this.notAnnounced.size);
  }

  /** Emits `NotAnnounced` when the reason changes and `Announced` when it is fixed; writes nothing otherwise. */
  private noteVerdict(snap: ServiceSnapshot, v: AnnounceVerdict): void {
    const key = snap.view.key;
    const previous = this.notAnnounced.get(key);
    const message = verdictMessage(v);
    if (v.announced ? previous === undefined : previous === message) return;
    if (v.announced) this.notAnnounced.delete(key);
    else this.notAnnounced.set(key, message);
    this.ctx.metrics.notAnnounced.set(this.notAnnounced.size);
    const type = v.announced ? "Normal" : "Warning";
    const reason = v.announced ? "Announced" : "NotAnnounced";
    this.ctx.log.info({ service: key, reason: v.announced ? "announced" : v.reason }, v.announced ? "announced" : "not announced");
    const ref = { apiVersion: "v1", kind: "Service", namespace: snap.namespace, name: snap.name, uid: snap.uid };
    // After the Service's own writes (same pipeline key), so the Event follows the IP it is about.
    void this.writes.run(key, () => this.event(ref, type, reason, message)).catch(() => undefined);
  }

  /**
   * Queues the writes of one converged Service (a synchronous decision already taken on the allocator): status,
   * annotation and Events. A failed write re-queues the Service with backoff; the decision itself is never split by
   * an await.
   */
  private record(snap: ServiceSnapshot, res: ConvergeResult | null): ConvergeResult | null {
    const key = snap.view.key;
    if (res === null) return null;
    if (res.failed) this.waiting.add(key);
    else this.waiting.delete(key);
    const current = `${[...formatIPs(snap.ingressIPs), ...snap.invalidIngress].join(",")}|${snap.allocatedFromPool ?? ""}`;
    const want = `${res.ingress.join(",")}|${res.pool ?? ""}`;
    const own = this.ownVersions.get(key);
    // The cache still shows the object before (or between) our writes of this very value: nothing to write again.
    if (res.events.length === 0 && (current === want || (own !== undefined && own.want === want && own.versions.has(snap.resourceVersion)))) return res;
    // The same value is being written right now: its echo must not queue a second write.
    if (res.events.length === 0 && this.inFlight.get(key) === want) return res;
    this.inFlight.set(key, want);
    const done = (): void => {
      if (this.inFlight.get(key) === want) this.inFlight.delete(key);
    };
    this.writes
      .run(key, () => this.writeService(snap, res, want))
      .then(
        () => {
          done();
          this.writeFailures.delete(key);
        },
        (e: unknown) => {
          done();
          const n = (this.writeFailures.get(key) ?? 0) + 1;
          this.writeFailures.set(key, n);
          this.ownVersions.delete(key);
          const delay = Math.min(250 * 2 ** (n - 1), 60_000);
          this.ctx.metrics.updateErrors.inc();
          this.ctx.log.warn({ service: key, err: e, retryMs: delay }, "writing service failed");
          this.ctx.queue.addAfter(`${KEYS.service}${key}`, delay);
        },
      );
    return res;
  }

  private async writeService(snap: ServiceSnapshot, res: ConvergeResult, want: string): Promise<void> {
    const { writer, log } = this.ctx;
    const key = snap.view.key;
    const base = `/api/v1/namespaces/${snap.namespace}/services/${snap.name}`;
    const current = [...formatIPs(snap.ingressIPs), ...snap.invalidIngress];
    let wrote = false;
    // The object's versions our writes leave behind, except the last one (which shows what we want).
    const versions = new Set([snap.resourceVersion]);
    const wroteVersion = (rv: string): void => {
      versions.add(rv);
      wrote = true;
    };
    const writeStatus = async (): Promise<boolean> => {
      if (current.join(",") === res.ingress.join(",")) return true;
      const ingress = res.ingress.length > 0 ? res.ingress.map((ip) => ({ ip, ipMode: "VIP" })) : null;
      const patched = await writer.mergePatch(`${base}/status`, { status: { loadBalancer: { ingress } } });
      if (patched === null) return false;
      wroteVersion(patched.resourceVersion);
      log.info({ service: key, ips: res.ingress, pool: res.pool }, res.ingress.length > 0 ? "allocated" : "cleared");
      return true;
    };
    const writePool = async (): Promise<boolean> => {
      if (snap.allocatedFromPool === res.pool) return true;
      const patched = await writer.mergePatch(base, { metadata: { annotations: { [ANNOTATION_ALLOCATED_FROM_POOL]: res.pool } } });
      if (patched === null) return false;
      wroteVersion(patched.resourceVersion);
      return true;
    };
    // A reader never sees IPs without their pool: the annotation goes first when setting, last when clearing.
    const order = res.ingress.length > 0 ? [writePool, writeStatus] : [writeStatus, writePool];
    for (const write of order) {
      if (!(await write())) {
        // Gone: the handler releases it once the cache has seen the deletion.
        this.ctx.queue.add(`${KEYS.service}${key}`);
        return;
      }
    }
    this.ownVersions.set(key, { versions, want });
    const ref = { apiVersion: "v1", kind: "Service", namespace: snap.namespace, name: snap.name, uid: snap.uid };
    for (const e of res.events) await this.event(ref, e.type, e.reason, e.message);
    if (wrote) for (const a of snap.deprecatedAnnotations) await this.event(ref, "Warning", "deprecatedAnnotation", `Service uses deprecated annotation ${a}`);
  }

  private async event(
    ref: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string },
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    try {
      await this.ctx.writer.createEvent(ref, type, reason, message);
    } catch (e) {
      this.ctx.log.warn({ err: e, reason }, "recording event failed");
    }
  }
}
