// Pure helpers of the scale benchmark (bench/scale.bench.ts): its flags, the apiserver's audit log (requests and
// writes per user), /proc figures and Prometheus texts. No I/O here; scale-lib.test.ts has their tables.

export type ScaleMode = "full" | "no-advertisements";

export interface ScaleFlags {
  mode: ScaleMode;
  services: number;
  nodes: number;
  quietMinutes: number;
  repeat: number;
  /** Whole-run budget (all repeats), seconds. */
  timeoutSeconds: number;
  /** Creates in flight at once (HTTP/2 streams over one connection). */
  concurrency: number;
  /** no-advertisements mode: idle time before the "idle" RSS sample, seconds. */
  idleSeconds: number;
  /** Write V8 CPU profiles of the operator and the speakers here (node --cpu-prof); undefined: no profiling. */
  cpuProfDir: string | undefined;
}

export const SCALE_USAGE = `usage: node dist/bench/scale.bench.js [flags]
  --mode full|no-advertisements  full (default): BGP + L2, speakers and FRR in lab namespaces (root);
                                 no-advertisements: one /16 pool, no advertisements, operator only
  --services N       LoadBalancer Services to create (default 10000; 2000 with --mode no-advertisements)
  --nodes M          Node objects (default 1000; 0 with --mode no-advertisements); full mode needs M >= 2
  --quiet-minutes K  minutes of steady state in which writes are counted (default 5; may be fractional, or 0)
  --repeat R         whole runs, each on a fresh control plane (default 1); SCALE_RESULT holds the medians
  --timeout S        budget for everything, seconds (default 3600); on expiry the run reports what it has
  --concurrency C    creates in flight (default 32, over one HTTP/2 connection)
  --idle-seconds S   no-advertisements: idle time before the idle RSS sample (default 20)
  --cpu-prof DIR     V8 CPU profiles of the operator and the speakers into DIR (written when they exit)`;

const KNOWN = new Set(["mode", "services", "nodes", "quiet-minutes", "repeat", "timeout", "concurrency", "idle-seconds", "cpu-prof"]);

/** Parses `--name value` / `--name=value` flags; a string is the error. */
export function parseScaleFlags(argv: readonly string[]): ScaleFlags | string {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (!a.startsWith("--")) return `unexpected argument ${JSON.stringify(a)}`;
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!KNOWN.has(name)) return `unknown flag --${name}`;
    let value: string | undefined;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === "") return `flag --${name} needs a value`;
    raw.set(name, value);
  }
  const mode = raw.get("mode") ?? "full";
  if (mode !== "full" && mode !== "no-advertisements") return `--mode must be full or no-advertisements, got ${JSON.stringify(mode)}`;
  const full = mode === "full";
  const num = (name: string, dflt: number, opts: { integer: boolean; min: number }): number | string => {
    const v = raw.get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || n < opts.min) {
      return `--${name} must be ${opts.integer ? "an integer" : "a number"} >= ${opts.min}, got ${JSON.stringify(v)}`;
    }
    return n;
  };
  const values = {
    services: num("services", full ? 10_000 : 2_000, { integer: true, min: 1 }),
    nodes: num("nodes", full ? 1_000 : 0, { integer: true, min: 0 }),
    quietMinutes: num("quiet-minutes", 5, { integer: false, min: 0 }),
    repeat: num("repeat", 1, { integer: true, min: 1 }),
    timeoutSeconds: num("timeout", 3_600, { integer: false, min: 1 }),
    concurrency: num("concurrency", 32, { integer: true, min: 1 }),
    idleSeconds: num("idle-seconds", 20, { integer: false, min: 0 }),
  };
  for (const v of Object.values(values)) if (typeof v === "string") return v;
  const n = values as { [K in keyof typeof values]: number };
  if (full && n.nodes < 2) return "--mode full needs --nodes >= 2 (two of them run real speakers)";
  return { mode, ...n, cpuProfDir: raw.get("cpu-prof") };
}

// ---------------------------------------------------------------------------------------------------------
// Audit log (audit.k8s.io/v1 Event, one JSON object per line).

export const WRITE_VERBS: ReadonlySet<string> = new Set(["create", "update", "patch", "delete", "deletecollection"]);

