// One connection pool per process for every call to the apiserver. client-node's applyToHTTPSOptions makes a new
// https.Agent per call, so each REST call and each watch paid a TCP + TLS handshake. A KubeClient keeps one keep-alive
// agent per (server, TLS credentials) and counts what the process sends (requests, body bytes by verb) so the
// benchmark can read the cost per Service at the client.
//
// The client belongs to the kubeconfig object the caller created: kubeClientFor(kc) attaches it to that object (a
// symbol-keyed, non-enumerable property), so `kubeRequest(kc, ...)` call sites keep working and share the pool, and a
// second kubeconfig (another identity, another cluster) gets its own. No module-level mutable state.
// The kubeconfig is ours (shell/src/kubeconfig.ts) in the processes; tests may pass client-node's, same shape. Watches
// are ours too (watch() below): no runtime import of @kubernetes/client-node on the operator's or speaker's path.
import * as http from "node:http";
import * as https from "node:https";
import { performance } from "node:perf_hooks";
import { Counter, Gauge, type Registry } from "prom-client";
import type { KubeCluster, KubeConfigLike } from "./kubeconfig.js";
import type { Logger } from "./logger.js";

export type RequestVerb = "GET" | "LIST" | "WATCH" | "POST" | "PUT" | "PATCH" | "DELETE" | "OTHER";
export const REQUEST_VERBS: readonly RequestVerb[] = ["GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE", "OTHER"];

/** A request body that is already JSON text (e.g. int64 values a JS number cannot hold exactly). */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface RawResponse {
  status: number;
  body: unknown;
}

/** One event of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (object is then a Status). */
export interface WatchEvent {
  type: string;
  object: unknown;
}

export interface RunningWatch {
  /** Settles when the stream ends: resolved on a clean end or stop(), rejected on an error. */
  readonly done: Promise<void>;
  stop(): void;
}

export interface KubeRequestOptions {
  /** Abort the whole request (not only an idle socket) after this many milliseconds. */
  deadlineMs?: number;
}

