// One FRRouting instance (zebra + bgpd + bfdd, optionally staticd) inside a network namespace, every path in its own
// directory: sockets, pid files, config and log. Debian's frr package; daemons run as user frr.
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { addExitHook } from "./exit-hooks.js";
import { isAlive, readPidFile, run, sleep, waitFor } from "./proc.js";

export const FRR_LIB = "/usr/lib/frr";
export type FrrDaemon = "zebra" | "bgpd" | "bfdd" | "staticd";

export interface FrrStartOptions {
  /** Network namespace to run in. */
  netns: string;
  /** Instance directory (created, owned by frr). */
  dir: string;
  /** Initial frr.conf (integrated config). */
  config: string;
  daemons?: readonly FrrDaemon[];
  timeoutMs?: number;
}

function frrIds(): { uid: number; gid: number } {
  const uid = Number.parseInt(execFileSync("id", ["-u", "frr"], { encoding: "utf8" }).trim(), 10);
  const gid = Number.parseInt(execFileSync("id", ["-g", "frr"], { encoding: "utf8" }).trim(), 10);
  return { uid, gid };
}

export class FrrInstance {
  private removeExitHook: () => void;
  private stopped = false;

  private constructor(
    readonly netns: string,
    readonly dir: string,
    readonly daemons: readonly FrrDaemon[],
  ) {
    this.removeExitHook = addExitHook(() => this.killNow());
  }

  get configPath(): string {
    return join(this.dir, "frr.conf");
  }

  get logPath(): string {
    return join(this.dir, "frr.log");
  }

  static async start(opts: FrrStartOptions): Promise<FrrInstance> {
    const daemons = opts.daemons ?? ["zebra", "bgpd", "bfdd"];
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const { uid, gid } = frrIds();
    mkdirSync(opts.dir, { recursive: true, mode: 0o750 });
    chownSync(opts.dir, uid, gid);
    const files: Array<[string, string]> = [
      ["frr.conf", opts.config],
      ["vtysh.conf", "service integrated-vtysh-config\n"],
    ];
    for (const [name, text] of files) {
      writeFileSync(join(opts.dir, name), text, { mode: 0o640 });
      chownSync(join(opts.dir, name), uid, gid);
    }
    const inst = new FrrInstance(opts.netns, opts.dir, daemons);
    try {
      for (const d of daemons) {
        await run("ip", ["netns", "exec", opts.netns, join(FRR_LIB, d), ...inst.daemonArgs(d)]);
        if (d === "zebra") {
          await waitFor(`zebra socket in ${opts.dir}`, () => (existsSync(join(opts.dir, "zserv.api")) ? true : undefined), timeoutMs, 20);
        }
      }
      for (const d of daemons) {
        await waitFor(`${d} vty socket in ${opts.dir}`, () => (existsSync(join(opts.dir, `${d}.vty`)) ? true : undefined), timeoutMs, 20);
      }
      // Push frr.conf into all daemons (as `vtysh -b` does at boot).
      await run("vtysh", [...inst.vtyshBase(), "-b"]);
    } catch (e) {
      await inst.stop();
      throw new Error(`FRR failed to start in ${opts.netns} (dir ${opts.dir})`, { cause: e });
    }
    return inst;
  }

  private daemonArgs(d: FrrDaemon): string[] {
    const common = [
      "-d",
      "-z",
      join(this.dir, "zserv.api"),
      "--vty_socket",
      this.dir,
      "-P",
      "0",
      "-u",
      "frr",
      "-g",
      "frr",
      "-i",
      join(this.dir, `${d}.pid`),
      "-f",
      "/dev/null",
    ];
    if (d === "zebra") return [...common, "-s", "90000000"];
    if (d === "bfdd") return [...common, "--bfdctl", join(this.dir, "bfdd.sock")];
    return common;
  }

  private vtyshBase(): string[] {
    return ["--vty_socket", this.dir, "--config_dir", this.dir];
  }

  /** Runs vtysh commands (each -c is one command, in order); returns stdout. */
  async vtysh(...commands: string[]): Promise<string> {
    const r = await run("vtysh", [...this.vtyshBase(), ...commands.flatMap((c) => ["-c", c])]);
    return r.stdout;
  }

  /** Runs one `show ... json` command and parses the output. */
  async vtyshJson<T = unknown>(command: string): Promise<T> {
    const out = await this.vtysh(command);
    try {
      return JSON.parse(out) as T;
    } catch (e) {
      throw new Error(`vtysh "${command}" did not return JSON: ${out.slice(0, 200)}`, { cause: e });
    }
  }

  /** Applies configuration lines in one vtysh batch (`vtysh -f`). */
  async applyBatch(lines: string): Promise<void> {
    const file = join(this.dir, `batch-${Date.now()}.conf`);
    writeFileSync(file, lines);
    await run("vtysh", [...this.vtyshBase(), "-f", file]);
  }

  /** Kills one daemon and starts it again empty (as a crash + restart without watchfrr's config replay). */
  async restartDaemon(d: FrrDaemon): Promise<void> {
    await this.killDaemon(d);
    await this.startDaemon(d);
  }

  /** SIGKILLs one daemon (a crash) and waits until it is gone. */
  async killDaemon(d: FrrDaemon): Promise<void> {
    const pid = readPidFile(join(this.dir, `${d}.pid`));
    if (pid !== undefined && isAlive(pid)) {
      signal(pid, "SIGKILL");
      await waitFor(`${d} gone`, () => (isAlive(pid) ? undefined : true), 5_000, 10);
    }
    rmSync(join(this.dir, `${d}.vty`), { force: true });
  }

  /** Starts one (killed) daemon again, empty, and waits for its vty socket. */
  async startDaemon(d: FrrDaemon): Promise<void> {
    await run("ip", ["netns", "exec", this.netns, join(FRR_LIB, d), ...this.daemonArgs(d)]);
    await waitFor(`${d} vty socket`, () => (existsSync(join(this.dir, `${d}.vty`)) ? true : undefined), 10_000, 20);
  }

  pids(): Map<FrrDaemon, number> {
    const out = new Map<FrrDaemon, number>();
    for (const d of this.daemons) {
      const pid = readPidFile(join(this.dir, `${d}.pid`));
      if (pid !== undefined) out.set(d, pid);
    }
    return out;
  }

  /** SIGTERM every daemon, SIGKILL what is left after a grace period. */
  async stop(graceMs = 2_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const pids = [...this.pids().values()].filter(isAlive);
    for (const pid of pids) signal(pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (pids.some(isAlive) && Date.now() < deadline) await sleep(25);
    for (const pid of pids.filter(isAlive)) signal(pid, "SIGKILL");
    this.removeExitHook();
  }

  private killNow(): void {
    for (const pid of this.pids().values()) if (isAlive(pid)) signal(pid, "SIGKILL");
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}
