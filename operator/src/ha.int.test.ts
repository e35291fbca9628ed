// Restart safety and leader failover with real operator processes (the compiled main.js) on a real apiserver.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { run, sleep, spawnLogged, waitFor } from "../../testenv/src/proc.js";
import { createService, deleteService, ensureNamespace, METALLB_NS, pool, serviceIPs, settledIPs } from "../../testenv/src/objects.js";

const env = useControlPlane();
const main = join(repoRoot(), "dist", "operator", "src", "main.js");

interface Proc {
  child: ChildProcess;
  name: string;
}

function startOperator(name: string, args: readonly string[]): Proc {
  const child = spawnLogged(
    process.execPath,
    [main, "--metrics-addr=127.0.0.1:0", "--webhook-mode=disabled", `--identity=${name}`, ...args],
    join(env.cp.info.dir, `${name}.log`),
    {
      env: { ...process.env, KUBECONFIG: env.cp.kubeconfigPath },
    },
  );
  return { child, name };
}

async function kill(p: Proc, sig: NodeJS.Signals): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const done = new Promise<void>((r) => p.child.once("exit", () => r()));
  p.child.kill(sig);
  await done;
}

const assignments = (ns: string): Promise<Map<string, string[]>> => serviceIPs(env.kc, ns);
/** Waits until `count` Services hold IPs and nothing changed for `quietMs`. */
const settle = (ns: string, count: number, quietMs = 1_000): Promise<Map<string, string>> => settledIPs(env.kc, ns, count, { quietMs, timeoutMs: 120_000 });

function duplicates(m: Map<string, string>): string[] {
  const seen = new Map<string, string>();
  const dup: string[] = [];
  for (const [svc, ip] of m) {
    const prev = seen.get(ip);
    if (prev !== undefined) dup.push(`${ip}: ${prev} and ${svc}`);
    seen.set(ip, svc);
  }
  return dup;
}

describe("operator restarts and leader failover", () => {
  const procs: Proc[] = [];

  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(repoRoot(), "tsconfig.build.json")], { timeoutMs: 120_000 });
    await ensureNamespace(env.kc, METALLB_NS);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => kill(p, "SIGKILL")));
  });

  test("200 Services in a scarce pool plus 20 pending: 5 restarts (SIGKILL mid-reconcile, SIGTERM) change no IP and never duplicate one", async () => {
    const ns = "restart";
    await ensureNamespace(env.kc, ns);
    // 128 + 64 + 8 = 200 addresses.
    await pool(env.kc, "scarce", { addresses: ["10.50.0.0/25", "10.50.1.0/26", "10.50.2.0/29"] });
    for (let i = 0; i < 220; i++) await createService(env.kc, ns, `s${String(i).padStart(3, "0")}`);
    let op = startOperator("restart-0", ["--leader-elect=false"]);
    procs.push(op);
    let before = await settle(ns, 200);
    expect(duplicates(before)).toEqual([]);

    for (let round = 1; round <= 5; round++) {
      // Free one IP (a pending Service will take it) and kill the operator while it reconciles that.
      const victim = [...before.keys()].sort()[round] ?? "";
      await deleteService(env.kc, ns, victim);
      before.delete(victim);
      await sleep(30 * round);
      await kill(op, round % 2 === 1 ? "SIGKILL" : "SIGTERM");
      op = startOperator(`restart-${round}`, ["--leader-elect=false"]);
      procs.push(op);
      const after = await settle(ns, 200);
      expect(duplicates(after)).toEqual([]);
      const changed = [...before].filter(([svc, ip]) => after.get(svc) !== ip).map(([svc, ip]) => `${svc}: ${ip} -> ${after.get(svc) ?? "none"}`);
      expect([round, changed]).toEqual([round, []]);
      before = after;
    }
    await kill(op, "SIGTERM");
  }, 600_000);

  test("two replicas: the standby takes over within the lease time after the leader is killed, and no IP changes", async () => {
    const ns = "failover";
    await ensureNamespace(env.kc, ns);
    await pool(env.kc, "ha", { addresses: ["10.60.0.0/24"], serviceAllocation: { namespaces: [ns] } });
    const args = ["--lease-duration=3", "--renew-deadline=2000", "--retry-period=250"];
    const a = startOperator("op-a", args);
    procs.push(a);
    const leaseHolder = async (): Promise<string> => {
      const res = await kubeRequest(env.kc, "GET", `/apis/coordination.k8s.io/v1/namespaces/${METALLB_NS}/leases/metallb-ts-operator`);
      return (res.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? "";
    };
    await waitFor("op-a leads", async () => ((await leaseHolder()) === "op-a" ? true : undefined), 30_000, 100);
    const b = startOperator("op-b", args);
    procs.push(b);
    for (let i = 0; i < 30; i++) await createService(env.kc, ns, `f${i}`);
    const before = await settle(ns, 30);
    expect(await leaseHolder()).toBe("op-a");

    const killedAt = Date.now();
    await kill(a, "SIGKILL");
    await createService(env.kc, ns, "after-failover");
    await waitFor("op-b leads", async () => ((await leaseHolder()) === "op-b" ? true : undefined), 15_000, 25);
    const takeoverMs = Date.now() - killedAt;
    await waitFor("the new Service gets an IP", async () => (((await assignments(ns)).get("after-failover")?.length ?? 0) > 0 ? true : undefined), 15_000, 25);
    const allocatedMs = Date.now() - killedAt;
    process.stderr.write(
      `[failover] leader killed -> standby holds the lease after ${takeoverMs} ms, new Service has an IP after ${allocatedMs} ms (lease 3 s)\n`,
    );
    // The lease runs out at most 3 s after the last renewal (which preceded the kill); one retry period to notice.
    expect(takeoverMs).toBeLessThan(3_000 + 250 + 500);
    const after = await settle(ns, 31, 500);
    const changed = [...before].filter(([svc, ip]) => after.get(svc) !== ip);
    expect(changed).toEqual([]);
    expect(duplicates(after)).toEqual([]);
    await kill(b, "SIGTERM");
  }, 180_000);
});
