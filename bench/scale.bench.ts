// Scale benchmark (issue 12): N LoadBalancer Services × M Nodes against the real apiserver, the operator and speakers
// as processes. Measures time to every IP assigned and to every announcement converged, CPU-seconds and RSS of each
// process (/proc), what the components sent to the apiserver (counted by the apiserver itself: audit log by user and
// its request-body-size metric; and by the components' own client counters when they export them), the largest
// object, and the writes per minute in a quiet period. Ends with one line `SCALE_RESULT {json}`.
//
//   npm run bench:scale -- --services 2000 --nodes 100 --quiet-minutes 1        (full mode: root, namespaces, FRR)
//   npm run bench:scale -- --mode no-advertisements --services 2000            (operator only, no root needed)
//
// See bench/README.md "Scale (bench:scale)" for what each figure means.
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { apply, ensureNamespace, METALLB_NS, pool } from "../testenv/src/objects.js";
import { startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { ControlPlane } from "../testenv/src/control-plane.js";
import { addExitHook } from "../testenv/src/exit-hooks.js";
import { exited, freePort, isAlive, sleep, spawnLogged, terminate } from "../testenv/src/proc.js";
import { installComponentRbac, SERVICE_ACCOUNTS } from "../testenv/src/rbac.js";
import { buildSpeaker, metricValue } from "../testenv/src/speaker-process.js";
import { H2Client, type WatchEvent } from "./h2.js";
import {
  apiserverBodyBytes,
  clientCounters,
  componentWriteKeys,
  counterDelta,
  countAudit,
  cpuSecondsFromStat,
  layer2Figures,
  medians,
  memoryFromStatus,
  parseAuditLine,
  parseScaleFlags,
  perMinute,
  SCALE_USAGE,
  type AuditRecord,
  type ClientCounters,
  type Layer2Figures,
  type ScaleFlags,
} from "./scale-lib.js";

const BENCH_NS = "bench";
const PROBE_NS = "bench-probe";
const USERS = {
  operator: `system:serviceaccount:${METALLB_NS}:${SERVICE_ACCOUNTS.operator}`,
  speakers: `system:serviceaccount:${METALLB_NS}:${SERVICE_ACCOUNTS.speaker}`,
};

// Every request of a ServiceAccount (the components) once when received and once when answered; the benchmark's own
// requests (admin certificate) and the apiserver's loopback client are not logged.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["ResponseStarted"]
rules:
  - level: None
    users: ["metallb-ts-admin", "system:apiserver"]
  - level: Metadata
`;

// Every LoadBalancer Service takes a NodePort (allocateLoadBalancerNodePorts defaults to true); the default range
// (30000-32767) holds 2,768. A wider one lets the benchmark keep the default Service shape up to 45,000 Services.
const APISERVER_ARGS = ["--service-node-port-range=20000-65535"];

const log = (line: string): void => {
  process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

class Budget {
  constructor(readonly deadline: number) {}
  get expired(): boolean {
    return Date.now() >= this.deadline;
  }
}

/** Polls until probe() is true; throws when the budget runs out. */
/** How long the components' write counters must stand still for the run to count as settled. */
const SETTLE_MS = 10_000;

async function waitUntil(what: string, budget: Budget, probe: () => Promise<boolean> | boolean, intervalMs: number): Promise<void> {
  let lastError = "";
  for (;;) {
    try {
      if (await probe()) return;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (budget.expired) throw new Error(`timed out waiting for ${what}${lastError === "" ? "" : ` (last error: ${lastError})`}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcFigures {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

function procFigures(pid: number | undefined): ProcFigures | null {
  if (pid === undefined || pid <= 0) return null;
  try {
    const cpuSeconds = cpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"), CLK_TCK);
    return { cpuSeconds, ...memoryFromStatus(readFileSync(`/proc/${pid}/status`, "utf8")) };
  } catch {
    return null;
  }
}

/** What the benchmark needs of the system under test, whichever the mode. */
interface Subjects {
  operatorPid: number;
  operatorMetrics(): Promise<string>;
  operatorLog: string;
  speakers: Array<{ node: string; pid: () => number | undefined; metrics(): Promise<string> }>;
}

interface Snapshot {
  at: number;
  operator: ProcFigures | null;
  speakers: Array<ProcFigures | null>;
  operatorCounters: ClientCounters | null;
  speakerCounters: Array<ClientCounters | null>;
  speakerLayer2: Array<Layer2Figures | null>;
  apiserverMetrics: string;
}

async function snapshot(s: Subjects, h2: H2Client): Promise<Snapshot> {
  const safe = async (f: () => Promise<string>): Promise<string> => {
    try {
      return await f();
    } catch {
      return "";
    }
  };
  const opText = await safe(() => s.operatorMetrics());
  const spTexts = await Promise.all(s.speakers.map((sp) => safe(() => sp.metrics())));
  const api = await h2.request("GET", "/metrics").catch(() => ({ status: 0, body: "" }));
  return {
    at: Date.now(),
    operator: procFigures(s.operatorPid),
    speakers: s.speakers.map((sp) => procFigures(sp.pid())),
    operatorCounters: clientCounters(opText),
    speakerCounters: spTexts.map(clientCounters),
    speakerLayer2: spTexts.map(layer2Figures),
    apiserverMetrics: typeof api.body === "string" ? api.body : "",
  };
}

const cpuBetween = (a: ProcFigures | null | undefined, b: ProcFigures | null | undefined): number | null =>
  a == null || b == null ? null : round(b.cpuSeconds - a.cpuSeconds, 2);
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const sumOrNull = (xs: ReadonlyArray<number | null>): number | null =>
  xs.some((x) => x === null) || xs.length === 0
    ? null
    : round(
        xs.reduce<number>((a, b) => a + (b ?? 0), 0),
        2,
      );
const maxOrNull = (xs: ReadonlyArray<number | null | undefined>): number | null => {
  const v = xs.filter((x): x is number => typeof x === "number");
  return v.length === 0 ? null : round(Math.max(...v));
};

// ---------------------------------------------------------------------------------------------------------
// Services

/** Watches the Services of a namespace; remembers when each first showed an IP (re-lists when the watch ends). */
class AssignmentTracker {
  readonly assignedAt = new Map<string, number>();
  readonly ips = new Map<string, string>();
  private current: { close: () => void } | undefined;
  private closed = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly h2: H2Client,
    private readonly ns: string,
  ) {}

  private see(o: Record<string, unknown>): void {
    const name = (o.metadata as { name?: string } | undefined)?.name;
    const ingress = (o.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } } | undefined)?.loadBalancer?.ingress ?? [];
    if (name === undefined || ingress.length === 0 || this.assignedAt.has(name)) return;
    this.assignedAt.set(name, Date.now());
    this.ips.set(name, ingress[0]?.ip ?? "");
  }

  async start(): Promise<void> {
    const path = `/api/v1/namespaces/${this.ns}/services`;
    const first = await this.h2.listAll(path);
    first.items.forEach((o) => this.see(o));
    let rv = first.resourceVersion;
    this.loop = (async (): Promise<void> => {
      while (!this.closed) {
        let gone = false;
        const w = this.h2.watch(path, rv, (e: WatchEvent) => {
          if (e.type === "ERROR") gone = true;
          else if (e.type === "BOOKMARK") rv = (e.object.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? rv;
          else {
            rv = (e.object.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? rv;
            this.see(e.object);
          }
        });
        this.current = w;
        await w.done;
        if (this.closed) return;
        if (gone) {
          const again = await this.h2.listAll(path).catch(() => undefined);
          if (again !== undefined) {
            again.items.forEach((o) => this.see(o));
            rv = again.resourceVersion;
          }
        }
        await sleep(100);
      }
    })();
  }

  get count(): number {
    return this.assignedAt.size;
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.current?.close();
    await this.loop;
  }
}

/** POSTs with retries (the apiserver may answer 429/5xx under load); 409 counts as done (a retry after a lost answer). */
async function post(h2: H2Client, path: string, body: unknown, budget: Budget): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await h2.request("POST", path, body).catch((e: unknown) => ({ status: 0, body: e instanceof Error ? e.message : String(e) }));
    if (res.status === 201 || res.status === 200 || (res.status === 409 && attempt > 0)) return;
    if (attempt >= 8 || budget.expired || (res.status >= 400 && res.status < 500 && res.status !== 429)) {
      throw new Error(`POST ${path}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    }
    await sleep(200 * 2 ** Math.min(attempt, 5));
  }
}

/** Runs make(i) for i in [0, n) with `concurrency` in flight. */
async function forEachBounded(n: number, concurrency: number, make: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await make(i);
      }
    }),
  );
}

function serviceBody(name: string, poolName: string | undefined): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: BENCH_NS, ...(poolName === undefined ? {} : { annotations: { "metallb.io/address-pool": poolName } }) },
    spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
  };
}

function endpointSliceBody(name: string, i: number, nodes: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${name}-1`, namespace: BENCH_NS, labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    endpoints: nodes.map((n, j) => ({ addresses: [`10.244.${(i >> 8) & 255}.${((i & 255) + j * 64) & 255}`], nodeName: n, conditions: { ready: true } })),
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Nodes

const nodeName = (i: number, m: number): string => `node${String(i).padStart(Math.max(4, String(m - 1).length), "0")}`;
/** Node objects only (no speaker): InternalIPs in 10.112.0.0/16, which nothing routes. */
const fakeNodeIP = (i: number): string => `10.112.${(i >> 8) & 255}.${i & 255}`;

async function readyNode(h2: H2Client, name: string, ip: string, create: boolean, budget: Budget): Promise<void> {
  if (create) await post(h2, "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } } }, budget);
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const status = {
    status: {
      addresses: [
        { type: "InternalIP", address: ip },
        { type: "Hostname", address: name },
      ],
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "bench", lastHeartbeatTime: now, lastTransitionTime: now }],
    },
  };
  const res = await h2.request("PATCH", `/api/v1/nodes/${name}/status`, status, "application/merge-patch+json");
  if (res.status !== 200) throw new Error(`node ${name} status: HTTP ${res.status}`);
}

// ---------------------------------------------------------------------------------------------------------
// Measurements after the run

async function readAudit(path: string | undefined): Promise<AuditRecord[]> {
  if (path === undefined) return [];
  const dir = dirname(path);
  const out: AuditRecord[] = [];
  const users = new Set(Object.values(USERS));
  // lumberjack names rotated files audit-<time>.log; read them all (rotation is set far away anyway).
  for (const f of readdirSync(dir)
    .filter((x) => /^audit.*\.log$/.test(x))
    .sort()) {
    const rl = createInterface({ input: createReadStream(join(dir, f), "utf8"), crlfDelay: Infinity });
    for await (const line of rl) {
      const r = parseAuditLine(line);
      if (r !== null && users.has(r.user)) out.push(r);
    }
  }
  return out;
}

interface ObjectSizes {
  largestObjectBytes: number;
  largestObject: string;
  /** kind → { count, totalBytes, maxBytes } (JSON of each object as the apiserver serves it). */
  byResource: Record<string, { count: number; totalBytes: number; maxBytes: number }>;
}

/** Sizes of every object of the metallb-ts.dev and metallb.io groups and of the benchmark's Services. */
async function objectSizes(h2: H2Client): Promise<ObjectSizes> {
  const paths: Array<{ label: string; path: string }> = [{ label: "services", path: `/api/v1/namespaces/${BENCH_NS}/services` }];
  const groups = (await h2.request("GET", "/apis")).body as {
    groups?: Array<{ name: string; preferredVersion?: { groupVersion: string }; versions?: Array<{ groupVersion: string }> }>;
  };
  for (const g of groups.groups ?? []) {
    if (g.name !== "metallb-ts.dev" && g.name !== "metallb.io") continue;
    // Each kind once, in the version the group prefers when it serves it there (BGPPeer: v1beta2; the rest: v1beta1).
    const versions = [g.preferredVersion?.groupVersion ?? "", ...(g.versions ?? []).map((v) => v.groupVersion)].filter(
      (v, i, a) => v !== "" && a.indexOf(v) === i,
    );
    const seen = new Set<string>();
    for (const gv of versions) {
      const res = (await h2.request("GET", `/apis/${gv}`)).body as { resources?: Array<{ name: string }> };
      for (const r of res.resources ?? []) {
        if (r.name.includes("/") || seen.has(r.name)) continue;
        seen.add(r.name);
        paths.push({ label: `${r.name}.${g.name}`, path: `/apis/${gv}/${r.name}` });
      }
    }
  }
  const out: ObjectSizes = { largestObjectBytes: 0, largestObject: "", byResource: {} };
  for (const p of paths) {
    const { items } = await h2.listAll(p.path, 100);
    const agg = { count: 0, totalBytes: 0, maxBytes: 0 };
    for (const o of items) {
      const bytes = Buffer.byteLength(JSON.stringify(o));
      agg.count++;
      agg.totalBytes += bytes;
      agg.maxBytes = Math.max(agg.maxBytes, bytes);
      if (bytes > out.largestObjectBytes) {
        const md = o.metadata as { name?: string; namespace?: string } | undefined;
        out.largestObjectBytes = bytes;
        out.largestObject = `${p.label} ${md?.namespace === undefined ? "" : `${md.namespace}/`}${md?.name ?? ""}`;
      }
    }
    if (agg.count > 0) out.byResource[p.label] = agg;
  }
  return out;
}

/** Distinct error/warn messages of a component's JSON log (first few, with counts). */
function logProblems(path: string): Array<{ level: string; msg: string; count: number; example: string }> {
  if (!existsSync(path)) return [];
  const seen = new Map<string, { level: string; msg: string; count: number; example: string }>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.includes('"level":"error"') && !line.includes('"level":"warn"')) continue;
    let o: { level?: string; msg?: string } = {};
    try {
      o = JSON.parse(line) as { level?: string; msg?: string };
    } catch {
      continue;
    }
    const key = `${o.level ?? ""} ${o.msg ?? ""}`;
    const cur = seen.get(key);
    if (cur !== undefined) cur.count++;
    else seen.set(key, { level: o.level ?? "", msg: o.msg ?? "", count: 1, example: line.slice(0, 400) });
  }
  return [...seen.values()].sort((a, b) => b.count - a.count).slice(0, 6);
}

