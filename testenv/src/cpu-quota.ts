// A CPU quota for lab processes through a cgroup v1 cpu controller (cfs_quota_us / cfs_period_us), as a CPU-limited
// Pod gets it: created under /sys/fs/cgroup/cpu by the test or benchmark that needs it, the processes moved in, and
// removed (processes moved back to the root group) at the end or on process exit. Also: SIGSTOP/SIGCONT stalls and
// a process's CPU time. Root only; nothing here touches a process the caller did not start.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addExitHook } from "./exit-hooks.js";

export const CPU_CGROUP_ROOT = "/sys/fs/cgroup/cpu";

export class CpuQuota {
  private readonly removeHook: () => void;
  private removed = false;

  private constructor(readonly dir: string) {
    this.removeHook = addExitHook(() => this.removeSync());
  }

  /** A new cgroup `name` allowing `fraction` of one CPU (e.g. 0.2) per `periodUs`. */
  static create(name: string, fraction: number, periodUs = 100_000): CpuQuota {
    if (!existsSync(join(CPU_CGROUP_ROOT, "cpu.cfs_quota_us"))) throw new Error(`no cgroup v1 cpu controller at ${CPU_CGROUP_ROOT}`);
    const dir = join(CPU_CGROUP_ROOT, `metallb-ts-${name}-${process.pid}`);
    if (!existsSync(dir)) mkdirSync(dir);
    writeFileSync(join(dir, "cpu.cfs_period_us"), String(periodUs));
    writeFileSync(join(dir, "cpu.cfs_quota_us"), String(Math.max(1_000, Math.round(fraction * periodUs))));
    return new CpuQuota(dir);
  }

  /** Moves a process (all its threads) into the group. */
  add(pid: number): void {
    writeFileSync(join(this.dir, "cgroup.procs"), String(pid));
  }

  /** How often the group was throttled, and for how long in all (cpu.stat). */
  throttled(): { periods: number; throttledPeriods: number; throttledSeconds: number } {
    const stat = Object.fromEntries(
      readFileSync(join(this.dir, "cpu.stat"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]),
    );
    return {
      periods: Number(stat.nr_periods ?? 0),
      throttledPeriods: Number(stat.nr_throttled ?? 0),
      throttledSeconds: Number(stat.throttled_time ?? 0) / 1e9,
    };
  }

  /** Moves every process back to the root group and removes the group. */
  remove(): void {
    this.removeSync();
    this.removeHook();
  }

  private removeSync(): void {
    if (this.removed || !existsSync(this.dir)) return;
    for (const pid of readFileSync(join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
      try {
        writeFileSync(join(CPU_CGROUP_ROOT, "cgroup.procs"), pid);
      } catch {
        // exited meanwhile
      }
    }
    rmdirSync(this.dir);
    this.removed = true;
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command: state is field 3 (index 0 here); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Stops a process for `ms` (SIGSTOP), then lets it go on (SIGCONT). */
export async function stall(pid: number, ms: number): Promise<void> {
  process.kill(pid, "SIGSTOP");
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    process.kill(pid, "SIGCONT");
  }
}
