// Every exit of the speaker and the operator is logged with its cause and counted across restarts
// (shell/src/exit-reasons.ts): the real compiled processes against a real apiserver, killed from outside through
// each cause that can be provoked. Exceptions, rejections and out of memory are set off by a test-only preload
// (testenv/src/fault-preload.ts, `node --import`) on SIGUSR2, so the product code carries no trigger. The speaker
// runs with BGP and Layer 2 disabled: no FRR, no interface is touched; its metrics listen on loopback.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { exited, freePort, run, spawnLogged, waitFor } from "../../testenv/src/proc.js";

type Entry = Record<string, unknown> & { msg: string; level: string };

const env = useControlPlane();
const root = repoRoot();
const dist = join(root, "dist");
const preload = pathToFileURL(join(dist, "testenv", "src", "fault-preload.js")).href;
const scratch = mkdtempSync(join(tmpdir(), "metallb-ts-exits-"));
const stateDir = join(scratch, "state");

interface Run {
  child: ChildProcess;
  logFile: string;
  text(): string;
  entries(): Entry[];
  find(msg: string): Entry | undefined;
}

let runs = 0;

/** Starts a compiled component (speaker or operator) and waits for its "started" line. */
async function start(component: "speaker" | "operator", opts: { fault?: string; nodeArgs?: string[] } = {}): Promise<Run> {
  const logFile = join(scratch, `${component}-${++runs}.log`);
  const port = await freePort();
  const args =
    component === "speaker"
      ? [join(dist, "speaker", "src", "main.js"), "--node-name", "exit-node", "--disable-bgp", "--disable-l2", "--metrics-addr", `127.0.0.1:${port}`]
      : [
          join(dist, "operator", "src", "main.js"),
          "--identity",
          "exit-operator",
          "--leader-elect=false",
          "--webhook-mode",
          "disabled",
          "--metrics-addr",
          `127.0.0.1:${port}`,
        ];
  const child = spawnLogged(process.execPath, [...(opts.nodeArgs ?? []), "--import", preload, ...args], logFile, {
    env: { ...process.env, KUBECONFIG: env.cp.kubeconfigPath, METALLB_TS_STATE_DIR: stateDir, METALLB_TS_TEST_FAULT: opts.fault ?? "" },
  });
  const text = (): string => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const entries = (): Entry[] =>
    text()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Entry);
  const r: Run = { child, logFile, text, entries, find: (msg) => entries().find((e) => e.msg === msg) };
  const startedMsg = component === "speaker" ? "speaker started" : "caches synced";
  await waitFor(
    `${component} started (${logFile})`,
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${component} exited early: ${text()}`);
      return r.find(startedMsg);
    },
    30_000,
    50,
  );
  return r;
}

/** Waits for the process to end; returns how. */
async function ended(r: Run, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`process did not exit; log:\n${r.text()}`)), timeoutMs)));
  await Promise.race([exited(r.child), timeout]).finally(() => clearTimeout(timer));
  return { code: r.child.exitCode, signal: r.child.signalCode };
}

describe("every exit of the speaker is logged with its cause and counted", () => {
  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(root, "tsconfig.build.json")], { allowFail: true, timeoutMs: 300_000 });
    for (const f of ["speaker/src/main.js", "operator/src/main.js", "testenv/src/fault-preload.js"]) {
      if (!existsSync(join(dist, f))) throw new Error(`build did not produce dist/${f}`);
    }
  }, 320_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // The cases run in order on one state directory: each start counts one more restart and reports the previous end.
  test.each([
    ["SIGTERM", 0, null],
    ["SIGINT", 1, "signal SIGTERM"],
    ["SIGHUP", 2, "signal SIGINT"],
  ] as const)("%s: graceful shutdown, 'exiting' with code 0 and the signal as cause", async (sig, restarts, previousCause) => {
    const r = await start("speaker");
    expect(r.find("process started")).toMatchObject({ restarts, stateDir });
    if (previousCause !== null) expect(r.find("previous run exited")).toMatchObject({ previousCause, previousExitCode: 0, restarts });
    r.child.kill(sig);
    expect(await ended(r)).toEqual({ code: 0, signal: null });
    expect(r.find("signal received, shutting down")).toMatchObject({ level: "info", signal: sig });
    expect(r.find("exiting")).toMatchObject({ level: "info", code: 0, cause: `signal ${sig}`, restarts });
  });

  test("an exception thrown from a timer: logged with its message and stack, exit 1", async () => {
    const r = await start("speaker", { fault: "throw" });
    expect(r.find("process started")).toMatchObject({ restarts: 3 });
    r.child.kill("SIGUSR2");
    expect(await ended(r)).toEqual({ code: 1, signal: null });
    const e = r.find("uncaught exception");
    expect(e).toMatchObject({ level: "error", cause: "uncaught exception", err: { name: "Error", message: "test fault: thrown from a timer" } });
    expect(String(e?.stack)).toContain("fault-preload");
    expect(r.find("exiting")).toMatchObject({ level: "error", code: 1, cause: "uncaught exception", restarts: 3 });
  });

  test("an unhandled rejection: logged with its reason, exit 1; the next start reports the previous cause", async () => {
    const r = await start("speaker", { fault: "reject" });
    expect(r.find("previous run exited")).toMatchObject({ level: "warn", previousCause: "uncaught exception", previousExitCode: 1, restarts: 4 });
    r.child.kill("SIGUSR2");
    expect(await ended(r)).toEqual({ code: 1, signal: null });
    expect(r.find("unhandled rejection")).toMatchObject({ level: "error", err: { message: "test fault: rejected and never handled" } });
    expect(r.find("exiting")).toMatchObject({ code: 1, cause: "unhandled rejection", restarts: 4 });
  });

  test("out of memory: V8 aborts (no JavaScript runs, so no line of ours); Node's own stderr line and the fatal-error report name it, and the next start logs it as the previous cause", async () => {
    const r = await start("speaker", { fault: "oom", nodeArgs: ["--max-old-space-size=64"] });
    r.child.kill("SIGUSR2");
    expect(await ended(r, 60_000)).toEqual({ code: null, signal: "SIGABRT" });
    expect(r.text()).toContain("JavaScript heap out of memory");
    expect(r.find("exiting")).toBeUndefined();
    expect(readdirSync(stateDir)).toContain("metallb-ts-speaker-exit-node.fatal-report.json");

    const next = await start("speaker");
    expect(next.find("previous run died of a fatal error")).toMatchObject({
      level: "warn",
      previousPid: r.child.pid,
      previousCause: "fatal error: Allocation failed - JavaScript heap out of memory",
      trigger: "OOMError",
      restarts: 6,
    });
    const heap = next.find("previous run died of a fatal error") as { heapUsedBytes?: number; heapLimitBytes?: number } | undefined;
    expect(heap?.heapLimitBytes).toBeGreaterThan(0);
    expect(heap?.heapUsedBytes).toBeGreaterThan(0);
    // The report holds the environment: read once, then removed.
    expect(readdirSync(stateDir)).not.toContain("metallb-ts-speaker-exit-node.fatal-report.json");
    next.child.kill("SIGKILL");
    expect(await ended(next)).toEqual({ code: null, signal: "SIGKILL" });
  }, 120_000);

  test("SIGKILL cannot be caught: the next start says the previous run ended without a recorded exit", async () => {
    const r = await start("speaker");
    expect(r.find("previous run ended without a recorded exit")).toMatchObject({ level: "warn", restarts: 7 });
    expect(String(r.find("previous run ended without a recorded exit")?.previousCause)).toMatch(/SIGKILL/);
    r.child.kill("SIGTERM");
    expect(await ended(r)).toEqual({ code: 0, signal: null });
  });

  test("the operator: SIGTERM and an uncaught exception, each with its 'exiting' line; its own restart count", async () => {
    const a = await start("operator", { fault: "throw" });
    expect(a.find("process started")).toMatchObject({ restarts: 0 });
    a.child.kill("SIGUSR2");
    expect(await ended(a)).toEqual({ code: 1, signal: null });
    expect(a.find("uncaught exception")).toMatchObject({ component: "operator", err: { message: "test fault: thrown from a timer" } });
    expect(a.find("exiting")).toMatchObject({ code: 1, cause: "uncaught exception" });

    const b = await start("operator");
    expect(b.find("previous run exited")).toMatchObject({ previousCause: "uncaught exception", restarts: 1 });
    b.child.kill("SIGTERM");
    expect(await ended(b)).toEqual({ code: 0, signal: null });
    expect(b.find("exiting")).toMatchObject({ component: "operator", code: 0, cause: "signal SIGTERM", restarts: 1 });
  }, 120_000);
});
