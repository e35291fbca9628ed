// A client-node informer that keeps going: client-node stops an informer on any watch error other than 410, so this
// wrapper restarts it with exponential backoff, and exposes `synced` (the first list is in the cache). Lists are
// raw JSON like the watch events, so every object in the cache has the API's own shape. Lists are paginated (limit,
// continue), and lists and watches go through the KubeConfig's pooled keep-alive client (shell/src/kube-client.ts).
import * as k8s from "@kubernetes/client-node";
import { kubeClientFor } from "./kube-client.js";
import { statusMessage } from "./kube-raw.js";
import type { Logger } from "./logger.js";

export type Cache<T extends k8s.KubernetesObject> = k8s.ObjectCache<T>;

export interface ResilientInformer<T extends k8s.KubernetesObject> {
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
}

interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/**
 * Lists a collection page by page (limit + continue) and returns one list: every item, and the resourceVersion of the
 * final page, where a watch starts. An expired continue token (410) starts over from the first page.
 */
export async function listAllPages<T>(
  kc: k8s.KubeConfig,
  path: string,
  query: URLSearchParams,
  pageSize = 500,
): Promise<k8s.KubernetesListObject<T & k8s.KubernetesObject>> {
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
    for (const item of page.items ?? []) items.push(item);
    cont = page.metadata?.continue ?? "";
    if (cont === "") {
      const { continue: _c, ...metadata } = page.metadata ?? {};
      return { ...(page as object), metadata, items } as k8s.KubernetesListObject<T & k8s.KubernetesObject>;
    }
  }
}

export function resilientInformer<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  path: string,
  log: Logger,
  opts: InformerOptions = {},
): ResilientInformer<T> {
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const minRetry = opts.minRetryMs ?? 500;
  const maxRetry = opts.maxRetryMs ?? 30_000;
  let delay = minRetry;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const list = async (): Promise<k8s.KubernetesListObject<T>> => {
    const params = new URLSearchParams();
    if (opts.labelSelector !== undefined) params.set("labelSelector", opts.labelSelector);
    if (opts.fieldSelector !== undefined) params.set("fieldSelector", opts.fieldSelector);
    const all = await listAllPages<T>(kc, path, params, opts.pageSize);
    delay = minRetry;
    // After this promise resolves, the informer puts the items into its cache synchronously; a macrotask later the
    // cache holds the whole list.
    setTimeout(markSynced, 0);
    return all;
  };

  const watch = new k8s.Watch(kubeClientFor(kc).watchConfig());
  const informer = new k8s.ListWatch<T>(path, watch, list, false, opts.labelSelector, opts.fieldSelector);
  informer.on("error", (err: unknown) => {
    if (stopped) return;
    log.warn({ err, path, retryMs: delay }, "informer stopped, restarting");
    retryTimer = setTimeout(() => {
      informer.start().catch((e: unknown) => log.warn({ err: e, path }, "informer restart failed"));
    }, delay);
    delay = Math.min(delay * 2, maxRetry);
  });

  return {
    cache: informer,
    synced,
    path,
    on: (verb, cb) => informer.on(verb, cb),
    start: () => informer.start(),
    stop: async () => {
      stopped = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await informer.stop();
    },
  };
}
