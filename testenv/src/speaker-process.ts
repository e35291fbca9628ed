// Speakers as real processes inside lab node namespaces, for Layer 2 e2e tests and benchmarks: builds the speaker,
// bridges the test apiserver into each namespace (loopback is per namespace: a unix socket in the shared filesystem
// carries the TCP stream, see the netlab notes), starts `node dist/speaker/src/main.js` with `ip netns exec`, and
// kills/restarts it (SIGKILL for failover drills). FrrContainer runs the speaker Pod's FRR container
// (speaker/image/frr-start.sh) next to it. Everything started here is stopped by stop()/the exit hook.
import { execFileSync, type ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { Registry } from "prom-client";
import { Operator } from "../../operator/src/operator.js";
import { apply, ensureNamespace, METALLB_NS } from "./objects.js";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { silentLogger } from "../../shell/src/logger.js";
import { ControlPlane } from "./control-plane.js";
import { repoRoot } from "./repo-root.js";
import { addExitHook } from "./exit-hooks.js";
import { NetLab } from "./netlab.js";
import { exited, isAlive, listDir, readPidFile, run, spawnLogged, waitFor } from "./proc.js";
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
    const relay = spawnLogged(
      "ip",
      ["netns", "exec", lab.host(host).netns, "socat", `TCP-LISTEN:${this.port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${this.socketPath}`],
      logFile,
      { detached: true },
    );
    this.relays.set(host, { relay, lab, logFile });
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
  /** Where the speaker writes frr.conf (--frr-config); default `<frrDir>/frr.conf`. */
  frrConfig?: string;
  /**
   * A command prefix run inside the namespace ahead of node, e.g. confinementPrefix(...) (setpriv ... --). It must
   * exec in place, so that the child's pid stays the speaker's.
   */
  wrap?: readonly string[];
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
    // `ip netns exec` execs node in place, so the child's pid is the speaker's.
    this.child = spawnLogged(
      "ip",
      [
        "netns",
        "exec",
        lab.host(host).netns,
        ...(this.opts.wrap ?? []),
        process.execPath,
        "--enable-source-maps",
        this.opts.mainJs,
        "--node-name",
        node,
        ...(this.opts.frrDir === undefined ? ["--disable-bgp"] : ["--frr-dir", this.opts.frrDir, "--frr-config", this.opts.frrConfig ?? `${this.opts.frrDir}/frr.conf`]),
        "--metrics-addr",
        `127.0.0.1:${this.metricsPort}`,
        "--log-level",
        "debug",
        ...(this.opts.args ?? []),
      ],
      this.opts.logFile,
      { env: { ...process.env, KUBECONFIG: this.opts.kubeconfigPath } },
    );
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
// The speaker Pod of config/speaker/speaker-frr.yaml as processes in a node namespace: its FRR container
// (speaker/image/frr-start.sh) with directories standing in for the Pod's volumes, and both containers' confinement
// (capabilities, supplementary groups, no_new_privs) read from the manifest.

/** GID of group frrvty in the speaker image (Dockerfile.speaker fixes it); the Pod's supplementalGroups name it. */
const IMAGE_FRRVTY_GID = 101;

/** What a container of the Pod may do, as setpriv applies it (root, as both containers run). */
export interface ContainerConfinement {
  /** securityContext.capabilities.add (everything else is dropped). */
  capabilities: readonly string[];
  /** Supplementary groups, the image's frrvty mapped to this machine's. */
  groups: readonly number[];
  /** allowPrivilegeEscalation: false. */
  noNewPrivs: boolean;
  /** volumeMounts: mountPath -> volume name. */
  mounts: ReadonlyMap<string, string>;
}

export interface SpeakerPod {
  /** The files of the FRR startup ConfigMap (frr-start's FRR_STARTUP_DIR). */
  startupFiles: Readonly<Record<string, string>>;
  speaker: ContainerConfinement;
  frr: ContainerConfinement;
}

interface PodContainerYaml {
  name: string;
  securityContext?: { runAsUser?: number; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

function hostGroupId(name: string): number {
  const line = execFileSync("getent", ["group", name], { encoding: "utf8" }).trim();
  const gid = Number.parseInt(line.split(":")[2] ?? "", 10);
  if (!Number.isInteger(gid)) throw new Error(`group ${name}: unexpected getent output ${JSON.stringify(line)}`);
  return gid;
}

/** The FRR startup ConfigMap and the speaker DaemonSet's two containers, from config/speaker/speaker-frr.yaml. */
export function speakerPod(manifest = join(repoRoot(), "config", "speaker", "speaker-frr.yaml")): SpeakerPod {
  const docs = (yaml.loadAll(readFileSync(manifest, "utf8")) as Array<Record<string, unknown> | null>).filter((d): d is Record<string, unknown> => d !== null && typeof d === "object");
  const cm = docs.find((d) => d.kind === "ConfigMap") as { data?: Record<string, string> } | undefined;
  const ds = docs.find((d) => d.kind === "DaemonSet") as
    | { spec: { template: { spec: { securityContext?: { supplementalGroups?: number[] }; containers: PodContainerYaml[] } } } }
    | undefined;
  if (cm?.data === undefined || ds === undefined) throw new Error(`${manifest}: no ConfigMap with data, or no DaemonSet`);
  const podSpec = ds.spec.template.spec;
  const groups = (podSpec.securityContext?.supplementalGroups ?? []).map((g) => (g === IMAGE_FRRVTY_GID ? hostGroupId("frrvty") : g));
  const container = (name: string): ContainerConfinement => {
    const c = podSpec.containers.find((x) => x.name === name);
    if (c === undefined) throw new Error(`${manifest}: no container ${name}`);
    const sc = c.securityContext ?? {};
    if ((sc.runAsUser ?? 0) !== 0) throw new Error(`${manifest}: container ${name} runs as user ${sc.runAsUser}; only root is emulated`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) throw new Error(`${manifest}: container ${name} does not drop ALL capabilities; not emulated`);
    return {
      capabilities: sc.capabilities?.add ?? [],
      groups,
      noNewPrivs: sc.allowPrivilegeEscalation === false,
      mounts: new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m.name])),
    };
  };
  return { startupFiles: cm.data, speaker: container("speaker"), frr: container("frr") };
}

