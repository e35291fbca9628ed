// Speakers as real processes inside lab node namespaces, for Layer 2 e2e tests and benchmarks: builds the speaker,
// bridges the test apiserver into each namespace (loopback is per namespace: a unix socket in the shared filesystem
// carries the TCP stream, see the netlab notes), starts `node dist/speaker/src/main.js` with `ip netns exec`, and
// kills/restarts it (SIGKILL for failover drills). Everything started here is stopped by stop()/the exit hook.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { Operator } from "../../operator/src/operator.js";
import { apply, ensureNamespace, METALLB_NS } from "../../operator/src/testing.js";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { silentLogger } from "../../shell/src/logger.js";
import { ControlPlane, repoRoot } from "./control-plane.js";
import { addExitHook } from "./exit-hooks.js";
import { NetLab } from "./netlab.js";
import { exited, isAlive, run, waitFor } from "./proc.js";
import { installComponentRbac } from "./rbac.js";

/** Compiles the project to dist/ (tsc -p tsconfig.build.json) and returns the speaker entry point. */
export async function buildSpeaker(log: (line: string) => void = () => undefined): Promise<string> {
  const root = repoRoot();
  const res = await run("npx", ["tsc", "-p", join(root, "tsconfig.build.json")], { allowFail: true, timeoutMs: 300_000 });
  const main = join(root, "dist", "speaker", "src", "main.js");
  if (res.code !== 0) {
    // tsc emits despite type errors; refuse only when the entry point is missing.
    log(`tsc reported errors (continuing if the speaker was emitted):\n${res.stdout.trim()}`);
  }
  if (!existsSync(main)) throw new Error(`building the speaker did not produce ${main}: ${res.stdout}`);
  return main;
}

/**
 * The root-namespace half of the apiserver bridge: a unix socket whose connections are piped to the apiserver's
 * loopback port. `enter(lab, host)` adds the namespace half (socat listening on 127.0.0.1:<same port> there), so a
 * kubeconfig for https://127.0.0.1:<port> works unchanged inside the namespace.
 */
export class ApiBridge {
  private readonly server: Server;
  private readonly conns = new Set<Socket>();
  private readonly relays = new Map<string, { relay: ChildProcess; lab: NetLab; logFile: string }>();
  private readonly removeExitHook: () => void;

  private constructor(
    readonly socketPath: string,
    readonly port: number,
    server: Server,
  ) {
    this.server = server;
    server.on("connection", (c) => {
      const up = connect(port, "127.0.0.1");
      this.conns.add(c).add(up);
      const drop = (): void => {
        c.destroy();
        up.destroy();
        this.conns.delete(c);
        this.conns.delete(up);
      };
      c.on("error", drop).on("close", drop);
      up.on("error", drop).on("close", drop);
      c.pipe(up);
      up.pipe(c);
    });
    this.removeExitHook = addExitHook(() => {
      for (const { relay } of this.relays.values()) if (relay.pid !== undefined && isAlive(relay.pid)) process.kill(relay.pid, "SIGKILL");
    });
  }

  /** Listens on `socketPath` and forwards to 127.0.0.1:`port` (the apiserver's). */
  static async start(socketPath: string, port: number): Promise<ApiBridge> {
    rmSync(socketPath, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    return new ApiBridge(socketPath, port, server);
  }

  /** Starts the namespace half in a lab host and waits until it accepts connections. */
  async enter(lab: NetLab, host: string, logFile: string): Promise<void> {
    if (this.relays.has(host)) throw new Error(`apiserver bridge already in ${host}`);
    const fd = openSync(logFile, "a");
    try {
      const relay = spawn(
        "ip",
        ["netns", "exec", lab.host(host).netns, "socat", `TCP-LISTEN:${this.port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${this.socketPath}`],
        { stdio: ["ignore", fd, fd], detached: true },
      );
      this.relays.set(host, { relay, lab, logFile });
    } finally {
      closeSync(fd);
    }
    await waitFor(
      `apiserver bridge in ${host}`,
      async () => {
        const r = await lab.exec(host, "curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", `https://127.0.0.1:${this.port}/readyz`], { allowFail: true });
        return r.stdout.trim() !== "000" && r.stdout.trim() !== "" ? true : undefined;
      },
      15_000,
      100,
    );
  }