export interface AuditRecord {
  stage: string;
  user: string;
  verb: string;
  /** resource[/subresource], or the URI path for non-resource requests (e.g. /readyz). */
  target: string;
  /** HTTP status (ResponseComplete / Panic stages), else undefined. */
  code: number | undefined;
  /** requestReceivedTimestamp, ms since the epoch. */
  at: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** One audit log line; null for anything that is not an audit event. */
export function parseAuditLine(line: string): AuditRecord | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObj(o) || o.kind !== "Event" || typeof o.verb !== "string" || typeof o.stage !== "string") return null;
  const at = typeof o.requestReceivedTimestamp === "string" ? Date.parse(o.requestReceivedTimestamp) : NaN;
  if (!Number.isFinite(at)) return null;
  const user = isObj(o.user) && typeof o.user.username === "string" ? o.user.username : "";
  let target: string;
  if (isObj(o.objectRef) && typeof o.objectRef.resource === "string") {
    target =
      typeof o.objectRef.subresource === "string" && o.objectRef.subresource !== ""
        ? `${o.objectRef.resource}/${o.objectRef.subresource}`
        : o.objectRef.resource;
  } else {
    target = typeof o.requestURI === "string" ? (o.requestURI.split("?")[0] ?? "") : "";
  }
  const code = isObj(o.responseStatus) && typeof o.responseStatus.code === "number" ? o.responseStatus.code : undefined;
  return { stage: o.stage, user, verb: o.verb, target, code, at };
}

export interface AuditCounts {
  /** Requests received (stage RequestReceived). */
  requests: number;
  /** Of which writes (create, update, patch, delete, deletecollection). */
  writes: number;
  /** `verb target` → requests, e.g. "patch services/status". */
  byVerbTarget: Record<string, number>;
  /** Writes answered with a status >= 400 (stage ResponseComplete), `code verb target` → count. */
  failedWrites: Record<string, number>;
}

/** Counts per component (label → username) of the records with from <= at < to. */
export function countAudit(records: Iterable<AuditRecord>, users: Readonly<Record<string, string>>, from: number, to: number): Record<string, AuditCounts> {
  const byUser = new Map(Object.entries(users).map(([label, user]) => [user, label]));
  const out: Record<string, AuditCounts> = {};
  for (const label of Object.keys(users)) out[label] = { requests: 0, writes: 0, byVerbTarget: {}, failedWrites: {} };
  for (const r of records) {
    if (r.at < from || r.at >= to) continue;
    const label = byUser.get(r.user);
    const c = label === undefined ? undefined : out[label];
    if (c === undefined) continue;
    const key = `${r.verb} ${r.target}`;
    if (r.stage === "RequestReceived") {
      c.requests++;
      if (WRITE_VERBS.has(r.verb)) c.writes++;
      c.byVerbTarget[key] = (c.byVerbTarget[key] ?? 0) + 1;
    } else if (r.stage === "ResponseComplete" && WRITE_VERBS.has(r.verb) && (r.code ?? 0) >= 400) {
      const k = `${r.code} ${key}`;
      c.failedWrites[k] = (c.failedWrites[k] ?? 0) + 1;
    }
  }
  return out;
}

/** Writes per minute of a window (0 for an empty window). */
export function perMinute(count: number, fromMs: number, toMs: number): number {
  const minutes = (toMs - fromMs) / 60_000;
  return minutes > 0 ? count / minutes : 0;
}

// ---------------------------------------------------------------------------------------------------------
// /proc

