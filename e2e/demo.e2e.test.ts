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

async function runDemo(args: readonly string[] = []): Promise<Summary> {
  const r = await run(process.execPath, [join(repoRoot(), "dist", "demo", "src", "main.js"), ...args], { timeoutMs: 170_000, allowFail: true });
  if (r.code !== 0) throw new Error(`demo exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  const line = r.stdout.split("\n").find((l) => l.startsWith("DEMO_SUMMARY "));
  if (line === undefined) throw new Error(`no DEMO_SUMMARY line in:\n${r.stdout}`);
  return JSON.parse(line.slice("DEMO_SUMMARY ".length)) as Summary;
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
      expect(await labNamespaces()).toEqual([]);
      const leftovers = await run("pgrep", ["-f", "metallb-ts-lab|metallb-ts-cp"], { allowFail: true });
      expect(leftovers.stdout.trim()).toBe("");
    }
  }, 400_000);

  test("interrupted (SIGINT) in the middle, it leaves no namespaces or processes behind", async () => {
    const child = spawn(process.execPath, [join(repoRoot(), "dist", "demo", "src", "main.js")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    await waitFor("the demo to reach its Layer 2 part", () => (out.includes("==> Layer 2 mode") ? true : undefined), 150_000, 50);
    expect((await labNamespaces()).length).toBeGreaterThan(0);
    child.kill("SIGINT");
    await exited;
    await waitFor(
      "nothing left",
      async () => {
        const ns = await labNamespaces();
        const procs = (await run("pgrep", ["-f", "metallb-ts-lab|metallb-ts-cp"], { allowFail: true })).stdout.trim();
        return ns.length === 0 && procs === "" ? true : undefined;
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
      expect(await labNamespaces()).toEqual([]);
    } finally {
      await cp.stop();
    }
  }, 200_000);
});
