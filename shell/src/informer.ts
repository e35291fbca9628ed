// An informer that keeps going, in our own small code over the pooled keep-alive client (shell/src/kube-client.ts):
// list (paginated: limit + continue, as client-go's pager) into a cache, then watch from the list's resourceVersion
// with bookmarks; a watch that ends is resumed from the last resourceVersion seen, an expired one (410) lists again
// (deletes for what vanished, updates only for a new resourceVersion, as client-node's ListWatch did), and any other
// failure is retried with exponential backoff. `synced` resolves once the first list is in the cache.
// Objects are kept as the API's raw JSON minus metadata.managedFields (nothing here reads them; at 10,000 Services and
// 10,000 EndpointSlices they are about half of the cache: ~43 MiB of heap with them, ~20 MiB without) and minus a
// Node's status.images. Nothing writes a cached object back with PUT, so nothing dropped here can be lost.
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { kubeClientFor, type RunningWatch, type WatchEvent } from "./kube-client.js";
import type { KubeConfigLike } from "./kubeconfig.js";
import { statusMessage } from "./kube-raw.js";
import type { Logger } from "./logger.js";

/** Read access to an informer's objects (client-node's ObjectCache shape). */
export interface ObjectCache<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
}

export type Cache<T extends KubernetesObject> = ObjectCache<T>;

