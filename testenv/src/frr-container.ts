// The speaker Pod of config/speaker/speaker-frr.yaml as processes in a node namespace: its FRR container
// (speaker/image/frr-start.sh) with directories standing in for the Pod's volumes, and both containers' confinement
// (capabilities, supplementary groups, no_new_privs) read from the manifest.
import { execFileSync, type ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { addExitHook } from "./exit-hooks.js";
import type { NetLab } from "./netlab.js";
import { exited, isAlive, listDir, readPidFile, run, spawnLogged, waitFor } from "./proc.js";
import { repoRoot } from "./repo-root.js";
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
  const docs = (yaml.loadAll(readFileSync(manifest, "utf8")) as Array<Record<string, unknown> | null>).filter(
    (d): d is Record<string, unknown> => d !== null && typeof d === "object",
  );
  const cm = docs.find((d) => d.kind === "ConfigMap") as { data?: Record<string, string> } | undefined;
  const ds = docs.find((d) => d.kind === "DaemonSet") as
    { spec: { template: { spec: { securityContext?: { supplementalGroups?: number[] }; containers: PodContainerYaml[] } } } } | undefined;
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
    const r = await run(
      "ip",
      ["netns", "exec", this.opts.lab.host(this.opts.host).netns, ...confinementPrefix(this.pod.frr), "env", ...env, this.script, "probe"],
      { allowFail: true, timeoutMs: 10_000 },
    );
    return r.code === 0;
  }

  /** Waits for frr-start to exit (resolves at once if it has); rejects after timeoutMs. */
  async waitExit(timeoutMs = 15_000): Promise<ContainerExit> {
    if (this.exit === undefined) throw new Error(`FRR container on ${this.opts.host} was never started`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.exit,
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`frr-start on ${this.opts.host} still runs after ${timeoutMs} ms`)), timeoutMs)),
        ),
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
