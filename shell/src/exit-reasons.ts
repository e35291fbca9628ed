// Every exit of a long-running component (operator, speaker) logged with its cause, and counted across restarts.
//
// What Node can say, and where it is said:
// - uncaught exception, unhandled rejection: logged at once (error, with the stack), then exit 1;
// - SIGTERM / SIGINT / SIGHUP: logged at once, then the component's graceful shutdown runs; a second signal, or a
//   shutdown that outlasts the grace period, exits 1 at once (also logged);
// - every exit through process.exit or an empty event loop: one "exiting" line on process 'exit' with the code and
//   the cause recorded before (or "exit code N" when nothing was recorded);
// - a fatal V8/native error, out of memory included (heap limit reached): no JavaScript runs any more, so no log line
//   can be written by this process. Node itself prints "FATAL ERROR: ... JavaScript heap out of memory" to stderr
//   (the container log), and with process.report.reportOnFatalError a diagnostic report is written into the state
//   directory; the next start reads its header (event, trigger, pid, time), logs it as the previous run's cause and
//   deletes the report (it holds the environment);
// - SIGKILL (the kernel's OOM killer at the container's memory limit, kubelet after the grace period): nothing runs;
//   the next start finds the previous run's state without a recorded exit and no report, and says so.
// The restart count is the number of earlier starts recorded in the state directory (an emptyDir: it survives
// container restarts, not Pod re-creation, like the kubelet's restartCount). Without a writable directory the
// component runs on and the count is reported as unknown.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "./logger.js";

/** The part of the Node process this module uses (main.ts passes `process`). */
export interface ExitProcess {
  readonly pid: number;
  on(event: "exit", listener: (code: number) => void): unknown;
  on(event: "uncaughtException", listener: (err: Error, origin: string) => void): unknown;
  on(event: "unhandledRejection", listener: (reason: unknown) => void): unknown;
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never;
  uptime(): number;
  readonly report?: { reportOnFatalError: boolean; directory: string; filename: string } | undefined;
}

/** What is kept in the state directory between runs. */
export interface ExitState {
  /** Starts recorded so far, this one included. */
  starts: number;
  pid: number;
  startedAt: string;
  /** Set on the way out; null while running (or when the run ended without a word). */
  exit: { code: number; cause: string; at: string } | null;
}

/** How the previous run ended, as read at the next start. */
export type PreviousRun =
  | { kind: "none" }
  | { kind: "exited"; code: number; cause: string; at: string; pid: number }
  | { kind: "fatalError"; event: string; trigger: string; at: string; pid: number; heapUsedBytes?: number; heapLimitBytes?: number }
  | { kind: "noWord"; pid: number; startedAt: string };

/** The header fields of a Node diagnostic report that say why it was written. */
export interface FatalReportHeader {
  event: string;
  trigger: string;
  processId: number;
  dumpEventTime: string;
  /** javascriptHeap.usedMemory / memoryLimit at the time of the error (how close to the limit the heap was). */
  heapUsedBytes?: number;
  heapLimitBytes?: number;
}

/** Parses a Node diagnostic report's header; null when it is not one. */
export function parseFatalReport(text: string): FatalReportHeader | null {
  try {
    const r = JSON.parse(text) as { header?: Record<string, unknown>; javascriptHeap?: Record<string, unknown> };
    const h = r.header;
    if (h === undefined || typeof h.event !== "string" || typeof h.trigger !== "string" || typeof h.processId !== "number") return null;
    const used = r.javascriptHeap?.usedMemory;
    const limit = r.javascriptHeap?.memoryLimit;
    return {
      event: h.event,
      trigger: h.trigger,
      processId: h.processId,
      dumpEventTime: typeof h.dumpEventTime === "string" ? h.dumpEventTime : "",
      ...(typeof used === "number" ? { heapUsedBytes: used } : {}),
      ...(typeof limit === "number" ? { heapLimitBytes: limit } : {}),
    };
  } catch {
    return null;
  }
}

/** Parses the state file; null when absent or unreadable (taken as a first start). */
export function parseExitState(text: string | undefined): ExitState | null {
  if (text === undefined) return null;
  try {
    const s = JSON.parse(text) as Partial<ExitState>;
    if (typeof s.starts !== "number" || !Number.isInteger(s.starts) || s.starts < 0 || typeof s.pid !== "number") return null;
    const e = s.exit;
    const exit =
      e !== null && typeof e === "object" && typeof e.code === "number" && typeof e.cause === "string"
        ? { code: e.code, cause: e.cause, at: String(e.at ?? "") }
        : null;
    return { starts: s.starts, pid: s.pid, startedAt: String(s.startedAt ?? ""), exit };
  } catch {
    return null;
  }
}

