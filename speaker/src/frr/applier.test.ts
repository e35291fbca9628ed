import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogFields, Logger } from "../../../shell/src/logger.js";
import { FrrApplier, type ExecResult } from "./applier.js";

interface Entry {
  level: string;
  fields: LogFields;
  msg: string;
}

function memoryLogger(entries: Entry[]): Logger {
  const at =
    (level: string) =>
    (fields: LogFields, msg: string): void => {
      entries.push({ level, fields, msg });
    };
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: () => logger };
  return logger;
}

/** A fake FRR: `show running-config` returns `running`; a batch sets it to what `onBatch` says. */
class FakeFrr {
  running = "frr version 8.4.4\nfrr defaults traditional\nhostname vm\n!\nend\n";
  batches: string[] = [];
  calls: string[][] = [];
  onBatch: (script: string) => string | undefined = () => undefined;

  exec = (_file: string, args: readonly string[]): Promise<ExecResult> => {
    this.calls.push([...args]);
    const f = args.indexOf("-f");
    if (f >= 0) {
      const script = readFileSync(args[f + 1] ?? "", "utf8");
      this.batches.push(script);
      const next = this.onBatch(script);
      if (next !== undefined) this.running = next;
      return Promise.resolve({ code: 0, stdout: "", stderr: "" });
    }
    return Promise.resolve({ code: 0, stdout: this.running, stderr: "" });
  };
}

const A = "! generated\nrouter bgp 64512\n neighbor 10.0.0.1 remote-as 64500\n neighbor 10.0.0.1 password s3cr3t\nexit\n";
const B = "! generated\nrouter bgp 64512\n neighbor 10.0.0.1 remote-as 64500\n neighbor 10.0.0.1 password n3w-s3cr3t\nexit\n";

describe("FrrApplier", () => {
  let dir: string;
  let frr: FakeFrr;
  let logs: Entry[];
  let applier: FrrApplier;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "applier-test-"));
    frr = new FakeFrr();
    logs = [];
    applier = new FrrApplier({ vtyshArgs: ["--vty_socket", dir], log: memoryLogger(logs), configPath: join(dir, "frr.conf"), exec: frr.exec });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("first apply: diff against FRR's running config, one batch, verified, frr.conf written 0600", async () => {
    frr.onBatch = () => `frr version 8.4.4\n${A}end\n`;
    const r = await applier.apply(A);
    expect(r).toMatchObject({ changed: true, ok: true, deletions: 0, additions: 3 });
    expect(frr.calls.map((c) => c.slice(2))).toEqual([
      ["-c", "show running-config"],
      ["-f", expect.any(String)],
      ["-c", "show running-config"],
    ]);
    expect(frr.calls[0]?.slice(0, 2)).toEqual(["--vty_socket", dir]);
    expect(frr.batches).toEqual(["router bgp 64512\n neighbor 10.0.0.1 remote-as 64500\n neighbor 10.0.0.1 password s3cr3t\nexit\n"]);
    expect(readFileSync(join(dir, "frr.conf"), "utf8")).toBe(A);
    expect(statSync(join(dir, "frr.conf")).mode & 0o777).toBe(0o600);
  });

  test("the same text twice runs no vtysh; the next change is diffed against the last applied text", async () => {
    frr.onBatch = () => A;
    await applier.apply(A);
    const before = applier.vtyshCount;
    expect(await applier.apply(A)).toMatchObject({ changed: false, ok: true });
    expect(applier.vtyshCount).toBe(before);
    frr.onBatch = () => B;
    expect(await applier.apply(B)).toMatchObject({ changed: true, ok: true, deletions: 0, additions: 1 });
    expect(frr.batches.at(-1)).toBe("router bgp 64512\n neighbor 10.0.0.1 password n3w-s3cr3t\nexit\n");
    expect(applier.vtyshCount).toBe(before + 2); // batch + read-back, no initial read
  });

  test("a comment-only change runs no batch but rewrites frr.conf", async () => {
    frr.onBatch = () => A;
    await applier.apply(A);
    const before = applier.vtyshCount;
    expect(await applier.apply(`${A}! more\n`)).toMatchObject({ changed: false, ok: true });
    expect(applier.vtyshCount).toBe(before);
    expect(readFileSync(join(dir, "frr.conf"), "utf8")).toBe(`${A}! more\n`);
  });

  test("a residual difference is retried once, then reported; passwords never reach the logs", async () => {
    const r = await applier.apply(A);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/still differs/);
    expect(frr.batches).toHaveLength(2);
    expect(JSON.stringify(logs)).not.toContain("s3cr3t");
    expect(JSON.stringify(logs)).toContain("password <redacted>");
    // After a failure the next apply starts from a fresh read of FRR.
    frr.onBatch = () => A;
    frr.calls = [];
    expect(await applier.apply(A)).toMatchObject({ ok: true, changed: true });
    expect(frr.calls[0]?.slice(2)).toEqual(["-c", "show running-config"]);
  });

  test("resync() makes the next apply read FRR again, even for the same text", async () => {
    frr.onBatch = () => A;
    await applier.apply(A);
    applier.resync();
    frr.calls = [];
    expect(await applier.apply(A)).toMatchObject({ changed: false, ok: true });
    expect(frr.calls).toHaveLength(1);
  });

  test("after bgpd restarted empty, the route-maps vtysh still shows (zebra's copies) are sent again", async () => {
    const policy = "route-map m-out deny 65535\nexit\n";
    frr.running = `frr version 8.4.4\n${policy}end\n`; // bgpd lost everything; zebra still has the route-map
    frr.onBatch = () => `${A}${policy}`;
    expect(await applier.apply(`${A}${policy}`)).toMatchObject({ ok: true, changed: true });
    expect(frr.batches[0]).toContain("route-map m-out deny 65535\nexit\n");
  });

  test("applies are serialised", async () => {
    frr.onBatch = (script) => (script.includes("n3w") ? B : A);
    const [ra, rb] = await Promise.all([applier.apply(A), applier.apply(B)]);
    expect([ra.ok, rb.ok]).toEqual([true, true]);
    expect(frr.running).toBe(B);
  });
});
