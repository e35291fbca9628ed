// ServiceL2Status objects (MetalLB's contract): the node announcing a Service in Layer 2 mode keeps one object per
// Service in the speaker namespace (status node / serviceName / serviceNamespace / interfaces) and removes the
// objects of other nodes for the same Service; a node deletes its own objects for Services it no longer announces.
//
// Work in proportion to the change (issue 12): this node's objects are read from a watch (an informer selecting the
// `metallb.io/node=<node>` label MetalLB sets), so a sync pass lists nothing and writes only the differences between
// what is announced and that cache; a quiet node sends no request at all. Other nodes' objects are looked at only
// when a Service becomes this node's: one label-selected list (served from the apiserver's watch cache) per 100
// newly announced Services, at most once per 5 s, deleting the stale ones found. Writes are coalesced (only the latest wanted state is
// written, one pass at a time) and overlap across objects, a few at a time.
import { createHash } from "node:crypto";
import { resilientInformer, type ResilientInformer } from "../../../shell/src/informer.js";
import { KeyedPipeline } from "../../../shell/src/keyed-pipeline.js";
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import type { Logger } from "../../../shell/src/logger.js";

export interface AnnouncedService {
  /** "namespace/name". */
  service: string;
  /** Interfaces it is announced on when restricted by the advertisement; empty = all. */
  interfaces: readonly string[];
}

export interface L2StatusSyncOptions {
  kc: KubeConfigLike;
  nodeName: string;
  namespace: string;
  log: Logger;
  /** Called after every successful API round trip (liveness: apiserver contact). */
  onApiSuccess?: () => void;
  /** Delay before a failed pass is retried (default 2 s). */
  retryMs?: number;
  /** Least time between two looks for other nodes' stale objects (default 5 s; the first one is immediate). */
  cleanupIntervalMs?: number;
}

interface Raw {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name: string }> | null };
}

interface Wanted {
  service: string;
  svcName: string;
  svcNs: string;
  status: { node: string; serviceName: string; serviceNamespace: string; interfaces?: Array<{ name: string }> };
  key: string;
}

const API = "metallb.io/v1beta1";
const NODE_LABEL = "metallb.io/node";
const NAME_LABEL = "metallb.io/service-name";
const NS_LABEL = "metallb.io/service-namespace";
/** Writes in flight at once. */
const WRITE_CONCURRENCY = 8;
/** Newly announced Services looked up per list of other nodes' objects (bounds the selector's length). */
const CLEANUP_BATCH = 100;

/** The object name for a node's status of a Service: stable, so creates are idempotent. */
export function l2StatusName(node: string, service: string): string {
  return `l2-${createHash("sha256").update(`${node}/${service}`).digest("hex").slice(0, 20)}`;
}

/** What a status says, in one comparable string (absent and empty interfaces are the same). */
function statusKey(s: Raw["status"]): string {
  if (s === undefined) return "";
  return JSON.stringify([s.node ?? "", s.serviceName ?? "", s.serviceNamespace ?? "", (s.interfaces ?? []).map((i) => i.name)]);
}

export class L2StatusSync {
  /** Wanted status per object name of this node. */
  private wanted = new Map<string, Wanted>();
  /**
   * Per object name, what this sync last wrote and the watch has not shown yet: a status key, or null for a delete.
   * The watch lags behind our own writes; without this a pass right after a write would write again.
   */
  private readonly written = new Map<string, string | null>();
  /** Services announced here whose other nodes' objects were already looked for since they became this node's. */
  private readonly cleaned = new Set<string>();
  private readonly informer: ResilientInformer<Raw>;
  private readonly path: string;
  private informerStarted = false;
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private cleanupTimer: ReturnType<typeof setTimeout> | undefined;
  private lastCleanupAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private wakeStopped: (() => void) | undefined;
  private readonly stoppedSignal = new Promise<void>((r) => (this.wakeStopped = r));