/** Thrown instead of sending a write that a write guard refused (e.g. leadership lapsed). Nothing reached the API. */
export class WriteRefusedError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${method} ${path}: not sent: ${reason}`);
    this.name = "WriteRefusedError";
  }
}

/** Returns undefined to allow a write, or the reason to refuse it. Consulted synchronously right before sending. */
export type WriteGuard = () => string | undefined;

export interface VerbStats {
  requests: number;
  requestBytes: number;
  responseBytes: number;
}

export interface KubeClientStats {
  byVerb: Readonly<Record<RequestVerb, VerbStats>>;
  largestRequestBytes: number;
  /** TCP/TLS connections opened (a pooled client opens one per concurrent request, then reuses them). */
  connections: number;
  refusedWrites: number;
}

export interface KubeClientOptions {
  /** Logs each write sent or refused at debug level, with a monotonic timestamp. */
  log?: Logger;
  /** Sockets kept open per agent (default 64; watches hold one each while they run). */
  maxSockets?: number;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The verb a call counts under: GET on a collection is LIST, with watch=true WATCH. Paths are the API's
 * (/api/v1/..., /apis/group/version/...); anything else (/readyz, /version) is a GET.
 */
export function requestVerb(method: string, path: string): RequestVerb {
  const m = method.toUpperCase();
  if (m !== "GET") return (REQUEST_VERBS as readonly string[]).includes(m) ? (m as RequestVerb) : "OTHER";
  const q = path.indexOf("?");
  const pathname = q < 0 ? path : path.slice(0, q);
  if (q >= 0 && new URLSearchParams(path.slice(q + 1)).get("watch") === "true") return "WATCH";
  const seg = pathname.split("/").filter((s) => s !== "");
  let rest: string[];
  if (seg[0] === "api" && seg.length >= 2) rest = seg.slice(2);
  else if (seg[0] === "apis" && seg.length >= 3) rest = seg.slice(3);
  else return "GET";
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  return rest.length === 1 ? "LIST" : "GET";
}

function emptyStats(): Record<RequestVerb, VerbStats> {
  const out = {} as Record<RequestVerb, VerbStats>;
  for (const v of REQUEST_VERBS) out[v] = { requests: 0, requestBytes: 0, responseBytes: 0 };
  return out;
}

const TLS_FIELDS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername", "ciphers", "crl", "secureProtocol"] as const;

function tlsKey(server: string, opts: https.RequestOptions): string {
  const parts = [server];
  for (const f of TLS_FIELDS) {
    const v: unknown = (opts as Record<string, unknown>)[f];
    if (v === undefined) parts.push("");
    else if (Buffer.isBuffer(v)) parts.push(v.toString("base64"));
    else parts.push(JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString("base64") : x)));
  }
  return parts.join("\u0000");
}

interface PooledAgent {
  key: string;
  agent: http.Agent;
}

export class KubeClient {
  private readonly stats = emptyStats();
  private largest = 0;
  private connections = 0;
  private refused = 0;
  private pooled: PooledAgent | undefined;
  private readonly guards = new Set<WriteGuard>();

  constructor(
    readonly kc: KubeConfigLike,
    private readonly opts: KubeClientOptions = {},
  ) {}

  snapshot(): KubeClientStats {
    const byVerb = emptyStats();
    for (const v of REQUEST_VERBS) byVerb[v] = { ...this.stats[v] };
    return { byVerb, largestRequestBytes: this.largest, connections: this.connections, refusedWrites: this.refused };
  }

  /** Adds a guard every write (POST/PUT/PATCH/DELETE) must pass right before it is sent; returns its remover. */
  addWriteGuard(guard: WriteGuard): () => void {
    this.guards.add(guard);
    return () => {
      this.guards.delete(guard);
    };
  }

  /** Closes the pooled connections (idle ones at once; busy ones when their request ends). */
  close(): void {
    this.pooled?.agent.destroy();
    this.pooled = undefined;
  }

  async request(method: string, path: string, body?: unknown, contentType = "application/json", ro: KubeRequestOptions = {}): Promise<RawResponse> {
    const cluster = this.kc.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig has no current cluster");
    const verb = requestVerb(method, path);
    const write = MUTATING.has(verb);
    // Refuse early (no connection needed), and again right before the bytes go out (below).
    if (write) this.guard(method, path);
    const opts: https.RequestOptions = { method, headers: { "content-type": contentType, accept: "application/json" }, timeout: 30_000 };
    await this.kc.applyToHTTPSOptions(opts);
    const pooled = this.agentFor(cluster, opts);
    opts.agent = pooled.agent;
    const url = new URL(path, cluster.server);
    const text = body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body);
    const bytes = text === undefined ? 0 : Buffer.byteLength(text);
    const send = url.protocol === "http:" ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          this.stats[verb].responseBytes += c.length;
        });
        res.on("end", () => {
          clearTimeout(deadline);
          const raw = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on("error", reject);
      });
      const deadline =
        ro.deadlineMs === undefined
          ? undefined
          : setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer within ${ro.deadlineMs} ms`)), ro.deadlineMs);
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", (e) => {
        clearTimeout(deadline);
        reject(e);
      });
      // Headers and body leave only at end(). A write waits for a usable connection (a new one may need a TCP and
      // TLS handshake, during which the process may be frozen) and passes the guards again in the same tick.
      const go = (): void => {
        if (write) {
          try {
            this.guard(method, path);
          } catch (e) {
            req.destroy(e as Error);
            return;
          }
        }
        this.count(verb, method, path, bytes);
        req.end(text);
      };
      if (!write || !pooled.ours) {
        go();
        return;
      }
      req.once("socket", (socket) => {
        if (req.reusedSocket) go();
        else socket.once(url.protocol === "http:" ? "connect" : "secureConnect", go);
      });
    });
  }

  /**
   * One watch request (`?watch=true` is added to params) on the pooled agent: calls onEvent for each line of the
   * stream (`{type, object}`), in order. Resolves when the server ends the stream (timeoutSeconds) or stop() is
   * called; rejects on a non-200 answer (the error carries `code`), a broken connection, or no byte for idleMs.
   */
  watch(path: string, params: URLSearchParams, onEvent: (e: WatchEvent) => void, idleMs = 330_000): RunningWatch {
    let req: http.ClientRequest | undefined;
    let stopped = false;
    const done = (async (): Promise<void> => {
      const cluster = this.kc.getCurrentCluster();
      if (cluster === null) throw new Error("kubeconfig has no current cluster");
      const q = new URLSearchParams(params);
      q.set("watch", "true");
      const opts: https.RequestOptions = { method: "GET", headers: { accept: "application/json" } };
      await this.kc.applyToHTTPSOptions(opts);
      opts.agent = this.agentFor(cluster, opts).agent;
      if (stopped) return;
      const url = new URL(`${path}?${q.toString()}`, cluster.server);
      const send = url.protocol === "http:" ? http.request : https.request;
      this.stats.WATCH.requests++;
      await new Promise<void>((resolve, reject) => {
        const r = send(url, opts, (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              let message = `HTTP ${res.statusCode ?? 0}`;
              try {
                const b = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { message?: unknown };
                if (typeof b.message === "string") message = b.message;
              } catch {
                /* not JSON */
              }
              reject(Object.assign(new Error(`watch ${path}: ${message}`), { code: res.statusCode ?? 0 }));
            });
            res.on("error", reject);
            return;
          }
          res.setEncoding("utf8");
          let partial = "";
          res.on("data", (chunk: string) => {
            const lines = (partial + chunk).split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines) {
              if (line.trim() === "") continue;
              let e: WatchEvent;
              try {
                e = JSON.parse(line) as WatchEvent;
              } catch {
                r.destroy(new Error(`watch ${path}: unparsable event`));
                return;
              }
              if (!stopped) onEvent(e);
            }
          });
          res.on("end", () => resolve());
          res.on("close", () => (res.complete || stopped ? resolve() : reject(new Error(`watch ${path}: connection closed`))));
          res.on("error", (e) => (stopped ? resolve() : reject(e)));
        });
        req = r;
        r.setTimeout(idleMs, () => r.destroy(new Error(`watch ${path}: nothing received for ${idleMs} ms`)));
        r.on("error", (e) => (stopped ? resolve() : reject(e)));
        r.end();
      });
    })();
    return {
      done,
      stop: () => {
        stopped = true;
        req?.destroy();
      },
    };
  }

  /** Throws WriteRefusedError when a write guard refuses; consulted synchronously right before sending. */
  private guard(method: string, path: string): void {
    for (const g of this.guards) {
      const reason = g();
      if (reason === undefined) continue;
      this.refused++;
      this.opts.log?.warn({ op: method, path, reason, monoMs: Math.round(performance.now()) }, "write refused");
      throw new WriteRefusedError(method, path, reason);
    }
  }

  /** Counts a request as its bytes are handed to the socket. */
  private count(verb: RequestVerb, method: string, path: string, bytes: number): void {
    if (MUTATING.has(verb)) this.opts.log?.debug({ op: method, path, bytes, monoMs: Math.round(performance.now()) }, "write sent");
    const s = this.stats[verb];
    s.requests++;
    s.requestBytes += bytes;
    if (bytes > this.largest) this.largest = bytes;
  }

  /** The pooled agent for these credentials (ours), or client-node's own agent when a proxy is configured. */
  private agentFor(cluster: KubeCluster, opts: https.RequestOptions): { agent: http.Agent | undefined; ours: boolean } {
    // A proxy agent from client-node carries the proxy settings; keep it (per request) rather than guess them.
    if (cluster.proxyUrl !== undefined && cluster.proxyUrl !== "") return { agent: typeof opts.agent === "object" ? opts.agent : undefined, ours: false };
    const key = tlsKey(cluster.server, opts);
    if (this.pooled?.key === key) return { agent: this.pooled.agent, ours: true };
    // New server or rotated credentials: a new pool; the old one closes once its requests end.
    const old = this.pooled;
    // timeout: an idle pooled socket closes after a minute (the agent only destroys free sockets on it; a running
    // request keeps its own timeout, and a quiet watch is left alone).
    const base = { keepAlive: true, scheduling: "lifo" as const, maxSockets: this.opts.maxSockets ?? 64, maxFreeSockets: 16, timeout: 60_000 };
    const agent = cluster.server.startsWith("http:")
      ? new http.Agent(base)
      : new https.Agent({
          ...base,
          ...Object.fromEntries(
            TLS_FIELDS.filter((f) => (opts as Record<string, unknown>)[f] !== undefined).map((f) => [f, (opts as Record<string, unknown>)[f]]),
          ),
        });
    // Count the connections the pool opens (the agent has no event for it).
    const counted = agent as unknown as { createConnection: (...a: unknown[]) => unknown };
    const createConnection = counted.createConnection.bind(agent);
    counted.createConnection = (...a: unknown[]): unknown => {
      this.connections++;
      return createConnection(...a);
    };
    this.pooled = { key, agent };
    if (old !== undefined) setTimeout(() => old.agent.destroy(), 60_000).unref();
    return { agent, ours: true };
  }
}

