// Containers for the tests, run by testcontainers over podman's Docker-compatible API (no Docker engine, no
// registry): the images scripts/build-images.sh makes, started inside the lab's network namespaces
// (`--network ns:/run/netns/<name>`) so their traffic stays in the lab like every other test process.
//
// podman's API service is started here when nothing answers on its socket (`podman system service --time=0`,
// detached: later runs reuse it). Ryuk is off (it would be pulled from Docker Hub): every container carries its
// owner's pid in a label, is removed by its owner, by an exit hook if the owner dies, and at the next start if both
// failed (cleanupStaleContainers).
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { request } from "node:http";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { addExitHook } from "./exit-hooks.js";
import { isAlive, run, waitFor } from "./proc.js";

export const PODMAN_SOCKET_DIR = "/run/metallb-ts";
export const PODMAN_SOCKET = `${PODMAN_SOCKET_DIR}/podman.sock`;
const OWNER_LABEL = "dev.metallb-ts.owner-pid";

const env = process.env;
const version = "v0.1.0";
/** The images as scripts/build-images.sh tags them (same environment overrides). */
export const IMAGES = {
  operator: env.METALLB_TS_OPERATOR_IMAGE ?? `ghcr.io/metallb-ts/operator:${env.METALLB_TS_IMAGE_TAG ?? version}`,
  speaker: env.METALLB_TS_SPEAKER_IMAGE ?? `ghcr.io/metallb-ts/speaker:${env.METALLB_TS_IMAGE_TAG ?? version}`,
  labRouter: env.METALLB_TS_LAB_ROUTER_IMAGE ?? "localhost/metallb-ts/lab-router:bookworm",
} as const;

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Makes testcontainers talk to podman: starts the API service on PODMAN_SOCKET when it does not answer, then points
 * DOCKER_HOST at it (unless DOCKER_HOST is set already) and turns Ryuk off. The service outlives the run and is reused
 * by later ones, from other checkouts too: it runs in /, since podman fails ("write child: broken pipe") once the
 * directory it was started in is deleted.
 */
export async function ensureContainerRuntime(): Promise<void> {
  if (env.DOCKER_HOST === undefined) {
    if (!(await ping(PODMAN_SOCKET))) {
      mkdirSync(PODMAN_SOCKET_DIR, { recursive: true, mode: 0o700 });
      const fd = openSync(`${PODMAN_SOCKET_DIR}/podman-service.log`, "a");
      try {
        spawn("podman", ["system", "service", "--time=0", `unix://${PODMAN_SOCKET}`], { stdio: ["ignore", fd, fd], detached: true, cwd: "/" }).unref();
      } finally {
        closeSync(fd);
      }
      await waitFor(`podman API on ${PODMAN_SOCKET}`, async () => ((await ping(PODMAN_SOCKET)) ? true : undefined), 20_000, 100);
    }
    env.DOCKER_HOST = `unix://${PODMAN_SOCKET}`;
  }
  env.TESTCONTAINERS_RYUK_DISABLED = "true";
  await cleanupStaleContainers();
}

/** Fails with what to run when an image is missing (testcontainers would try to pull it). */
export async function requireImage(image: string): Promise<void> {
  const r = await run("podman", ["image", "exists", image], { allowFail: true });
  if (r.code !== 0) throw new Error(`image ${image} is missing: build it with \`npm run build:images\` (scripts/build-images.sh)`);
}

/** Removes containers whose owner process is gone (a crashed or killed run). */
export async function cleanupStaleContainers(): Promise<void> {
  const r = await run("podman", ["ps", "-a", "--filter", `label=${OWNER_LABEL}`, "--format", `{{.ID}} {{index .Labels "${OWNER_LABEL}"}}`], {
    allowFail: true,
  });
  for (const line of r.stdout.split("\n")) {
    const [id, pid] = line.trim().split(" ");
    if (id === undefined || id === "" || (pid !== undefined && isAlive(Number(pid)))) continue;
    await run("podman", ["rm", "-f", "-t", "0", id], { allowFail: true });
  }
}

/** GenericContainer plus supplementary groups (a Pod's securityContext.supplementalGroups), which it has no method for. */
class LabGenericContainer extends GenericContainer {
  withGroupAdd(groups: readonly string[]): this {
    this.hostConfig.GroupAdd = [...groups];
    return this;
  }
}