  /** Cuts a host off the apiserver: its relay and every connection through it die (partition drills). */
  async cut(host: string): Promise<void> {
    const r = this.relays.get(host);
    if (r === undefined) return;
    this.relays.delete(host);
    // socat forks per connection: kill the whole group it leads (it was started detached).
    if (r.relay.pid !== undefined && isAlive(r.relay.pid)) {
      try {
        process.kill(-r.relay.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await exited(r.relay);
  }

  /** Reconnects a host cut with cut(). */
  async restore(lab: NetLab, host: string, logFile: string): Promise<void> {
    await this.enter(lab, host, logFile);
  }

  async stop(): Promise<void> {
    for (const host of [...this.relays.keys()]) await this.cut(host);
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.socketPath, { force: true });
    this.removeExitHook();
  }
}

export interface SpeakerProcessOptions {
  lab: NetLab;
  /** Lab host (namespace) the speaker runs in; also its node name unless nodeName is given. */
  host: string;
  nodeName?: string;
  kubeconfigPath: string;
  /** dist/speaker/src/main.js (from buildSpeaker). */
  mainJs: string;
  logFile: string;
  metricsPort?: number;
  /** Extra flags, e.g. ["--l2-interfaces", "eth1"]. */
  args?: readonly string[];
  /** BGP mode too: the node's FRR instance directory (vty sockets, frr.conf). Without it: --disable-bgp. */
  frrDir?: string;
}

/** One speaker process in a lab namespace: start, kill (any signal), restart, read its /metrics. */
export class SpeakerProcess {
  private child: ChildProcess | undefined;
  private readonly removeExitHook: () => void;
  readonly metricsPort: number;

  constructor(private readonly opts: SpeakerProcessOptions) {
    this.metricsPort = opts.metricsPort ?? 7473;
    this.removeExitHook = addExitHook(() => {
      const pid = this.child?.pid;
      if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGKILL");
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process (it must not be running) and waits for its /readyz. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`speaker ${this.opts.host} already runs`);
    const { lab, host } = this.opts;
    const node = this.opts.nodeName ?? host;
    const fd = openSync(this.opts.logFile, "a");
    try {
      // `ip netns exec` execs node in place, so the child's pid is the speaker's.
      this.child = spawn(
        "ip",
        [
          "netns",
          "exec",
          lab.host(host).netns,
          process.execPath,
          "--enable-source-maps",
          this.opts.mainJs,
          "--node-name",
          node,
          ...(this.opts.frrDir === undefined ? ["--disable-bgp"] : ["--frr-dir", this.opts.frrDir, "--frr-config", `${this.opts.frrDir}/frr.conf`]),
          "--metrics-addr",
          `127.0.0.1:${this.metricsPort}`,
          "--log-level",
          "debug",
          ...(this.opts.args ?? []),
        ],
        { stdio: ["ignore", fd, fd], env: { ...process.env, KUBECONFIG: this.opts.kubeconfigPath } },
      );
    } finally {
      closeSync(fd);
    }
    const child = this.child;
    await waitFor(
      `speaker ${node} ready`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`speaker ${node} exited (${child.exitCode ?? child.signalCode}); see ${this.opts.logFile}`);
        return (await this.httpGet("/readyz")).status === 200 ? true : undefined;
      },
      30_000,
      100,
    );
  }

  /** Sends a signal and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([exited(child).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5_000)))]);
    clearTimeout(timer);
    if (!killed) {
      child.kill("SIGKILL");
      await exited(child);
    }
  }

  async restart(): Promise<void> {
    await this.kill("SIGKILL");
    await this.start();
  }

  /** GET on the speaker's metrics server, from inside its namespace. */
  async httpGet(path: string): Promise<{ status: number; body: string }> {
    const r = await this.opts.lab.exec(this.opts.host, "curl", ["-s", "--max-time", "3", "-w", "\n%{http_code}", `http://127.0.0.1:${this.metricsPort}${path}`], { allowFail: true });
    const lines = r.stdout.split("\n");
    const status = Number(lines.pop() ?? "0");
    return { status, body: lines.join("\n") };
  }

  async metrics(): Promise<string> {
    return (await this.httpGet("/metrics")).body;
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
    this.removeExitHook();
  }
}

/** The value of one Prometheus sample (`name{labels}`) in a metrics text, or undefined. Labels must match exactly. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1] ?? "", x[2] ?? ""]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// A whole Layer 2 installation: control plane, lab (client + nodes), operator in-process, speakers as processes.

export interface L2LabOptions {
  nodes?: readonly string[];
  /** Per node extra speaker flags. */
  speakerArgs?: (node: string) => readonly string[];
  /** Called for each node namespace before its speaker starts (e.g. to add interfaces). */
  prepareNode?: (lab: NetLab, node: string) => Promise<void>;
  log?: (line: string) => void;
}