/**
 * The previous run's end, from the state it left and a fatal-error report found next to it. A report counts only
 * when written by the previous run's pid (a stale report of an older run is not this run's cause).
 */
export function previousRun(prev: ExitState | null, report: FatalReportHeader | null): PreviousRun {
  if (prev === null) return { kind: "none" };
  if (prev.exit !== null) return { kind: "exited", ...prev.exit, pid: prev.pid };
  if (report !== null && report.processId === prev.pid) {
    const { event, trigger, dumpEventTime: at, heapUsedBytes, heapLimitBytes } = report;
    return {
      kind: "fatalError",
      event,
      trigger,
      at,
      pid: prev.pid,
      ...(heapUsedBytes !== undefined ? { heapUsedBytes } : {}),
      ...(heapLimitBytes !== undefined ? { heapLimitBytes } : {}),
    };
  }
  return { kind: "noWord", pid: prev.pid, startedAt: prev.startedAt };
}

/** The state of this start: one more start, no exit yet. */
export function startState(prev: ExitState | null, pid: number, now: Date): ExitState {
  return { starts: (prev?.starts ?? 0) + 1, pid, startedAt: now.toISOString(), exit: null };
}

/** One log line's message and fields describing the previous run's end (undefined for a first start). */
export function describePreviousRun(p: PreviousRun): { level: "info" | "warn"; msg: string; fields: Record<string, unknown> } | undefined {
  switch (p.kind) {
    case "none":
      return undefined;
    case "exited":
      return {
        level: p.code === 0 ? "info" : "warn",
        msg: "previous run exited",
        fields: { previousPid: p.pid, previousExitCode: p.code, previousCause: p.cause, previousExitAt: p.at },
      };
    case "fatalError":
      return {
        level: "warn",
        msg: "previous run died of a fatal error",
        fields: {
          previousPid: p.pid,
          previousCause: `fatal error: ${p.event}`,
          trigger: p.trigger,
          previousExitAt: p.at,
          heapUsedBytes: p.heapUsedBytes,
          heapLimitBytes: p.heapLimitBytes,
        },
      };
    case "noWord":
      return {
        level: "warn",
        msg: "previous run ended without a recorded exit",
        fields: {
          previousPid: p.pid,
          previousStartedAt: p.startedAt,
          previousCause:
            "killed without a chance to log (SIGKILL: the kernel's OOM killer at the memory limit, or a kill after the grace period) or a native crash Node could not report",
        },
      };
  }
}

export interface ExitReasonsOptions {
  log: Logger;
  proc: ExitProcess;
  /** "operator" | "speaker": names the state files. */
  component: string;
  /** The node (speaker) or identity (operator): several instances may share a directory in tests. */
  instance: string;
  /** Writable directory kept across container restarts (an emptyDir); null: no restart count, no fatal report. */
  stateDir: string | null;
  /** After a signal, exit 1 if the graceful shutdown has not exited within this long (default 25 s). */
  shutdownGraceMs?: number;
  signals?: readonly NodeJS.Signals[];
  now?: () => Date;
}

export interface ExitReasons {
  /** Earlier starts recorded in the state directory (null when unknown). */
  readonly restarts: number | null;
  /** Records the cause of the exit that is about to happen (the 'exit' line reports it). */
  record(cause: string): void;
  /** Records the cause, logs it at error level with the fields and exits with the code. */
  fail(code: number, cause: string, fields?: Record<string, unknown>): never;
  /** Calls `shutdown` on the first of the signals (default SIGTERM, SIGINT, SIGHUP); a second one exits 1 at once. */
  onSignal(shutdown: (signal: NodeJS.Signals) => void): void;
  /**
   * onSignal for a process that stops gracefully once running: on the first signal it runs the stop given to
   * `whenRunning` (before that, nothing: a signal during startup exits at once), then exits 0; a failed stop exits 1.
   */
  stopOnSignal(): { whenRunning(stop: () => Promise<void>): void };
}

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, "_");

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Installs the exit bookkeeping: reads and logs how the previous run ended, counts this start, arms the fatal-error
 * report, and hooks 'exit', uncaught exceptions and unhandled rejections. Call it as soon as the logger exists.
 */
