// The speaker Pod of config/speaker/speaker-frr.yaml in a node namespace: its FRR container is the real speaker
// image run by testcontainers over podman (command /usr/local/bin/frr-start, the Pod's volumes as bind-mounted
// directories, capabilities, supplementary groups and no_new_privs read from the manifest); the speaker container's
// confinement, for the speaker process, is read from the same manifest.
import { chmodSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { IMAGES, LabContainer } from "./containers.js";
import type { NetLab } from "./netlab.js";
import { isAlive, readPidFile, sleep, waitFor } from "./proc.js";
import { repoRoot } from "./repo-root.js";

/** What a container of the Pod may do, as setpriv applies it (root, as both containers run). */
export interface ContainerConfinement {
  /** securityContext.capabilities.add (everything else is dropped). */
  capabilities: readonly string[];
  /** Supplementary groups (the image's frrvty is 101: the FRR container creates its vty sockets with that group). */
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
  /** The frr container's command (frr-start in the image). */
  frrCommand: string[];
}

interface PodContainerYaml {
  name: string;
  command?: string[];
  securityContext?: { runAsUser?: number; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
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
  const groups = podSpec.securityContext?.supplementalGroups ?? [];
  const container = (name: string): ContainerConfinement & { command: string[] | undefined } => {
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
      command: c.command,
    };
  };
  const frr = container("frr");
  if (frr.command === undefined) throw new Error(`${manifest}: the frr container has no command`);
  return { startupFiles: cm.data, speaker: container("speaker"), frr, frrCommand: frr.command };
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
  /** Created; holds the directories bind-mounted as the Pod's volumes. */
  dir: string;
  /** Default speakerPod(). */
  pod?: SpeakerPod;
  /** Default IMAGES.speaker (scripts/build-images.sh). */
  image?: string;
  /** Extra environment for frr-start (FRR_STOP_GRACE, ...). */
  env?: Readonly<Record<string, string>>;
}

export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The process's pid namespace and its pid inside it (the last NSpid field), from /proc. */
function pidNamespace(pid: number): { ns: string; nsPid: number } | undefined {
  try {
    const ns = readlinkSync(`/proc/${pid}/ns/pid`);
    const nsPids = (/^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "").trim().split(/\s+/);
    return { ns, nsPid: Number(nsPids.at(-1)) };
  } catch {
    return undefined;
  }
}

/**
 * The speaker Pod's "frr" container: the speaker image with the manifest's command (frr-start), in the node's network
 * namespace, with directories bind-mounted as its emptyDirs (confDir at /etc/frr and runDir at /var/run/frr, shared
 * with the speaker process; /var/tmp/frr) and the ConfigMap's files at /etc/frr-startup. The directories outlive the
 * container's processes, as emptyDirs outlive a container restart; start() again is the kubelet's restart. Pids are
 * the host's (translated from the container's pid namespace).
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
  private container: LabContainer | undefined;
  /** frr-start's host pid and pid namespace in the current run. */
  private current: { pid: number; ns: string } | undefined;
  private stopped = false;

  constructor(private readonly opts: FrrContainerOptions) {
    this.pod = opts.pod ?? speakerPod();
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
    this.varTmpFrrDir = join(opts.dir, "var-tmp-frr");
    mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
    // emptyDirs are 0777 root:root; a ConfigMap volume holds 0644 files.
    for (const d of [this.confDir, this.runDir, this.varTmpFrrDir]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o777);
    }
    mkdirSync(this.startupDir, { recursive: true, mode: 0o755 });
    for (const [name, text] of Object.entries(this.pod.startupFiles)) writeFileSync(join(this.startupDir, name), text, { mode: 0o644 });
  }

  /** frr-start's host pid (the container's PID 1). */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Starts frr-start (a new container the first time, the same one again later) and waits for its livenessProbe. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.stopped) throw new Error(`FRR container on ${this.opts.host} was stopped`);
    if (this.container === undefined) {
      const netns = this.opts.lab.host(this.opts.host).netns;
      const { frr } = this.pod;
      this.container = await LabContainer.start({
        image: this.opts.image ?? IMAGES.speaker,
        netns,
        name: `${netns}-frr`,
        entrypoint: this.pod.frrCommand,
        binds: [
          { source: this.confDir, target: "/etc/frr" },
          { source: this.runDir, target: "/var/run/frr" },
          { source: this.startupDir, target: "/etc/frr-startup", readOnly: true },
          { source: this.varTmpFrrDir, target: "/var/tmp/frr" },
        ],
        capDrop: ["ALL"],
        capAdd: [...frr.capabilities],
        groupAdd: frr.groups.map(String),
        ...(frr.noNewPrivs ? { securityOpt: ["no-new-privileges"] } : {}),
        ...(this.opts.env !== undefined ? { env: { ...this.opts.env } } : {}),
      });
    } else {
      if ((await this.container.exitCode()) === undefined) throw new Error(`FRR container on ${this.opts.host} already runs`);
      await this.container.restart();
    }
    const container = this.container;
    const pid = await container.hostPid();
    const ns = pidNamespace(pid)?.ns;
    if (ns === undefined) throw new Error(`FRR container on ${this.opts.host}: no pid namespace for pid ${pid}`);
    this.current = { pid, ns };
    // The sockets first (cheap, from the host), then the real livenessProbe once (podman exec).
    await waitFor(
      `FRR container on ${this.opts.host} live`,
      async () => {
        if ((await container.exitCode()) !== undefined) throw new Error(`frr-start exited; its log:\n${await container.logs()}`);
        const sockets = ["zebra", "bgpd", "bfdd"].every((d) => this.daemonPid(d) !== undefined);
        return sockets && (await this.probe()) ? true : undefined;
      },
      timeoutMs,
      250,
    );
  }

  /** The container's livenessProbe: `frr-start probe` run in it (the kubelet's exec probe). */
  async probe(): Promise<boolean> {
    if (this.container === undefined || (await this.container.exitCode()) !== undefined) return false;
    const r = await this.container.exec(["/usr/local/bin/frr-start", "probe"]);
    return r.exitCode === 0;
  }

  /** The container's log (frr-start's and the daemons' stdout and stderr, every run). */
  async logs(): Promise<string> {
    return (await this.container?.logs()) ?? "";
  }

  /** Waits for frr-start to exit (resolves at once if it has); rejects after timeoutMs. */
  async waitExit(timeoutMs = 15_000): Promise<ContainerExit> {
    const container = this.container;
    if (container === undefined) throw new Error(`FRR container on ${this.opts.host} was never started`);
    const code = await waitFor(`frr-start on ${this.opts.host} exited`, () => container.exitCode(), timeoutMs, 100);
    return { code, signal: null };
  }

  /** Sends a signal to frr-start (the container's PID 1; it has handlers for TERM and INT). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.current?.pid;
    if (pid !== undefined && isAlive(pid)) process.kill(pid, sig);
  }

  /** Host pid of a daemon, from its pid file in the run directory (the container's pid, translated); undefined if gone. */
  daemonPid(daemon: string): number | undefined {
    const nsPid = this.daemonPidInContainer(daemon);
    if (nsPid === undefined || this.current === undefined) return undefined;
    return this.processesInContainer().find((p) => p.nsPid === nsPid)?.pid;
  }

  /** A daemon's pid as the container sees it (its pid file; crash-log directories are named with it). */
  daemonPidInContainer(daemon: string): number | undefined {
    return readPidFile(join(this.runDir, `${daemon}.pid`));
  }

  /** Host pids of the live processes in the container other than frr-start (exec'd probes excepted, they are brief). */
  daemonProcesses(): number[] {
    return this.processesInContainer()
      .filter((p) => p.pid !== this.current?.pid)
      .map((p) => p.pid);
  }

  private processesInContainer(): Array<{ pid: number; nsPid: number }> {
    const ns = this.current?.ns;
    if (ns === undefined) return [];
    const out: Array<{ pid: number; nsPid: number }> = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const p = pidNamespace(Number(name));
      if (p?.ns === ns && isAlive(Number(name))) out.push({ pid: Number(name), nsPid: p.nsPid });
    }
    return out;
  }

  /** SIGTERM (the kubelet's stop), SIGKILL after graceMs, and removal. Final. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.container?.stop(Math.ceil(graceMs / 1000));
    // The zombie-free end of the pid namespace can lag the container's exit by a moment.
    for (let i = 0; i < 20 && this.daemonProcesses().length > 0; i++) await sleep(50);
  }
}