export interface L2Lab {
  cp: ControlPlane;
  kc: k8s.KubeConfig;
  lab: NetLab;
  operator: Operator;
  bridge: ApiBridge;
  speakers: Map<string, SpeakerProcess>;
  nodes: readonly string[];
  dir: string;
  /** The node order of the plan for an IP (NodeConfig.spec.l2 of any candidate). */
  candidates(ip: string): Promise<string[]>;
  stop(): Promise<void>;
}

export const L2_LAB_KEY = "l2-lab-shared-heartbeat-key-0123456789";

export async function startL2Lab(opts: L2LabOptions = {}): Promise<L2Lab> {
  const nodes = opts.nodes ?? ["node1", "node2"];
  const log = opts.log ?? ((): void => undefined);
  const mainJs = await buildSpeaker(log);
  const cp = await ControlPlane.start();
  const kc = cp.kubeConfig();
  const speakers = new Map<string, SpeakerProcess>();
  let lab: NetLab | undefined;
  let bridge: ApiBridge | undefined;
  let operator: Operator | undefined;
  const stop = async (): Promise<void> => {
    for (const s of speakers.values()) await s.stop();
    await operator?.stop();
    await bridge?.stop();
    await lab?.destroy();
    await cp.stop();
  };
  try {
    lab = await NetLab.create([{ name: "client", index: 5 }, ...nodes.map((name, i) => ({ name, index: 11 + i }))]);
    const apiPort = Number(new URL(cp.server).port);
    bridge = await ApiBridge.start(join(cp.info.dir, "api.sock"), apiPort);
    for (const n of nodes) await bridge.enter(lab, n, join(cp.info.dir, `bridge-${n}.log`));
    await ensureNamespace(kc, METALLB_NS);
    for (const n of nodes) {
      await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { "kubernetes.io/hostname": n } } } as never, "nodes");
      const res = await kubeRequest(kc, "PATCH", `/api/v1/nodes/${n}/status`, { status: { addresses: [{ type: "InternalIP", address: lab.host(n).ipv4 }, { type: "Hostname", address: n }] } }, "application/merge-patch+json");
      if (res.status >= 300) throw new Error(`node ${n} status: ${statusMessage(res)}`);
    }
    await apply(kc, { apiVersion: "v1", kind: "Secret", metadata: { name: "metallb-ts-l2-key", namespace: METALLB_NS }, stringData: { secretkey: L2_LAB_KEY } } as never, "secrets");
    // The operator and the speakers run with their ServiceAccounts' tokens and the manifests' RBAC (config/rbac).
    const rbac = await installComponentRbac(kc, { namespace: METALLB_NS, dir: cp.info.dir });
    operator = new Operator({
      kc: rbac.operator.kubeConfig(),
      settings: { namespace: METALLB_NS, lbClass: null, defaultLbClass: false, identity: "l2-lab", leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } },
      log: silentLogger,
      registry: new Registry(),
    });
    await operator.start();
    for (const n of nodes) {
      await opts.prepareNode?.(lab, n);
      const sp = new SpeakerProcess({ lab, host: n, kubeconfigPath: rbac.speaker.kubeconfigPath, mainJs, logFile: join(cp.info.dir, `speaker-${n}.log`), args: opts.speakerArgs?.(n) ?? [] });
      await sp.start();
      speakers.set(n, sp);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const candidates = async (ip: string): Promise<string[]> => {
    for (const n of nodes) {
      const res = await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/${n}`);
      const entries = (res.body as { spec?: { l2?: { entries?: Array<{ ip: string; candidates: string[] }> } } }).spec?.l2?.entries ?? [];
      const e = entries.find((x) => x.ip === ip);
      if (e !== undefined) return e.candidates;
    }
    return [];
  };
  return { cp, kc, lab, operator, bridge, speakers, nodes, dir: cp.info.dir, candidates, stop };
}