export interface LabContainerOptions {
  image: string;
  /** The network namespace to join (a name under /run/netns); none: no network at all. */
  netns: string;
  name: string;
  command?: string[];
  entrypoint?: string[];
  user?: string;
  /** Host directories to bind-mount: host path -> container path. */
  binds?: ReadonlyArray<{ source: string; target: string; readOnly?: boolean }>;
  capAdd?: string[];
  capDrop?: string[];
  groupAdd?: string[];
  /** e.g. "no-new-privileges" (allowPrivilegeEscalation: false). */
  securityOpt?: string[];
  env?: Record<string, string>;
}

/** A container started by testcontainers in a lab namespace; stop() removes it. */
export class LabContainer {
  private removeExitHook: () => void;

  private constructor(
    readonly started: StartedTestContainer,
    readonly name: string,
  ) {
    const id = started.getId();
    this.removeExitHook = addExitHook(() => {
      try {
        execFileSync("podman", ["rm", "-f", "-t", "0", id], { stdio: "ignore" });
      } catch {
        /* already gone */
      }
    });
  }

  get id(): string {
    return this.started.getId();
  }

  static async start(opts: LabContainerOptions): Promise<LabContainer> {
    await ensureContainerRuntime();
    await requireImage(opts.image);
    if (opts.netns !== "none" && !existsSync(`/run/netns/${opts.netns}`)) throw new Error(`no network namespace ${opts.netns}`);
    let c = new LabGenericContainer(opts.image)
      .withName(opts.name)
      .withNetworkMode(opts.netns === "none" ? "none" : `ns:/run/netns/${opts.netns}`)
      .withLabels({ [OWNER_LABEL]: String(process.pid) })
      .withBindMounts((opts.binds ?? []).map((b) => ({ source: b.source, target: b.target, mode: b.readOnly === true ? ("ro" as const) : ("rw" as const) })))
      .withStartupTimeout(60_000);
    if (opts.command !== undefined) c = c.withCommand(opts.command);
    if (opts.entrypoint !== undefined) c = c.withEntrypoint(opts.entrypoint);
    if (opts.user !== undefined) c = c.withUser(opts.user);
    if (opts.capAdd !== undefined) c = c.withAddedCapabilities(...opts.capAdd);
    if (opts.capDrop !== undefined) c = c.withDroppedCapabilities(...opts.capDrop);
    if (opts.env !== undefined) c = c.withEnvironment(opts.env);
    if (opts.groupAdd !== undefined) c = c.withGroupAdd(opts.groupAdd);
    if (opts.securityOpt !== undefined) c = c.withSecurityOpt(...opts.securityOpt);
    return new LabContainer(await c.start(), opts.name);
  }

  /** The container's main process as the host sees it (for signals and crash tests). */
  async hostPid(): Promise<number> {
    const r = await run("podman", ["inspect", "--format", "{{.State.Pid}}", this.id]);
    return Number(r.stdout.trim());
  }

  /** Starts the stopped container again, as a kubelet restarts a Pod's container (same mounts, new processes). */
  async restart(): Promise<void> {
    await run("podman", ["start", this.id]);
  }

  /** Exit code of the container's main process, once it has exited (undefined while it runs). */
  async exitCode(): Promise<number | undefined> {
    const r = await run("podman", ["inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", this.id], { allowFail: true });
    const [running, code] = r.stdout.trim().split(" ");
    return running === "false" ? Number(code) : undefined;
  }

  async running(): Promise<boolean> {
    const r = await run("podman", ["inspect", "--format", "{{.State.Running}}", this.id], { allowFail: true });
    return r.stdout.trim() === "true";
  }

  /** Runs a command in the container (testcontainers' exec): its exit code and output. */
  async exec(command: string[], opts: { user?: string } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const r = await this.started.exec(command, opts.user !== undefined ? { user: opts.user } : {});
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  async logs(): Promise<string> {
    const r = await run("podman", ["logs", this.id], { allowFail: true });
    return r.stdout + r.stderr;
  }

  /** Stops (SIGTERM, then SIGKILL after `timeoutS`) and removes the container; returns its exit code and logs. */
  async stop(timeoutS = 5): Promise<{ exitCode: number; logs: string }> {
    try {
      await this.started.stop({ timeout: timeoutS * 1000, remove: false, removeVolumes: true });
      const r = await run("podman", ["inspect", "--format", "{{.State.ExitCode}}", this.id], { allowFail: true });
      const logs = await this.logs();
      return { exitCode: Number(r.stdout.trim()), logs };
    } finally {
      await run("podman", ["rm", "-f", "-t", "0", this.id], { allowFail: true });
      this.removeExitHook();
    }
  }
}