  constructor(private readonly opts: L2StatusSyncOptions) {
    this.path = `/apis/${API}/namespaces/${opts.namespace}/servicel2statuses`;
    this.informer = resilientInformer<Raw>(opts.kc, this.path, opts.log.child({ informer: "servicel2statuses" }), {
      labelSelector: `${NODE_LABEL}=${opts.nodeName}`,
    });
    this.informer.on("add", (o) => this.observed(o));
    this.informer.on("update", (o) => this.observed(o));
    this.informer.on("delete", (o) => {
      const name = o.metadata?.name ?? "";
      this.written.delete(name);
      // Someone else (a node taking the Service over, a person) deleted an object this node still wants.
      if (this.wanted.has(name)) this.kick();
    });
  }

  /** Sets what this node announces now and schedules a sync. */
  set(announced: readonly AnnouncedService[]): void {
    const { nodeName } = this.opts;
    const wanted = new Map<string, Wanted>();
    const services = new Set<string>();
    for (const a of announced) {
      const [svcNs = "", svcName = ""] = a.service.split("/");
      const status = {
        node: nodeName,
        serviceName: svcName,
        serviceNamespace: svcNs,
        ...(a.interfaces.length > 0 ? { interfaces: a.interfaces.map((n) => ({ name: n })) } : {}),
      };
      wanted.set(l2StatusName(nodeName, a.service), { service: a.service, svcName, svcNs, status, key: statusKey(status) });
      services.add(a.service);
    }
    this.wanted = wanted;
    // A Service that leaves and comes back may have been another node's meanwhile: look again then.
    for (const s of [...this.cleaned]) if (!services.has(s)) this.cleaned.delete(s);
    this.kick();
  }