export interface ResilientInformer<T extends KubernetesObject> {
  readonly cache: Cache<T>;
  /** Resolves once the first list has been put into the cache. */
  readonly synced: Promise<void>;
  readonly path: string;
  on(verb: "add" | "update" | "delete", cb: (obj: T) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Objects per list page (default 500, as client-go's pager). */
  pageSize?: number;
  /** Server-side watch timeout, seconds (default: random in 300–600, as client-go's reflector). */
  watchTimeoutSeconds?: number;
}

interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** Drops what no reader of an informer cache uses (managedFields), in place; returns the object. */
export function trimObject<T>(obj: T): T {
  const meta = (obj as { metadata?: { managedFields?: unknown } } | null)?.metadata;
  if (meta !== undefined && meta !== null && "managedFields" in meta) delete meta.managedFields;
  return obj;
}

/** trimObject, and for Nodes their image list too (tens of entries per node, read by nothing here). */
export function trimNode<T>(obj: T): T {
  const status = (trimObject(obj) as { status?: { images?: unknown } } | null)?.status;
  if (status !== undefined && status !== null && "images" in status) delete status.images;
  return obj;
}

/** What an informer of this collection keeps of each object. */
export function trimmerFor(path: string): <T>(obj: T) => T {
  return path === "/api/v1/nodes" ? trimNode : trimObject;
}

/**
 * Lists a collection page by page (limit + continue) and returns one list: every item, and the resourceVersion of the
 * final page, where a watch starts. An expired continue token (410) starts over from the first page.
 */
export async function listAllPages<T>(
  kc: KubeConfigLike,
  path: string,
  query: URLSearchParams,
  pageSize = 500,
  each: (item: T) => T = (x) => x,
): Promise<KubernetesListObject<T & KubernetesObject>> {
  const client = kubeClientFor(kc);
  let items: T[] = [];
  let cont = "";
  for (let restarts = 0; ;) {
    const params = new URLSearchParams(query);
    params.set("limit", String(pageSize));
    if (cont !== "") params.set("continue", cont);
    const res = await client.request("GET", `${path}?${params.toString()}`);
    if (res.status === 410 && cont !== "" && restarts < 3) {
      restarts++;
      items = [];
      cont = "";
      continue;
    }
    if (res.status !== 200) throw Object.assign(new Error(`list ${path}: ${statusMessage(res)}`), { code: res.status });
    const page = res.body as ListPage<T>;
    for (const item of page.items ?? []) items.push(each(item));
    cont = page.metadata?.continue ?? "";
    if (cont === "") {
      const { continue: _c, ...metadata } = page.metadata ?? {};
      return { ...(page as object), metadata, items } as KubernetesListObject<T & KubernetesObject>;
    }
  }
}

type Verb = "add" | "update" | "delete";

/** Objects by namespace and name, with the add/update/delete callbacks of client-node's ListWatch. */
class Store<T extends KubernetesObject> implements ObjectCache<T> {
  private objects = new Map<string, Map<string, T>>();
  readonly callbacks: Record<Verb, Array<(o: T) => void>> = { add: [], update: [], delete: [] };

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? "")?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined || namespace === "") {
      const all: T[] = [];
      for (const m of this.objects.values()) for (const o of m.values()) all.push(o);
      return all;
    }
    return [...(this.objects.get(namespace)?.values() ?? [])];
  }

  upsert(obj: T): void {
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    let m = this.objects.get(ns);
    if (m === undefined) this.objects.set(ns, (m = new Map<string, T>()));
    const found = m.get(name);
    if (found === undefined) {
      m.set(name, obj);
      this.emit("add", obj);
      return;
    }
    const rv = found.metadata?.resourceVersion;
    if (rv !== undefined && rv !== "" && rv === obj.metadata?.resourceVersion) return;
    m.set(name, obj);
    this.emit("update", obj);
  }

  remove(obj: T): void {
    const ns = obj.metadata?.namespace ?? "";
    const m = this.objects.get(ns);
    if (m === undefined || !m.delete(obj.metadata?.name ?? "")) return;
    if (m.size === 0) this.objects.delete(ns);
    this.emit("delete", obj);
  }

  /** A fresh list: what is no longer there is deleted (with its last known state), the rest added or updated. */
  replace(items: readonly T[]): void {
    const keep = new Set(items.map((o) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`));
    for (const o of this.list()) if (!keep.has(`${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`)) this.remove(o);
    for (const o of items) this.upsert(o);
  }

  private emit(verb: Verb, obj: T): void {
    for (const cb of this.callbacks[verb].slice()) cb(obj);
  }
}

export function resilientInformer<T extends KubernetesObject>(kc: KubeConfigLike, path: string, log: Logger, opts: InformerOptions = {}): ResilientInformer<T> {
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const minRetry = opts.minRetryMs ?? 500;
  const maxRetry = opts.maxRetryMs ?? 30_000;
  const store = new Store<T>();
  const trim = trimmerFor(path);
  const client = kubeClientFor(kc);
  const selectors = new URLSearchParams();
  if (opts.labelSelector !== undefined) selectors.set("labelSelector", opts.labelSelector);
  if (opts.fieldSelector !== undefined) selectors.set("fieldSelector", opts.fieldSelector);

  let stopped = true;
  let running: Promise<void> | undefined;
  let current: RunningWatch | undefined;
  let wakeUp: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });

  /** One list (when rv is empty) and one watch; returns the resourceVersion to resume from ("" = list again). */
  const cycle = async (rv: string): Promise<string> => {
    if (rv === "") {
      const list = await listAllPages<T>(kc, path, selectors, opts.pageSize, trim);
      if (stopped) return "";
      store.replace(list.items);
      rv = list.metadata?.resourceVersion ?? "";
      markSynced();
    }
    const params = new URLSearchParams(selectors);
    params.set("resourceVersion", rv);
    params.set("allowWatchBookmarks", "true");
    const timeout = opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    params.set("timeoutSeconds", String(timeout));
    let next = rv;
    let failure: Error | undefined;
    const onEvent = (e: WatchEvent): void => {
      if (e.type === "ERROR") {
        const st = e.object as { code?: number; message?: string } | null;
        // 410: the resourceVersion is too old for the watch cache; anything else: retry the watch from where it was.
        if (st?.code === 410) next = "";
        else failure ??= Object.assign(new Error(`watch ${path}: ${st?.message ?? "error event"}`), { code: st?.code });
        current?.stop();
        return;
      }
      if (next === "") return; // after a 410 the rest of this stream is ignored; a list follows
      const obj = trim(e.object as T);
      if (e.type === "ADDED" || e.type === "MODIFIED") store.upsert(obj);
      else if (e.type === "DELETED") store.remove(obj);
      const v = obj.metadata?.resourceVersion;
      if (v !== undefined && v !== "") next = v;
    };
    current = client.watch(path, params, onEvent, (timeout + 60) * 1000);
    try {
      await current.done;
    } finally {
      current = undefined;
    }
    if (failure !== undefined) throw failure;
    return next;
  };

  const run = async (): Promise<void> => {
    let rv = "";
    let delay = minRetry;
    while (!stopped) {
      const started = Date.now();
      try {
        rv = await cycle(rv);
        delay = minRetry;
        // The server ends a watch at timeoutSeconds; one that ends at once (a proxy closing it) is not hammered.
        if (rv !== "" && Date.now() - started < 1_000 && !stopped) await sleep(minRetry);
      } catch (err) {
        if (stopped) break;
        if ((err as { code?: unknown }).code === 410) {
          rv = "";
          continue;
        }
        log.warn({ err, path, retryMs: delay }, "informer stopped, restarting");
        await sleep(delay);
        delay = Date.now() - started > 60_000 ? minRetry : Math.min(delay * 2, maxRetry);
      }
    }
  };

  return {
    cache: store,
    synced,
    path,
    on: (verb, cb) => {
      store.callbacks[verb].push(cb);
    },
    start: () => {
      if (!stopped) return Promise.resolve();
      stopped = false;
      running = run().catch((err: unknown) => log.error({ err, path }, "informer loop failed"));
      return Promise.resolve();
    },
    stop: async () => {
      stopped = true;
      current?.stop();
      wakeUp?.();
      await running;
    },
  };
}
