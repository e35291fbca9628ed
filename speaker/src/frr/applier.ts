// Moves the co-located FRR from the configuration it runs to a new rendered one: the difference is computed by the
// pure diffFrrConfig (model/src/frr/diff.ts) and applied as ONE `vtysh -f` batch, then verified by reading
// `show running-config` back. Replaces frr-reload.py, which runs one vtysh process per deleted line.
import { execFile } from "node:child_process";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { diffFrrConfig, gracefulRestartAddedInPlace, redactPasswords, runningBase, type FrrBatch } from "../../../model/src/frr/diff.js";
import type { Logger } from "../../../shell/src/logger.js";

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion (never rejects for a non-zero exit). */
export type ExecFn = (file: string, args: readonly string[]) => Promise<ExecResult>;

export interface FrrApplierOptions {
  /** Arguments that reach this FRR, e.g. `["--vty_socket", dir, "--config_dir", dir]` or `["-N", pathspace]`. */
  readonly vtyshArgs: readonly string[];
  readonly log: Logger;
  /** frr.conf, rewritten atomically (tmp file + rename, mode 0600: it can hold BGP passwords) at every change. */
  readonly configPath: string;
  /** Default "vtysh". */
  readonly vtysh?: string;
  /** Default: node's execFile. */
  readonly exec?: ExecFn;
  /** Default Date.now. */
  readonly now?: () => number;
}

export interface ApplyResult {
  /** A batch was run (false: nothing to change). */
  readonly changed: boolean;
  readonly deletions: number;
  readonly additions: number;
  readonly durationMs: number;
  /** FRR's running configuration equals the wanted one (comments and FRR's header lines aside). */
  readonly ok: boolean;
  readonly error?: string;
}

const MAX_LOGGED_CHARS = 4_000;

function defaultExec(file: string, args: readonly string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { maxBuffer: 256 * 1024 * 1024, timeout: 600_000, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr: error !== null && stderr === "" ? error.message : stderr });
    });
  });
}

const forLog = (text: string): string => {
  const redacted = redactPasswords(text);
  return redacted.length > MAX_LOGGED_CHARS ? `${redacted.slice(0, MAX_LOGGED_CHARS)}… (${redacted.length} chars)` : redacted;
};

export class FrrApplier {
  /** What FRR runs, as far as we know; undefined = read it from FRR before the next change. */
  private lastApplied: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly exec: ExecFn;
  private readonly vtyshBin: string;
  private readonly now: () => number;
  private vtyshRuns = 0;

  constructor(private readonly opts: FrrApplierOptions) {
    this.exec = opts.exec ?? defaultExec;
    this.vtyshBin = opts.vtysh ?? "vtysh";
    this.now = opts.now ?? Date.now;
  }

  /** Number of vtysh processes started so far (reads and batches). */
  get vtyshCount(): number {
    return this.vtyshRuns;
  }

  /** The next apply computes its batch against FRR's actual running configuration. */
  resync(): void {
    this.lastApplied = undefined;
  }