/** The command prefix (setpriv ... --) that confines what follows as the container would be; it execs in place. */
export function confinementPrefix(c: ContainerConfinement): string[] {
  const caps = ["-all", ...c.capabilities.map((x) => `+${x.toLowerCase()}`)].join(",");
  return [
    "setpriv",
    "--inh-caps=-all",
    `--bounding-set=${caps}`,
    ...(c.groups.length > 0 ? [`--groups=${c.groups.join(",")}`] : ["--clear-groups"]),
    ...(c.noNewPrivs ? ["--no-new-privs"] : []),
    "--",
  ];
}

/** The Pod's frr container's mounts that FrrContainer stands in for; the speaker container must share the first two. */
const FRR_MOUNTS = ["/etc/frr", "/var/run/frr", "/etc/frr-startup", "/var/tmp/frr"] as const;

export interface FrrContainerOptions {
  lab: NetLab;
  /** Lab host (node namespace) it runs in. */
  host: string;
  /** Created; holds the stand-ins of the Pod's volumes. Its parents must be searchable by user frr (the lab's are). */
  dir: string;
  /** The container's log (stdout and stderr of frr-start and the daemons), appended to at every start. */
  logFile: string;
  /** Default speakerPod(). */
  pod?: SpeakerPod;
  /** Default speaker/image/frr-start.sh. */
  script?: string;
  /** Extra environment for frr-start (FRR_STOP_GRACE, ...). */
  env?: Readonly<Record<string, string>>;
}

export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The speaker Pod's "frr" container as a process: speaker/image/frr-start.sh in the node's namespace, confined as the
 * manifest says, with directories standing in for its emptyDirs (FRR_CONF_DIR for /etc/frr, FRR_RUN_DIR for
 * /var/run/frr, bind-mounted at /var/tmp/frr in a private mount namespace: the daemons' crash-log directory is
 * compiled in) and the ConfigMap's files in FRR_STARTUP_DIR. The directories outlive a run, as emptyDirs outlive a
 * container restart; start() again is the kubelet's restart.
 */
export class FrrContainer {
  /** /etc/frr (shared with the speaker: frr.conf). */
  readonly confDir: string;
  /** /var/run/frr (shared with the speaker: vty sockets, pid files). */
  readonly runDir: string;
  /** /etc/frr-startup (the ConfigMap). */
  readonly startupDir: string;
  /** /var/tmp/frr. */
  readonly varTmpFrrDir: string;
  readonly pod: SpeakerPod;
  private readonly script: string;
  /** Mounted at /var/tmp, so that its frr/ is /var/tmp/frr. */
  private readonly varTmpDir: string;
  private child: ChildProcess | undefined;
  private exit: Promise<ContainerExit> | undefined;
  private starts = 0;
  private stopped = false;
  private readonly removeExitHook: () => void;