export function installExitReasons(opts: ExitReasonsOptions): ExitReasons {
  const { log, proc } = opts;
  const now = opts.now ?? ((): Date => new Date());
  const base = `metallb-ts-${safeName(opts.component)}-${safeName(opts.instance)}`;
  const statePath = opts.stateDir === null ? null : join(opts.stateDir, `${base}.exit-state.json`);
  const reportName = `${base}.fatal-report.json`;
  const reportPath = opts.stateDir === null ? null : join(opts.stateDir, reportName);

  const prev = statePath === null ? null : parseExitState(readText(statePath));
  const report = reportPath === null ? null : parseFatalReport(readText(reportPath) ?? "");
  const state = startState(prev, proc.pid, now());
  const writeState = (s: ExitState): boolean => {
    if (statePath === null) return false;
    try {
      mkdirSync(dirname(statePath), { recursive: true });
      writeFileSync(`${statePath}.tmp`, JSON.stringify(s));
      renameSync(`${statePath}.tmp`, statePath);
      return true;
    } catch (e) {
      log.warn({ err: e, path: statePath }, "cannot record the exit state; restarts are not counted");
      return false;
    }
  };
  const recorded = writeState(state);
  const restarts = recorded ? state.starts - 1 : null;
  if (reportPath !== null) rmSync(reportPath, { force: true });

  const p = previousRun(prev, report);
  const d = describePreviousRun(p);
  if (d !== undefined) log[d.level]({ ...d.fields, restarts }, d.msg);
  log.info({ pid: proc.pid, restarts, stateDir: opts.stateDir }, "process started");

  // Out of memory and other fatal errors: Node writes a report (no JavaScript runs then); the next start reads it.
  if (proc.report !== undefined && opts.stateDir !== null) {
    proc.report.directory = opts.stateDir;
    proc.report.filename = reportName;
    proc.report.reportOnFatalError = true;
  }

  let cause: string | undefined;
  let exiting = false;
  const record = (c: string): void => {
    cause ??= c;
  };
  const fail = (code: number, c: string, fields: Record<string, unknown> = {}): never => {
    cause = c;
    try {
      log.error({ ...fields, cause: c }, c);
    } catch {
      // A value the logger cannot serialize (a cycle): the cause still gets its line.
      log.error({ cause: c, err: String(fields.err) }, c);
    }
    return proc.exit(code);
  };

  proc.on("exit", (code) => {
    if (exiting) return;
    exiting = true;
    const c = cause ?? (code === 0 ? "completed" : `exit code ${code}`);
    const fields = { code, cause: c, restarts, uptimeS: Math.round(proc.uptime()) };
    if (code === 0) log.info(fields, "exiting");
    else log.error(fields, "exiting");
    if (recorded) writeState({ ...state, exit: { code, cause: c, at: now().toISOString() } });
  });
  // Anything can be thrown (`throw null` included): read the stack only from Errors.
  proc.on("uncaughtException", (err: unknown, origin) =>
    fail(1, origin === "unhandledRejection" ? "unhandled rejection" : "uncaught exception", { err, ...(err instanceof Error ? { stack: err.stack } : {}) }),
  );
  proc.on("unhandledRejection", (reason) => fail(1, "unhandled rejection", { err: reason, ...(reason instanceof Error ? { stack: reason.stack } : {}) }));

  const graceMs = opts.shutdownGraceMs ?? 25_000;
  const onSignal = (shutdown: (signal: NodeJS.Signals) => void): void => {
    let first: NodeJS.Signals | undefined;
    for (const sig of opts.signals ?? DEFAULT_SIGNALS) {
      proc.on(sig, (s) => {
        if (first !== undefined) {
          fail(1, `second signal ${s} during shutdown (after ${first})`);
          return;
        }
        first = s;
        record(`signal ${s}`);
        log.info({ signal: s }, "signal received, shutting down");
        const grace = setTimeout(() => fail(1, `shutdown after ${s} did not finish within ${graceMs} ms`), graceMs);
        grace.unref();
        shutdown(s);
      });
    }
  };

  const stopOnSignal = (): { whenRunning(stop: () => Promise<void>): void } => {
    let stop: () => Promise<void> = () => Promise.resolve();
    onSignal(() => {
      stop().then(
        () => proc.exit(0),
        (e: unknown) => fail(1, "shutdown failed", { err: e }),
      );
    });
    return { whenRunning: (s) => (stop = s) };
  };

  return { restarts, record, fail, onSignal, stopOnSignal };
}