  /** Resolves when no sync is running or pending (tests). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeStopped?.();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.cleanupTimer !== undefined) clearTimeout(this.cleanupTimer);
    await this.informer.stop();
  }

  /** A watch event for one of this node's objects: our own write coming back, or a change to correct. */
  private observed(o: Raw): void {
    const name = o.metadata?.name ?? "";
    const pending = this.written.get(name);
    if (pending === null) return; // our delete is on its way
    const seen = statusKey(o.status);
    if (pending !== undefined) {
      // Our create, before its status: the status write follows.
      if (seen !== pending && (o.status?.node ?? "") === "") return;
      // Our write is back (or someone else's edit came after it): the cache is the truth again.
      this.written.delete(name);
    }
    const w = this.wanted.get(name);
    if (w === undefined || w.key !== seen) this.kick();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.syncOnce();
      } catch (e) {
        this.opts.log.warn({ err: e }, "syncing ServiceL2Status failed, retrying");
        if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), this.opts.retryMs ?? 2_000);
      }
    } while (this.again && !this.stopped);
  }

  private async req(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: unknown }> {
    const res = await kubeRequest(this.opts.kc, method, path, body, contentType);
    if (res.status > 0 && res.status < 500) this.opts.onApiSuccess?.();
    return res;
  }

  private async syncOnce(): Promise<void> {
    if (!this.informerStarted) {
      this.informerStarted = true;
      await this.informer.start();
    }
    // The first pass waits for the first list of this node's objects (later passes find it done at once).
    await Promise.race([this.informer.synced, this.stoppedSignal]);
    if (this.stopped) return;
    const { nodeName, namespace } = this.opts;
    const path = this.path;
    const writes = new KeyedPipeline(WRITE_CONCURRENCY);
    const jobs: Array<Promise<void>> = [];
    let failure: Error | undefined;
    const queue = (name: string, job: () => Promise<void>): void => {
      jobs.push(
        writes.run(name, job).catch((e: unknown) => {
          failure ??= e instanceof Error ? e : new Error(String(e));
        }),
      );
    };

    for (const [name, w] of this.wanted) {
      const cur = this.informer.cache.get(name, namespace);
      const pending = this.written.get(name);
      if (pending === w.key) continue; // written, not back through the watch yet
      if (pending === undefined && cur !== undefined && statusKey(cur.status) === w.key) continue;
      // A pending write of ours means the object exists (a pending delete: it will not); else the cache knows.
      const exists = pending === undefined ? cur !== undefined : pending !== null;
      this.written.set(name, w.key);
      queue(name, async () => {
        try {
          if (!exists) {
            const created = await this.req("POST", path, {
              apiVersion: API,
              kind: "ServiceL2Status",
              metadata: { name, namespace, labels: { [NODE_LABEL]: nodeName, [NAME_LABEL]: w.svcName, [NS_LABEL]: w.svcNs } },
            });
            if (created.status >= 300 && created.status !== 409) throw new Error(`creating ServiceL2Status for ${w.service}: ${statusMessage(created)}`);
          }
          // A merge patch cannot remove list entries selectively; replace the interfaces explicitly (null = none).
          const patch = { status: { ...w.status, interfaces: w.status.interfaces ?? null } };
          const res = await this.req("PATCH", `${path}/${name}/status`, patch, "application/merge-patch+json");
          if (res.status >= 300) throw new Error(`writing ServiceL2Status for ${w.service}: ${statusMessage(res)}`);
          this.opts.log.info({ service: w.service }, "ServiceL2Status written");
        } catch (e) {
          if (this.written.get(name) === w.key) this.written.delete(name);
          throw e;
        }
      });
    }

    // This node's objects for Services it no longer announces.
    for (const o of this.informer.cache.list(namespace)) {
      const name = o.metadata?.name ?? "";
      if (name === "" || this.wanted.has(name) || this.written.get(name) === null) continue;
      this.written.set(name, null);
      queue(name, () => this.remove(name));
    }

    // As MetalLB's leader does: another node's object for a Service this node announces is stale (its node died
    // before deleting it; a live node deletes its own, a restarted one its leftovers). Looked for once per Service that
    // became this node's, not on every pass, and at most once per interval: a burst of Services arriving one pass at a
    // time costs one small list (per 100 Services) per interval, not one per pass.
    const fresh = [...new Set([...this.wanted.values()].map((w) => w.service))].filter((s) => !this.cleaned.has(s));
    const interval = this.opts.cleanupIntervalMs ?? 5_000;
    const wait = this.lastCleanupAt + interval - Date.now();
    if (fresh.length > 0 && wait > 0) {
      this.cleanupTimer ??= setTimeout(() => {
        this.cleanupTimer = undefined;
        this.kick();
      }, wait);
    } else if (fresh.length > 0) {
      this.lastCleanupAt = Date.now();
      try {
        for (let i = 0; i < fresh.length && !this.stopped; i += CLEANUP_BATCH) {
          const batch = fresh.slice(i, i + CLEANUP_BATCH);
          const names = [...new Set(batch.map((s) => s.split("/")[1] ?? ""))].sort();
          const params = new URLSearchParams({ labelSelector: `${NODE_LABEL}!=${nodeName},${NAME_LABEL} in (${names.join(",")})`, resourceVersion: "0" });
          const list = await this.req("GET", `${path}?${params.toString()}`);
          if (list.status !== 200) throw new Error(`listing other nodes' ServiceL2Status: ${statusMessage(list)}`);
          const mine = new Set(batch);
          for (const o of (list.body as { items?: Raw[] }).items ?? []) {
            const labels = o.metadata?.labels ?? {};
            const name = o.metadata?.name ?? "";
            if (name === "" || labels[NODE_LABEL] === nodeName || !mine.has(`${labels[NS_LABEL] ?? ""}/${labels[NAME_LABEL] ?? ""}`)) continue;
            queue(name, () => this.remove(name, true));
          }
          for (const s of batch) this.cleaned.add(s);
        }
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      }
    }

    await Promise.all(jobs);
    await writes.drain();
    if (failure !== undefined) {
      // Look again for the stale objects of the Services whose cleanup may have failed.
      if (fresh.length > 0) for (const s of fresh) this.cleaned.delete(s);
      throw failure;
    }
  }

  private async remove(name: string, othersNode = false): Promise<void> {
    const res = await this.req("DELETE", `${this.path}/${name}`);
    if (res.status >= 300 && res.status !== 404) {
      if (!othersNode && this.written.get(name) === null) this.written.delete(name);
      throw new Error(`deleting ServiceL2Status ${name}: ${statusMessage(res)}`);
    }
  }
}
