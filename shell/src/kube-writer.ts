// Writes to the API: merge patches (status subresource or metadata) and Events. Controllers depend on the narrow
// KubeWriter interface only.
import type { KubeConfigLike } from "./kubeconfig.js";
import { kubeRequest, statusMessage } from "./kube-raw.js";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = "Normal" | "Warning";

export interface KubeWriter {
  /**
   * JSON merge patch on `path` (an object path, optionally ending in /status). Returns the patched object's
   * resourceVersion ("" when the answer has none), or null on 404.
   */
  mergePatch(path: string, patch: unknown): Promise<{ resourceVersion: string } | null>;
  createEvent(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface EventRecord {
  name: string;
  count: number;
  firstTimestamp: string;
}

export interface ApiWriterOptions {
  /** Reported as the Event source. */
  component: string;
  now?: () => number;
}

export class ApiWriter implements KubeWriter {
  private readonly recent = new Map<string, EventRecord>();
  private readonly now: () => number;

  constructor(
    private readonly kc: KubeConfigLike,
    private readonly opts: ApiWriterOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async mergePatch(path: string, patch: unknown): Promise<{ resourceVersion: string } | null> {
    const res = await kubeRequest(this.kc, "PATCH", path, patch, "application/merge-patch+json");
    if (res.status === 404) return null;
    if (res.status >= 300) throw new ApiError(res.status, `PATCH ${path}: ${statusMessage(res)}`);
    const rv = (res.body as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
    return { resourceVersion: typeof rv === "string" ? rv : "" };
  }

  /** Creates an Event, or bumps the count of the identical one created before (as client-go's recorder does). */
  async createEvent(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    const key = [ref.namespace, ref.kind, ref.name, type, reason, message].join("\u0000");
    const now = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    const path = `/api/v1/namespaces/${ref.namespace}/events`;
    const prev = this.recent.get(key);
    if (prev !== undefined) {
      prev.count++;
      const res = await kubeRequest(this.kc, "PATCH", `${path}/${prev.name}`, { count: prev.count, lastTimestamp: now }, "application/merge-patch+json");
      if (res.status < 300) return;
      this.recent.delete(key);
    }
    const name = `${ref.name}.${this.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const body = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: ref.namespace },
      involvedObject: {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
        ...(ref.uid !== undefined ? { uid: ref.uid } : {}),
      },
      type,
      reason,
      message,
      source: { component: this.opts.component },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.component,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: null,
      count: 1,
    };
    const res = await kubeRequest(this.kc, "POST", path, body);
    if (res.status >= 300) throw new ApiError(res.status, `creating event ${reason} on ${ref.kind} ${ref.namespace}/${ref.name}: ${statusMessage(res)}`);
    if (this.recent.size > 5000) this.recent.clear();
    this.recent.set(key, { name, count: 1, firstTimestamp: now });
  }
}
