// The README's demo, run non-interactively (twice in a row): it must end with the facts of its summary true, and
// leave no namespaces or processes behind.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ControlPlane } from "../testenv/src/control-plane.js";
import { repoRoot } from "../testenv/src/repo-root.js";
import { labNamespaces } from "../testenv/src/netlab.js";
import { run, waitFor } from "../testenv/src/proc.js";

interface Summary {
  l2: { externalIP: string; owner: string; newOwner: string; failoverMs: number; httpAfterFailover: string };
  externalIP: string;
  bgpNextHops: string[];
  httpAnswers: Record<string, number>;
  totalMs: number;
}

/** Runs the demo to its end; returns its summary and its pid (the owner pid in its labs' and run directories' names). */
async function runDemo(args: readonly string[] = []): Promise<Summary & { pid: number }> {
  const child = spawn(process.execPath, [join(repoRoot(), "dist", "demo", "src", "main.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 170_000);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`demo exited ${code}:\n${stdout}\n${stderr}`);
  const line = stdout.split("\n").find((l) => l.startsWith("DEMO_SUMMARY "));
  if (line === undefined || child.pid === undefined) throw new Error(`no DEMO_SUMMARY line in:\n${stdout}`);
  return { ...(JSON.parse(line.slice("DEMO_SUMMARY ".length)) as Summary), pid: child.pid };
}

/**
 * What a demo run (pid) left behind: its lab namespaces and its lab/control-plane processes. Names carry the owner
 * pid (runId), so labs of other runs on the same machine (other tests, benchmarks) are not counted.
 */
async function leftBehind(pid: number): Promise<{ namespaces: string[]; processes: string }> {
  const namespaces = (await labNamespaces()).filter((n) => n.startsWith(`mlt-${pid}-`));
  const processes = (await run("pgrep", ["-f", `metallb-ts-(lab|cp)-${pid}-`], { allowFail: true })).stdout.trim();
  return { namespaces, processes };
}

describe("npm run demo", () => {
  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(repoRoot(), "tsconfig.build.json")], { timeoutMs: 120_000 });
  }, 150_000);

  test("runs twice in a row: IPs assigned, BGP route via both nodes, HTTP through it, L2 owner and failover, nothing left behind", async () => {
    for (let i = 0; i < 2; i++) {
      const s = await runDemo();
      expect(s.externalIP).toMatch(/^10\.200\.0\.\d+$/);
      expect(s.bgpNextHops).toEqual(["10.111.0.11", "10.111.0.12"]);
      expect(Object.keys(s.httpAnswers).every((a) => a.startsWith("hello from node"))).toBe(true);
      expect(Object.values(s.httpAnswers).reduce((a, b) => a + b, 0)).toBe(8);
      expect(s.l2.externalIP).toMatch(/^10\.111\.0\.20\d$/);
      expect(["node1", "node2"]).toContain(s.l2.owner);
      expect(s.l2.newOwner).not.toBe(s.l2.owner);
      expect(["node1", "node2"]).toContain(s.l2.newOwner);
      expect(s.l2.failoverMs).toBeGreaterThan(0);
      expect(s.l2.httpAfterFailover).toBe(`hello from ${s.l2.newOwner}`);
      expect(await leftBehind(s.pid)).toEqual({ namespaces: [], processes: "" });
    }
  }, 400_000);

  test("interrupted (SIGINT) in the middle, it leaves no namespaces or processes behind", async () => {
    const child = spawn(process.execPath, [join(repoRoot(), "dist", "demo", "src", "main.js")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    await waitFor("the demo to reach its Layer 2 part", () => (out.includes("==> Layer 2 mode") ? true : undefined), 150_000, 50);
    const pid = child.pid ?? 0;
    expect((await leftBehind(pid)).namespaces.length).toBeGreaterThan(0);
    child.kill("SIGINT");
    await exited;
    await waitFor(
      "nothing left",
      async () => {
        const left = await leftBehind(pid);
        return left.namespaces.length === 0 && left.processes === "" ? true : undefined;
      },
      15_000,
      100,
    );
  }, 200_000);

  test("--kubeconfig: uses an apiserver that already runs (and installs the CRDs on it)", async () => {
    const cp = await ControlPlane.start({ crdDirs: [] });
    try {
      const s = await runDemo(["--kubeconfig", cp.kubeconfigPath]);
      expect(s.bgpNextHops).toEqual(["10.111.0.11", "10.111.0.12"]);
      expect(s.l2.newOwner).not.toBe(s.l2.owner);
      expect(await leftBehind(s.pid)).toEqual({ namespaces: [], processes: "" });
    } finally {
      await cp.stop();
    }
  }, 200_000);
});
