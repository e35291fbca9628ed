// Small process utilities shared by the test environment (control plane, network lab, FRR).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command to completion; rejects with stdout/stderr in the message when it exits non-zero. */
export async function run(cmd: string, args: readonly string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, [...args], { maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      if (code !== 0 && opts.allowFail !== true) {
        reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.trim() || stdout.trim()}`, { cause: error }));
        return;
      }
      resolve({ stdout, stderr, code });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Starts a long-running process with stdout+stderr appended to a log file (env: the whole environment). */
export function spawnLogged(cmd: string, args: readonly string[], logFile: string, opts: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    return spawn(cmd, [...args], { stdio: ["ignore", fd, fd], ...opts });
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/** Sends SIGTERM, waits up to graceMs for the process to go, then SIGKILL. */
export async function terminate(pid: number, graceMs = 3_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(25);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

/** Waits until a child process has exited (or resolves at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

/** A free TCP port on 127.0.0.1 (bound and released; the small race is acceptable for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Reads a pid file; undefined when absent or not a number. */
export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Names in a directory, or [] when it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Unique id for one test run: the owning pid (so leftovers of dead runs can be recognised) plus randomness. */
export function runId(): string {
  return `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}

/** The pid encoded by runId() in a name like `<prefix>-<pid>-<rand>[-...]`. */
export function ownerPidOf(name: string, prefix: string): number | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const pid = Number.parseInt(name.slice(prefix.length + 1).split("-")[0] ?? "", 10);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}
