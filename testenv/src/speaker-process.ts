// Speakers as real processes inside lab node namespaces, for e2e tests and benchmarks: builds the speaker, starts
// `node dist/speaker/src/main.js` with `ip netns exec`, and kills/restarts it (SIGKILL for failover drills).
// Everything started here is stopped by stop()/the exit hook.
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { addExitHook } from "./exit-hooks.js";
import type { NetLab } from "./netlab.js";
import { exited, isAlive, run, spawnLogged, waitFor } from "./proc.js";
import { repoRoot } from "./repo-root.js";

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
  /** Flags of node itself, ahead of the script (e.g. ["--cpu-prof", "--cpu-prof-dir", dir]). */
  nodeArgs?: readonly string[];
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
        ...(this.opts.nodeArgs ?? []),
        this.opts.mainJs,
        "--node-name",
        node,
        ...(this.opts.frrDir === undefined
          ? ["--disable-bgp"]
          : ["--frr-dir", this.opts.frrDir, "--frr-config", this.opts.frrConfig ?? `${this.opts.frrDir}/frr.conf`]),
        "--metrics-addr",
        `127.0.0.1:${this.metricsPort}`,
        "--log-level",
        "debug",
        ...(this.opts.args ?? []),
      ],
      this.opts.logFile,
      { env: { ...process.env, KUBECONFIG: this.opts.kubeconfigPath, METALLB_TS_STATE_DIR: dirname(this.opts.logFile) } },
    );
    const child = this.child;
    await waitFor(
      `speaker ${node} ready`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`speaker ${node} exited (${child.exitCode ?? child.signalCode}); see ${this.opts.logFile}`);
        return (await this.httpGet("/readyz")).status === 200 ? true : undefined;
      },
      30_000,
      100,
    );
  }

  /** Sends a signal and waits for the process to exit (SIGKILL after `graceMs`). */
  async kill(signal: NodeJS.Signals = "SIGKILL", graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([exited(child).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
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
    const r = await this.opts.lab.exec(
      this.opts.host,
      "curl",
      ["-s", "--max-time", "3", "-w", "\n%{http_code}", `http://127.0.0.1:${this.metricsPort}${path}`],
      { allowFail: true },
    );
    const lines = r.stdout.split("\n");
    const status = Number(lines.pop() ?? "0");
    return { status, body: lines.join("\n") };
  }

  async metrics(): Promise<string> {
    return (await this.httpGet("/metrics")).body;
  }

  async stop(): Promise<void> {
    // A speaker that drains thousands of IPs, or writes a CPU profile (nodeArgs), may take more than a few seconds.
    await this.kill("SIGTERM", this.opts.nodeArgs === undefined ? 5_000 : 60_000);
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