/** utime + stime of /proc/PID/stat, in seconds (clock ticks / ticksPerSecond). */
export function cpuSecondsFromStat(stat: string, ticksPerSecond = 100): number {
  // The command (field 2) is in parentheses and may hold spaces or parentheses: split after the last ')'.
  const rest = stat
    .slice(stat.lastIndexOf(")") + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 80)}`);
  return (utime + stime) / ticksPerSecond;
}

/** VmRSS and VmHWM (peak RSS) of /proc/PID/status, in MiB. */
export function memoryFromStatus(status: string): { rssMiB: number; peakRssMiB: number } {
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    if (m === null) throw new Error(`no ${field} in /proc/PID/status`);
    return Number(m[1]);
  };
  return { rssMiB: kb("VmRSS") / 1024, peakRssMiB: kb("VmHWM") / 1024 };
}

// ---------------------------------------------------------------------------------------------------------
// Prometheus text

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function* samples(text: string): Generator<Sample> {
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1] ?? "", x[2] ?? ""]));
    yield { name: m[1] ?? "", labels, value: Number(m[3]) };
  }
}

/** The sum of every sample of a metric, or undefined when the text has none. */
export function sumMetric(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const s of samples(text)) if (s.name === name && Number.isFinite(s.value)) sum = (sum ?? 0) + s.value;
  return sum;
}

/** The largest sample of a metric, or undefined when the text has none. */
export function maxMetric(text: string, name: string): number | undefined {
  let max: number | undefined;
  for (const s of samples(text)) if (s.name === name && Number.isFinite(s.value)) max = Math.max(max ?? -Infinity, s.value);
  return max;
}

/** Sums of a metric's samples grouped by the values of some labels, keyed "v1/v2". */
export function sumMetricBy(text: string, name: string, labels: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples(text)) {
    if (s.name !== name || !Number.isFinite(s.value)) continue;
    const key = labels.map((l) => s.labels[l] ?? "").join("/");
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** The metallb-ts client counters of one process (every verb summed); null when the process does not export them. */
export interface ClientCounters {
  requests: number;
  requestBytes: number;
  responseBytes: number;
  largestRequestBytes: number;
}

export function clientCounters(text: string): ClientCounters | null {
  const requests = sumMetric(text, "metallb_ts_k8s_client_requests_total");
  if (requests === undefined) return null;
  return {
    requests,
    requestBytes: sumMetric(text, "metallb_ts_k8s_client_request_bytes_total") ?? 0,
    responseBytes: sumMetric(text, "metallb_ts_k8s_client_response_bytes_total") ?? 0,
    largestRequestBytes: maxMetric(text, "metallb_ts_k8s_client_largest_request_bytes") ?? 0,
  };
}

/** What one speaker's Layer 2 liveness did (its own counters, cumulative since it started). */
export interface Layer2Figures {
  /** metallb_ts_layer2_ownership_changes_total by reason (ownerSilent = a takeover from a silent owner). */
  ownershipChanges: Record<string, number>;
  /** Heartbeat datagrams sent / accepted, and dropped by reason. */
  heartbeatsSent: number;
  heartbeatsReceived: number;
  heartbeatsDropped: Record<string, number>;
  /** Peers it heartbeats (its watch peers), now. */
  heartbeatPeers: number | null;
  fenceChanges: Record<string, number>;
  stalls: number;
  ownedIPs: number | null;
}

export function layer2Figures(text: string): Layer2Figures | null {
  const owned = sumMetric(text, "metallb_ts_layer2_owned_ips");
  if (owned === undefined) return null;
  const byReason = (name: string): Record<string, number> => Object.fromEntries([...sumMetricBy(text, name, ["reason"])].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    ownershipChanges: byReason("metallb_ts_layer2_ownership_changes_total"),
    heartbeatsSent: sumMetric(text, "metallb_ts_layer2_heartbeats_sent_total") ?? 0,
    heartbeatsReceived: sumMetric(text, "metallb_ts_layer2_heartbeats_received_total") ?? 0,
    heartbeatsDropped: byReason("metallb_ts_layer2_heartbeats_dropped_total"),
    heartbeatPeers: sumMetric(text, "metallb_ts_layer2_heartbeat_peers") ?? null,
    fenceChanges: byReason("metallb_ts_layer2_fence_changes_total"),
    stalls: sumMetric(text, "metallb_ts_layer2_stalls_total") ?? 0,
    ownedIPs: owned,
  };
}

/** after − before of counters (largest: the later value, a running maximum); null when either is missing. */
export function counterDelta(before: ClientCounters | null, after: ClientCounters | null): ClientCounters | null {
  if (before === null || after === null) return null;
  return {
    requests: after.requests - before.requests,
    requestBytes: after.requestBytes - before.requestBytes,
    responseBytes: after.responseBytes - before.responseBytes,
    largestRequestBytes: after.largestRequestBytes,
  };
}

/**
 * Request body bytes the apiserver received (apiserver_request_body_size_bytes_sum, by resource/verb) between two
 * scrapes, for the "resource/verb" keys in `include` only. The metric does not say who sent a request, so the caller
 * passes the keys its components wrote (from the audit log, componentWriteKeys) minus those others also write (the
 * benchmark's own creates; the apiserver's ClusterIP bookkeeping is ipaddresses/create, never a component's).
 */
export function apiserverBodyBytes(
  before: string,
  after: string,
  include: ReadonlySet<string>,
): { total: number; byResourceVerb: Record<string, number> } | null {
  const name = "apiserver_request_body_size_bytes_sum";
  const a = sumMetricBy(after, name, ["resource", "verb"]);
  if (a.size === 0) return null;
  const b = sumMetricBy(before, name, ["resource", "verb"]);
  const byResourceVerb: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of a) {
    const d = v - (b.get(k) ?? 0);
    if (d <= 0 || !include.has(k)) continue;
    byResourceVerb[k] = d;
    total += d;
  }
  return { total, byResourceVerb };
}

/** The "resource/verb" keys of the writes in audit counts ("patch services/status" → "services/patch"). */
export function componentWriteKeys(counts: Iterable<AuditCounts>): Set<string> {
  const out = new Set<string>();
  for (const c of counts) {
    for (const key of Object.keys(c.byVerbTarget)) {
      const [verb = "", target = ""] = key.split(" ");
      if (WRITE_VERBS.has(verb) && !target.startsWith("/")) out.add(`${target.split("/")[0] ?? ""}/${verb}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Repeats

export function median(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? null) : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

/** Per key, the median of the runs' numeric values (null when no run has a number there). */
export function medians(runs: ReadonlyArray<Readonly<Record<string, unknown>>>, keys: readonly string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of keys) out[k] = median(runs.map((r) => r[k]).filter((x): x is number => typeof x === "number"));
  return out;
}