  constructor(private readonly opts: FrrContainerOptions) {
    this.pod = opts.pod ?? speakerPod();
    this.script = opts.script ?? join(repoRoot(), "speaker", "image", "frr-start.sh");
    const { frr, speaker } = this.pod;
    const extra = [...frr.mounts.keys()].filter((m) => !(FRR_MOUNTS as readonly string[]).includes(m));
    if (extra.length > 0 || FRR_MOUNTS.some((m) => !frr.mounts.has(m))) {
      throw new Error(`the frr container mounts ${[...frr.mounts.keys()].join(", ")}; FrrContainer stands in for exactly ${FRR_MOUNTS.join(", ")}`);
    }
    for (const shared of ["/etc/frr", "/var/run/frr"]) {
      if (speaker.mounts.get(shared) !== frr.mounts.get(shared)) throw new Error(`the speaker and frr containers do not share the volume at ${shared}`);
    }
    this.confDir = join(opts.dir, "etc-frr");
    this.runDir = join(opts.dir, "var-run-frr");
    this.startupDir = join(opts.dir, "etc-frr-startup");
    this.varTmpDir = join(opts.dir, "var-tmp");
    this.varTmpFrrDir = join(this.varTmpDir, "frr");
    mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
    // emptyDirs are 0777 root:root; a ConfigMap volume holds 0644 files.
    for (const d of [this.confDir, this.runDir, this.varTmpFrrDir]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o777);
    }
    mkdirSync(this.startupDir, { recursive: true, mode: 0o755 });
    for (const [name, text] of Object.entries(this.pod.startupFiles)) writeFileSync(join(this.startupDir, name), text, { mode: 0o644 });
    this.removeExitHook = addExitHook(() => {
      const pid = this.child?.pid;
      if (pid !== undefined && this.running) killQuietly(pid);
      for (const p of this.daemonProcesses()) killQuietly(p);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The container's log. */
  get logFile(): string {
    return this.opts.logFile;
  }

  private environment(): Record<string, string> {
    return { FRR_CONF_DIR: this.confDir, FRR_RUN_DIR: this.runDir, FRR_STARTUP_DIR: this.startupDir, ...(this.opts.env ?? {}) };
  }

  /** Starts frr-start (it must not be running) and waits until its livenessProbe (`frr-start probe`) passes. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.stopped) throw new Error(`FRR container on ${this.opts.host} was stopped`);
    if (this.running) throw new Error(`FRR container on ${this.opts.host} already runs`);
    this.starts++;
    appendFileSync(this.opts.logFile, `--- frr-start, start #${this.starts} ---\n`);
    // Every step execs in place: the child's pid is frr-start's, as PID 1 of the container.
    this.child = spawnLogged(
      "ip",
      [
        "netns",
        "exec",
        this.opts.lab.host(this.opts.host).netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /var/tmp && exec "$@"',
        this.varTmpDir,
        ...confinementPrefix(this.pod.frr),
        this.script,
      ],
      this.opts.logFile,
      { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...this.environment() } },
    );
    const child = this.child;
    this.exit = exited(child).then(() => ({ code: child.exitCode, signal: child.signalCode }));
    await waitFor(
      `FRR container on ${this.opts.host} live`,
      async () => {
        if (!this.running) throw new Error(`frr-start exited (${child.exitCode ?? child.signalCode}); see ${this.opts.logFile}`);
        return (await this.probe()) ? true : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** The container's livenessProbe: `frr-start probe` in the container's namespace and confinement. */
  async probe(): Promise<boolean> {
    const env = Object.entries(this.environment()).map(([k, v]) => `${k}=${v}`);
    const r = await run("ip", ["netns", "exec", this.opts.lab.host(this.opts.host).netns, ...confinementPrefix(this.pod.frr), "env", ...env, this.script, "probe"], { allowFail: true, timeoutMs: 10_000 });
    return r.code === 0;
  }

  /** Waits for frr-start to exit (resolves at once if it has); rejects after timeoutMs. */
  async waitExit(timeoutMs = 15_000): Promise<ContainerExit> {
    if (this.exit === undefined) throw new Error(`FRR container on ${this.opts.host} was never started`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.exit,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`frr-start on ${this.opts.host} still runs after ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal to frr-start (the container's PID 1). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child?.kill(sig);
  }

  /** Pid of a daemon from its pid file in the run directory (it may be stale). */
  daemonPid(daemon: string): number | undefined {
    return readPidFile(join(this.runDir, `${daemon}.pid`));
  }

  /** Live processes of this FRR instance: those whose command line names the run directory (the daemons' -z, -i). */
  daemonProcesses(): number[] {
    const needle = `${this.runDir}/`;
    const out: number[] = [];
    for (const name of listDir("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
        if (cmdline.some((a) => a.startsWith(needle)) && isAlive(Number(name))) out.push(Number(name));
      } catch {
        /* gone */
      }
    }
    return out;
  }

  /** SIGTERM (the kubelet's stop), SIGKILL after graceMs, then kills any daemon left. Final. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.running) {
      this.signal("SIGTERM");
      await this.waitExit(graceMs).catch(async () => {
        this.signal("SIGKILL");
        await this.exit;
      });
    }
    for (const p of this.daemonProcesses()) killQuietly(p);
    this.removeExitHook();
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
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
      await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { "kubernetes.io/hostname": n } } }, "nodes");
      const res = await kubeRequest(kc, "PATCH", `/api/v1/nodes/${n}/status`, { status: { addresses: [{ type: "InternalIP", address: lab.host(n).ipv4 }, { type: "Hostname", address: n }] } }, "application/merge-patch+json");
      if (res.status >= 300) throw new Error(`node ${n} status: ${statusMessage(res)}`);
    }
    await apply(kc, { apiVersion: "v1", kind: "Secret", metadata: { name: "metallb-ts-l2-key", namespace: METALLB_NS }, stringData: { secretkey: L2_LAB_KEY } }, "secrets");
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
