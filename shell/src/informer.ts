// A client-node informer that keeps going: client-node stops an informer on any watch error other than 410, so this
// wrapper restarts it with exponential backoff, and exposes `synced` (the first list is in the cache). Lists are
// raw JSON like the watch events, so every object in the cache has the API's own shape.
import * as k8s from "@kubernetes/client-node";
import { kubeRequest, statusMessage } from "./kube-raw.js";
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
}

export function resilientInformer<T extends k8s.KubernetesObject>(kc: k8s.KubeConfig, path: string, log: Logger, opts: InformerOptions = {}): ResilientInformer<T> {
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
    const q = params.size > 0 ? `?${params.toString()}` : "";
    const res = await kubeRequest(kc, "GET", `${path}${q}`);
    if (res.status !== 200) throw Object.assign(new Error(`list ${path}: ${statusMessage(res)}`), { code: res.status });
    delay = minRetry;
    // After this promise resolves, the informer puts the items into its cache synchronously; a macrotask later the
    // cache holds the whole list.
    setTimeout(markSynced, 0);
    return res.body as k8s.KubernetesListObject<T>;
  };

  const informer = new k8s.ListWatch<T>(path, new k8s.Watch(kc), list, false, opts.labelSelector, opts.fieldSelector);
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