// ---------------------------------------------------------------------------------------------------------
// One run

type RunResult = Record<string, unknown>;

interface Harness {
  cp: ControlPlane;
  h2: H2Client;
  subjects: Subjects;
  /** Pool per Service index (undefined: no annotation). */
  poolOf(i: number): string | undefined;
  /** Nodes with an endpoint of Service i (none: no EndpointSlice). */
  endpointNodes(i: number): readonly string[];
  /** True when every announcement of the assigned Services has converged (full mode). */
  converged?: (tracker: AssignmentTracker) => Promise<boolean>;
  startupToFirstAssignedMs: number | null;
  stop(): Promise<void>;
}

/** node flags for a V8 CPU profile per process (CPU.<date>.<pid>….cpuprofile), sampled every 2 ms. */
function cpuProfArgs(dir: string): string[] {
  return ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "2000"];
}

async function fullHarness(f: ScaleFlags, budget: Budget): Promise<Harness> {
  const cp = await ControlPlane.start({ auditPolicy: AUDIT_POLICY, extraApiserverArgs: APISERVER_ARGS, log });
  const h2 = await H2Client.open(cp.kubeConfig());
  const names = Array.from({ length: f.nodes }, (_, i) => nodeName(i, f.nodes));
  const real = names.slice(0, 2);
  let bgp: BgpLab | undefined;
  const stop = async (): Promise<void> => {
    await bgp?.stop();
    h2.close();
    await cp.stop();
  };
  try {
    log(`starting the lab: router, ${real.join(" + ")} with FRR, client; operator and speakers as processes`);
    bgp = await startBgpLab({
      controlPlane: cp,
      nodes: real,
      extraHosts: [{ name: "client", index: 5 }],
      speakerProcesses: true,
      ...(f.cpuProfDir !== undefined ? { nodeArgs: cpuProfArgs(f.cpuProfDir) } : {}),
    });
    const lab = bgp.lab;
    log(`creating ${f.nodes} Nodes (Ready; ${f.nodes - 2} without a speaker)`);
    await forEachBounded(f.nodes, f.concurrency, (i) => readyNode(h2, names[i] ?? "", i < 2 ? lab.host(names[i] ?? "").ipv4 : fakeNodeIP(i), i >= 2, budget));
    await pool(cp.kubeConfig(), "bgp", { addresses: ["10.200.0.0/16"] });
    await pool(cp.kubeConfig(), "l2", { addresses: ["10.201.0.0/16"] });
    await apply(
      cp.kubeConfig(),
      { apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: { name: "bench", namespace: METALLB_NS }, spec: { ipAddressPools: ["bgp"] } },
      "bgpadvertisements",
    );
    await apply(
      cp.kubeConfig(),
      { apiVersion: "metallb.io/v1beta1", kind: "L2Advertisement", metadata: { name: "bench", namespace: METALLB_NS }, spec: { ipAddressPools: ["l2"] } },
      "l2advertisements",
    );
    const router = lab.frr("router");
    await waitUntil(
      "BGP sessions established",
      budget,
      async () => {
        const all = await router.vtyshJson<Record<string, { bgpState?: string }>>("show bgp neighbors json");
        return real.every((n) => all[lab.host(n).ipv4]?.bgpState === "Established");
      },
      200,
    );
    const bgpLab = bgp;
    const procs = real.map((n) => bgpLab.processes.get(n));
    const others = names.slice(2);
    const nBgp = Math.ceil(f.services / 2);
    const nL2 = f.services - nBgp;
    const sampleL2 = [...new Set([1, 2 * Math.floor(nL2 / 2) + 1, 2 * nL2 - 1].filter((i) => i < f.services))];
    const arpingOk = new Set<number>();
    return {
      cp,
      h2,
      startupToFirstAssignedMs: null,
      subjects: {
        operatorPid: bgp.operatorProcess?.pid ?? 0,
        operatorMetrics: async () => (await fetch(`http://127.0.0.1:${bgpLab.operatorProcess?.metricsPort ?? 0}/metrics`)).text(),
        operatorLog: join(cp.dir, "operator.log"),
        speakers: real.map((n, j) => ({ node: n, pid: () => procs[j]?.pid, metrics: async () => (await procs[j]?.metrics()) ?? "" })),
      },
      // Even Services: the BGP pool; odd: the Layer 2 pool.
      poolOf: (i) => (i % 2 === 0 ? "bgp" : "l2"),
      // Both real nodes and two Node-only ones.
      endpointNodes: (i) =>
        others.length === 0
          ? real
          : [...real, others[i % others.length] ?? "", others[(i * 7 + 3) % others.length] ?? ""].filter((x, k, a) => a.indexOf(x) === k),
      converged: async (tracker) => {
        const summary = await router.vtyshJson<{ peers?: Record<string, { pfxRcd?: number }>; ipv4Unicast?: { peers?: Record<string, { pfxRcd?: number }> } }>(
          "show bgp ipv4 unicast summary json",
        );
        const peers = summary.peers ?? summary.ipv4Unicast?.peers ?? {};
        if (!real.every((n) => peers[lab.host(n).ipv4]?.pfxRcd === nBgp)) return false;
        let owned = 0;
        for (const p of procs) owned += metricValue((await p?.metrics()) ?? "", "metallb_ts_layer2_owned_ips") ?? 0;
        if (owned !== nL2) return false;
        // The responder answers: ARP requests from the client for a few of the Layer 2 IPs.
        for (const i of sampleL2) {
          if (arpingOk.has(i)) continue;
          const ip = tracker.ips.get(svcName(i)) ?? "";
          const r = await lab.exec("client", "arping", ["-c", "1", "-w", "2", "-I", "eth0", ip], { allowFail: true });
          if (r.code !== 0) return false;
          arpingOk.add(i);
        }
        return true;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function noAdvertisementsHarness(f: ScaleFlags, budget: Budget): Promise<Harness> {
  const cp = await ControlPlane.start({ auditPolicy: AUDIT_POLICY, extraApiserverArgs: APISERVER_ARGS, log });
  const h2 = await H2Client.open(cp.kubeConfig());
  let child: ChildProcess | undefined;
  let removeHook = (): void => undefined;
  const stop = async (): Promise<void> => {
    if (child?.pid !== undefined) await terminate(child.pid, 5_000);
    if (child !== undefined) await exited(child);
    removeHook();
    h2.close();
    await cp.stop();
  };
  try {
    const kc = cp.kubeConfig();
    for (const ns of [METALLB_NS, BENCH_NS, PROBE_NS]) await ensureNamespace(kc, ns);
    const rbac = await installComponentRbac(kc, { namespace: METALLB_NS, dir: cp.dir });
    await pool(kc, "bench", { addresses: ["10.200.0.0/16"] });
    if (f.nodes > 0) log(`creating ${f.nodes} Nodes`);
    await forEachBounded(f.nodes, f.concurrency, (i) => readyNode(h2, nodeName(i, f.nodes), fakeNodeIP(i), true, budget));
    log("building the project (tsc) for the operator process");
    const operatorJs = join(dirname(dirname(dirname(await buildSpeaker(log)))), "operator", "src", "main.js");
    // Startup → first Service assigned: a Service waits before the operator starts.
    await post(
      h2,
      `/api/v1/namespaces/${PROBE_NS}/services`,
      { ...serviceBody("startup-probe", undefined), metadata: { name: "startup-probe", namespace: PROBE_NS } },
      budget,
    );
    const port = await freePort();
    const operatorLog = join(cp.dir, "operator.log");
    const t0 = Date.now();
    const proc = spawnLogged(
      process.execPath,
      [
        ...(f.cpuProfDir !== undefined ? cpuProfArgs(f.cpuProfDir) : []),
        operatorJs,
        "--leader-elect=false",
        "--webhook-mode=disabled",
        `--metrics-addr=127.0.0.1:${port}`,
        "--identity=bench",
      ],
      operatorLog,
      {
        env: { ...process.env, KUBECONFIG: rbac.operator.kubeconfigPath },
      },
    );
    child = proc;
    removeHook = addExitHook(() => {
      if (proc.pid !== undefined && isAlive(proc.pid)) process.kill(proc.pid, "SIGKILL");
    });
    await waitUntil(
      "the startup probe Service assigned",
      budget,
      async () => {
        if (proc.exitCode !== null) throw new Error(`operator exited ${proc.exitCode}; see ${operatorLog}`);
        const r = await h2.request("GET", `/api/v1/namespaces/${PROBE_NS}/services/startup-probe`);
        return ((r.body as { status?: { loadBalancer?: { ingress?: unknown[] } } }).status?.loadBalancer?.ingress?.length ?? 0) > 0;
      },
      20,
    );
    const startupMs = Date.now() - t0;
    log(`operator started; first Service assigned after ${startupMs} ms`);
    return {
      cp,
      h2,
      startupToFirstAssignedMs: startupMs,
      subjects: {
        operatorPid: proc.pid ?? 0,
        operatorMetrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        operatorLog,
        speakers: [],
      },
      poolOf: () => undefined,
      endpointNodes: () => [],
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

const svcName = (i: number): string => `svc-${String(i).padStart(5, "0")}`;

async function runOnce(f: ScaleFlags, budget: Budget, index: number): Promise<RunResult> {
  log(`run ${index + 1}/${f.repeat}: mode ${f.mode}, ${f.services} Services, ${f.nodes} Nodes`);
  const h = f.mode === "full" ? await fullHarness(f, budget) : await noAdvertisementsHarness(f, budget);
  const { h2, subjects } = h;
  const result: RunResult = {
    mode: f.mode,
    services: f.services,
    nodes: f.nodes,
    quietMinutes: f.quietMinutes,
    startupToFirstAssignedMs: h.startupToFirstAssignedMs,
  };
  const errors: string[] = [];
  const tracker = new AssignmentTracker(h2, BENCH_NS);
  try {
    await ensureNamespace(h.cp.kubeConfig(), BENCH_NS);
    await tracker.start();
    await sleep(3_000);
    const before = await snapshot(subjects, h2);
    log(`creating ${f.services} Services${f.mode === "full" ? " with their EndpointSlices" : ""} (${f.concurrency} in flight, one HTTP/2 connection)`);
    const tFirst = Date.now();
    let created = 0;
    let createError: string | undefined;
    await forEachBounded(f.services, f.concurrency, async (i) => {
      // Out of time, or a create failed for good: stop creating; what follows reports what there is.
      if (budget.expired || createError !== undefined) return;
      const name = svcName(i);
      try {
        await post(h2, `/api/v1/namespaces/${BENCH_NS}/services`, serviceBody(name, h.poolOf(i)), budget);
        const nodes = h.endpointNodes(i);
        if (nodes.length > 0) await post(h2, `/apis/discovery.k8s.io/v1/namespaces/${BENCH_NS}/endpointslices`, endpointSliceBody(name, i, nodes), budget);
        created++;
      } catch (e) {
        createError ??= e instanceof Error ? e.message : String(e);
      }
    });
    const tLast = Date.now();
    result.created = created;
    result.allCreatedMs = created === f.services ? tLast - tFirst : null;
    if (createError !== undefined) errors.push(`creating Services: ${createError}`);
    else if (created < f.services) errors.push(`out of time after creating ${created} of ${f.services} Services`);
    log(`${created} created in ${tLast - tFirst} ms; ${tracker.count} assigned so far`);
    let tAssigned: number | undefined;
    let tConverged: number | undefined;
    let atAssigned: Snapshot | undefined;
    try {
      if (created < f.services) throw new Error(`only ${created} of ${f.services} Services were created`);
      let lastReport = Date.now();
      await waitUntil(
        `all ${f.services} Services assigned`,
        budget,
        () => {
          if (Date.now() - lastReport > 30_000) {
            lastReport = Date.now();
            log(`${tracker.count}/${f.services} assigned`);
          }
          return tracker.count >= f.services;
        },
        100,
      );
      tAssigned = Math.max(...tracker.assignedAt.values());
      atAssigned = await snapshot(subjects, h2);
      result.allAssignedMs = tAssigned - tFirst;
      result.lastCreateToAllAssignedMs = tAssigned - tLast;
      log(`all assigned after ${tAssigned - tFirst} ms (${tAssigned - tLast} ms after the last create)`);
      if (h.converged !== undefined) {
        const conv = h.converged;
        await waitUntil("every announcement converged (router RIB from both nodes, L2 owners, ARP answers)", budget, () => conv(tracker), 2_000);
        tConverged = Date.now();
        result.convergedMs = tConverged - tFirst;
        log(`converged after ${tConverged - tFirst} ms`);
        // Settled: the components' own writes (request body bytes, their client counters) have stopped for
        // SETTLE_MS. What is still written after convergence (MetalLB's per-Service status objects, Events) is part
        // of the burst, and the quiet window starts after it; a component that keeps writing never settles and the
        // run ends at its --timeout, which is the figure then.
        let lastBytes = -1;
        let since = Date.now();
        await waitUntil(
          "the components' writes settled",
          budget,
          async () => {
            const sn = await snapshot(subjects, h2);
            const bytes = [sn.operatorCounters, ...sn.speakerCounters].reduce((sum, c) => sum + (c?.requestBytes ?? 0), 0);
            if (bytes !== lastBytes) {
              lastBytes = bytes;
              since = Date.now();
            }
            return Date.now() - since >= SETTLE_MS;
          },
          1_000,
        );
        result.settledMs = since - tFirst;
        result.convergedToSettledMs = since - tConverged;
        log(`settled after ${since - tFirst} ms (${since - tConverged} ms after convergence)`);
      }
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
      log(`FAILED: ${errors[errors.length - 1]}`);
      result.assignedAtFailure = tracker.count;
    }
    result.allAssignedMs ??= null;
    result.convergedMs ??= null;
    result.settledMs ??= null;
    const tDone = tConverged ?? tAssigned ?? Date.now();
    const done = await snapshot(subjects, h2);
    // Idle, then the quiet period (skipped once the budget is gone).
    const idleMs = f.idleSeconds * 1000;
    if (!budget.expired) await sleep(Math.min(idleMs, Math.max(0, budget.deadline - Date.now())));
    const idle = await snapshot(subjects, h2);
    const quietStart = idle.at;
    const quietMs = Math.min(f.quietMinutes * 60_000, Math.max(0, budget.deadline - Date.now()));
    if (quietMs > 0) log(`quiet period: ${round(quietMs / 60_000, 2)} min`);
    await sleep(quietMs);
    const end = await snapshot(subjects, h2);
    const quietEnd = end.at;

    // CPU and memory.
    result.operatorCpuSeconds = cpuBetween(before.operator, done.operator);
    result.operatorRssMiB = maxOrNull([end.operator?.peakRssMiB]);
    result.operatorRssAllAssignedMiB = maxOrNull([atAssigned?.operator?.rssMiB]);
    result.operatorRssIdleMiB = maxOrNull([idle.operator?.rssMiB]);
    result.operatorQuietCpuSeconds = cpuBetween(idle.operator, end.operator);
    if (subjects.speakers.length > 0) {
      const cpu = subjects.speakers.map((_, j) => cpuBetween(before.speakers[j], done.speakers[j]));
      result.speakerCpuSeconds = sumOrNull(cpu);
      result.speakerCpuSecondsEach = cpu;
      result.speakerRssMiB = maxOrNull(end.speakers.map((s) => s?.peakRssMiB));
      result.speakerRssIdleMiB = maxOrNull(idle.speakers.map((s) => s?.rssMiB));
      result.speakerQuietCpuSeconds = sumOrNull(subjects.speakers.map((_, j) => cpuBetween(idle.speakers[j], end.speakers[j])));
    } else {
      result.speakerCpuSeconds = null;
      result.speakerRssMiB = null;
    }

    // Requests and writes, counted by the apiserver (audit log, by ServiceAccount).
    const audit = await readAudit(h.cp.info.auditLogPath);
    const burst = countAudit(audit, USERS, tFirst, quietStart);
    const quiet = countAudit(audit, USERS, quietStart, quietEnd);
    const n = f.services;
    const bReq = (burst.operator?.requests ?? 0) + (burst.speakers?.requests ?? 0);
    result.requestsPerService = round(bReq / n, 2);
    result.writesPerService = round(((burst.operator?.writes ?? 0) + (burst.speakers?.writes ?? 0)) / n, 2);
    result.auditBurst = burst;
    // No quiet period asked for (or no time left for one): no figure rather than one from a split second.
    const hadQuiet = quietMs > 0;
    result.quietWritesPerMinute = hadQuiet ? round(perMinute((quiet.operator?.writes ?? 0) + (quiet.speakers?.writes ?? 0), quietStart, quietEnd), 2) : null;
    result.quietRequestsPerMinute = hadQuiet
      ? round(perMinute((quiet.operator?.requests ?? 0) + (quiet.speakers?.requests ?? 0), quietStart, quietEnd), 1)
      : null;
    result.auditQuiet = quiet;

    // Bytes: request bodies the apiserver received from the components (its metric, the benchmark's own creates
    // left out), and the components' own counters when they export them.
    const keys = componentWriteKeys(Object.values(burst));
    for (const other of ["services/create", "endpointslices/create", "ipaddresses/create"]) keys.delete(other);
    const body = apiserverBodyBytes(before.apiserverMetrics, idle.apiserverMetrics, keys);
    result.apiserverBodyBytesPerService = body === null ? null : Math.round(body.total / n);
    result.apiserverBodyBytesByResourceVerb = body?.byResourceVerb ?? null;
    const opDelta = counterDelta(before.operatorCounters, idle.operatorCounters);
    const spDeltas = subjects.speakers.map((_, j) => counterDelta(before.speakerCounters[j] ?? null, idle.speakerCounters[j] ?? null));
    const clientBytes = opDelta === null ? null : opDelta.requestBytes + spDeltas.reduce((a, d) => a + (d?.requestBytes ?? 0), 0);
    result.clientCounters = opDelta === null ? null : { operator: opDelta, speakers: spDeltas };
    result.clientBytesPerService = clientBytes === null ? null : Math.round(clientBytes / n);
    result.clientRequestsPerService = opDelta === null ? null : round((opDelta.requests + spDeltas.reduce((a, d) => a + (d?.requests ?? 0), 0)) / n, 2);
    result.bytesPerService = result.clientBytesPerService ?? result.apiserverBodyBytesPerService;
    result.bytesPerServiceSource =
      result.clientBytesPerService !== null ? "client counters (request bytes)" : body !== null ? "apiserver request body sizes" : null;
    const quietOp = counterDelta(idle.operatorCounters, end.operatorCounters);
    result.quietClientRequests =
      quietOp === null
        ? null
        : quietOp.requests +
          subjects.speakers.reduce((a, _, j) => a + (counterDelta(idle.speakerCounters[j] ?? null, end.speakerCounters[j] ?? null)?.requests ?? 0), 0);

    // Objects as stored.
    const sizes = await objectSizes(h2);
    result.largestObjectBytes = sizes.largestObjectBytes;
    result.largestObject = sizes.largestObject;
    result.largestClientRequestBytes = maxOrNull([end.operatorCounters?.largestRequestBytes, ...end.speakerCounters.map((c) => c?.largestRequestBytes)]);
    result.storedBytesPerService = Math.round(Object.values(sizes.byResource).reduce((a, r) => a + r.totalBytes, 0) / n);
    result.objects = sizes.byResource;
    result.windows = { burstMs: quietStart - tFirst, doneAtMs: tDone - tFirst, quietMs: quietEnd - quietStart };
    result.operatorLogProblems = logProblems(subjects.operatorLog);
    // Layer 2 liveness per speaker once settled and at the end (cumulative since start): takeovers by reason, heartbeats.
    if (subjects.speakers.length > 0) {
      result.layer2AtSettled = subjects.speakers.map((sp, j) => ({ node: sp.node, ...done.speakerLayer2[j] }));
      result.layer2AtEnd = subjects.speakers.map((sp, j) => ({ node: sp.node, ...end.speakerLayer2[j] }));
    }
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
    log(`FAILED: ${errors[errors.length - 1]}`);
  } finally {
    await tracker.stop().catch(() => undefined);
    await h.stop();
  }
  result.errors = errors;
  return result;
}

const HEADLINE = [
  "allAssignedMs",
  "lastCreateToAllAssignedMs",
  "convergedMs",
  "settledMs",
  "startupToFirstAssignedMs",
  "largestObjectBytes",
  "bytesPerService",
  "requestsPerService",
  "writesPerService",
  "quietWritesPerMinute",
  "operatorCpuSeconds",
  "operatorRssMiB",
  "operatorRssAllAssignedMiB",
  "operatorRssIdleMiB",
  "speakerCpuSeconds",
  "speakerRssMiB",
];

async function main(): Promise<number> {
  if (process.argv.includes("--help")) {
    process.stdout.write(`${SCALE_USAGE}\n`);
    return 0;
  }
  const f = parseScaleFlags(process.argv.slice(2));
  if (typeof f === "string") {
    process.stderr.write(`${f}\n${SCALE_USAGE}\n`);
    return 2;
  }
  if (f.mode === "full" && process.getuid?.() !== 0) {
    process.stderr.write("--mode full needs root (network namespaces, FRR)\n");
    return 2;
  }
  const budget = new Budget(Date.now() + f.timeoutSeconds * 1000);
  // Last resort: the exit hooks (control plane, lab, processes) run on exit.
  const hard = setTimeout(
    () => {
      process.stderr.write(`scale bench: still running ${f.timeoutSeconds + 300} s after start; exiting\n`);
      process.exit(3);
    },
    (f.timeoutSeconds + 300) * 1000,
  );
  hard.unref();
  const runs: RunResult[] = [];
  for (let r = 0; r < f.repeat && !budget.expired; r++) {
    try {
      runs.push(await runOnce(f, budget, r));
    } catch (e) {
      runs.push({ errors: [e instanceof Error ? (e.stack ?? e.message) : String(e)] });
    }
    process.stderr.write(`run ${r + 1}: ${JSON.stringify(runs[runs.length - 1])}\n`);
  }
  const first = runs[0] ?? {};
  const summary = runs.length <= 1 ? { ...first } : { ...first, ...medians(runs, HEADLINE), runs };
  const out = {
    ...summary,
    mode: f.mode,
    services: f.services,
    nodes: f.nodes,
    repeat: runs.length,
    errors: runs.flatMap((x) => (Array.isArray(x.errors) ? (x.errors as string[]) : [])),
  };
  process.stdout.write(`SCALE_RESULT ${JSON.stringify(out)}\n`);
  return out.errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`scale bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