  /** Applies `newText` (serialised with any apply in progress). */
  apply(newText: string): Promise<ApplyResult> {
    const next = this.queue.then(() => this.applyNow(newText));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(newText: string): Promise<ApplyResult> {
    const started = this.now();
    const took = (): number => this.now() - started;
    if (this.lastApplied === newText) return { changed: false, deletions: 0, additions: 0, durationMs: took(), ok: true };
    try {
      const base = this.lastApplied ?? runningBase(await this.readRunning(), newText);
      const batch = diffFrrConfig(base, newText);
      await this.writeConfig(newText);
      if (batch.empty) {
        this.lastApplied = newText;
        return { changed: false, deletions: 0, additions: 0, durationMs: took(), ok: true };
      }
      const residual = await this.runAndVerify(batch, newText);
      if (residual.empty) {
        this.lastApplied = newText;
        await this.resetForGracefulRestart(base, batch);
        const result = { changed: true, deletions: batch.deletions, additions: batch.additions, durationMs: took(), ok: true };
        this.opts.log.info(
          { op: "frrApply", deletions: result.deletions, additions: result.additions, durationMs: result.durationMs },
          "FRR configuration applied",
        );
        return result;
      }
      this.lastApplied = undefined;
      const error = `FRR running configuration still differs from the wanted one after a retry: ${residual.deletions} lines to delete, ${residual.additions} to add`;
      this.opts.log.error({ op: "frrApply", residual: forLog(residual.script), durationMs: took() }, "FRR configuration not applied");
      return { changed: true, deletions: batch.deletions, additions: batch.additions, durationMs: took(), ok: false, error };
    } catch (e) {
      this.lastApplied = undefined;
      const error = redactPasswords(e instanceof Error ? e.message : String(e));
      this.opts.log.error({ op: "frrApply", err: { name: "Error", message: forLog(error) }, durationMs: took() }, "FRR configuration not applied");
      return { changed: true, deletions: 0, additions: 0, durationMs: took(), ok: false, error };
    }
  }

  /** Runs the batch, re-reads FRR; if something is left, runs the residual batch once. Returns what is still left. */
  private async runAndVerify(batch: FrrBatch, wanted: string): Promise<FrrBatch> {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      await this.runBatch(pending, attempt);
      const residual = diffFrrConfig(await this.readRunning(), wanted);
      if (residual.empty || attempt === 2) return residual;
      this.opts.log.warn({ op: "frrApply", attempt, residual: forLog(residual.script) }, "FRR configuration differs after the batch, retrying");
      pending = residual;
    }
  }

  /**
   * Neighbors that got `graceful-restart` in a running bgpd instance advertise it as helpers only until their session
   * is reset (gracefulRestartAddedInPlace): reset them once, so that their peers keep the routes through a restart.
   */
  private async resetForGracefulRestart(base: string, batch: FrrBatch): Promise<void> {
    const targets = gracefulRestartAddedInPlace(base, batch.script);
    if (targets.length === 0) return;
    const commands = targets.flatMap((t) => ["-c", `clear bgp ${t.vrf === null ? "" : `vrf ${t.vrf} `}${t.neighbor}`]);
    const r = await this.vtysh(commands);
    const neighbors = targets.map((t) => (t.vrf === null ? t.neighbor : `${t.vrf}/${t.neighbor}`));
    if (r.code !== 0)
      this.opts.log.warn(
        { op: "frrApply", neighbors, code: r.code, output: forLog(`${r.stdout}\n${r.stderr}`) },
        "resetting sessions for graceful restart failed",
      );
    else this.opts.log.info({ op: "frrApply", neighbors }, "sessions reset once so that they advertise graceful restart");
  }

  private async runBatch(batch: FrrBatch, attempt: number): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "frr-batch-"));
    try {
      const file = join(dir, "batch.conf");
      await writeFile(file, batch.script, { mode: 0o600 });
      this.opts.log.debug(
        { op: "frrApply", attempt, deletions: batch.deletions, additions: batch.additions, batch: forLog(batch.script) },
        "running vtysh batch",
      );
      const r = await this.vtysh(["-f", file]);
      const output = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim() !== "");
      if (r.code !== 0) {
        // rc≠0 may mean a partial application: the read-back decides.
        this.opts.log.warn({ op: "frrApply", attempt, code: r.code, output: forLog(output.join("\n")) }, "vtysh batch reported errors");
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async readRunning(): Promise<string> {
    const r = await this.vtysh(["-c", "show running-config"]);
    if (r.code !== 0) throw new Error(`vtysh show running-config exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  private vtysh(args: readonly string[]): Promise<ExecResult> {
    this.vtyshRuns++;
    return this.exec(this.vtyshBin, [...this.opts.vtyshArgs, ...args]);
  }

  private async writeConfig(text: string): Promise<void> {
    const tmp = join(dirname(this.opts.configPath), `.frr.conf.${process.pid}.${this.now()}.tmp`);
    try {
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.opts.configPath);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new Error(`writing ${this.opts.configPath}`, { cause: e });
    }
  }
}