const CLIENT = Symbol.for("metallb-ts.kube-client");

type WithClient = KubeConfigLike & { [CLIENT]?: KubeClient };

/**
 * The KubeClient of this KubeConfig object, created on first use. Pass options on the first call (main.ts) to give
 * it a logger; later calls return the same client.
 */
export function kubeClientFor(kc: KubeConfigLike, opts?: KubeClientOptions): KubeClient {
  const holder = kc as WithClient;
  const existing = holder[CLIENT];
  if (existing !== undefined) return existing;
  const client = new KubeClient(kc, opts);
  Object.defineProperty(holder, CLIENT, { value: client, enumerable: false, configurable: true });
  return client;
}

/** Publishes a client's counters (read at scrape time) in a registry. */
export function registerKubeClientMetrics(registry: Registry, client: KubeClient): void {
  const perVerb = (name: string, help: string, field: keyof VerbStats): void => {
    new Counter({
      name,
      help,
      labelNames: ["verb"],
      registers: [registry],
      collect(this: Counter): void {
        this.reset();
        const s = client.snapshot().byVerb;
        for (const v of REQUEST_VERBS) if (s[v].requests > 0) this.inc({ verb: v }, s[v][field]);
      },
    });
  };
  perVerb("metallb_ts_k8s_client_requests_total", "Requests sent to the Kubernetes API by this process, by verb (LIST/WATCH: collection reads)", "requests");
  perVerb("metallb_ts_k8s_client_request_bytes_total", "Request body bytes sent to the Kubernetes API, by verb", "requestBytes");
  perVerb(
    "metallb_ts_k8s_client_response_bytes_total",
    "Response body bytes received from the Kubernetes API, by verb (watch streams not included)",
    "responseBytes",
  );
  new Gauge({
    name: "metallb_ts_k8s_client_largest_request_bytes",
    help: "Largest single request body sent to the Kubernetes API",
    registers: [registry],
    collect(this: Gauge): void {
      this.set(client.snapshot().largestRequestBytes);
    },
  });
  new Counter({
    name: "metallb_ts_k8s_client_connections_total",
    help: "TCP/TLS connections opened to the Kubernetes API (keep-alive reuses them)",
    registers: [registry],
    collect(this: Counter): void {
      this.reset();
      this.inc(client.snapshot().connections);
    },
  });
}
