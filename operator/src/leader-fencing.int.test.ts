// Leader election cannot yield two writers: a leader frozen with SIGSTOP loses the lease to the standby, and when it
// runs again (SIGCONT) it sends no write at all and exits. Real operator processes (the compiled main.js) on a real
// apiserver. What proves "no write": the old leader's own client logs every write it sends (debug "write sent", from
// the pooled client every API call of the process goes through) — none after the freeze, while it logged writes
// before it; and on the apiserver the Lease stays with the new leader and no IP changes.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { run, spawnLogged, waitFor } from "../../testenv/src/proc.js";
import { assignedIPs, createService, ensureNamespace, METALLB_NS, pool, serviceIPs } from "../../testenv/src/objects.js";

const env = useControlPlane();
const main = join(repoRoot(), "dist", "operator", "src", "main.js");
const LEASE_S = 3;
const RETRY_MS = 250;
const ARGS = [`--lease-duration=${LEASE_S}`, "--renew-deadline=2000", `--retry-period=${RETRY_MS}`, "--log-level=debug"];

interface Proc {
  child: ChildProcess;
  name: string;
  log: string;
}

function startOperator(name: string): Proc {
  const log = join(env.cp.info.dir, `fence-${name}.log`);
  const child = spawnLogged(process.execPath, [main, "--metrics-addr=127.0.0.1:0", "--webhook-mode=disabled", `--identity=${name}`, ...ARGS], log, {
    env: { ...process.env, KUBECONFIG: env.cp.kubeconfigPath },
  });
  return { child, name, log };
}

interface LogLine {
  ts: string;
  msg: string;
  op?: string;
  path?: string;
  reason?: string;
}

function logLines(p: Proc): LogLine[] {
  return readFileSync(p.log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

function processState(pid: number): string {
  // /proc/<pid>/stat: "pid (comm) S ..."; comm is node here (no spaces or parentheses).
  return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] ?? "";
}

interface LeaseView {
  holder: string;
  transitions: number;
}

async function lease(): Promise<LeaseView> {
  const res = await kubeRequest(env.kc, "GET", `/apis/coordination.k8s.io/v1/namespaces/${METALLB_NS}/leases/metallb-ts-operator`);
  const spec = (res.body as { spec?: { holderIdentity?: string; leaseTransitions?: number } }).spec;
  return { holder: spec?.holderIdentity ?? "", transitions: spec?.leaseTransitions ?? 0 };
}

const assignments = async (ns: string): Promise<Map<string, string>> => assignedIPs(await serviceIPs(env.kc, ns));

async function allAssigned(ns: string, count: number): Promise<Map<string, string>> {
  return waitFor(
    `${count} Services with IPs in ${ns}`,
    async () => {
      const a = await assignments(ns);
      return a.size === count ? a : undefined;
    },
    60_000,
    100,
  );
}

describe("leader fencing", () => {
  const procs: Proc[] = [];

  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(repoRoot(), "tsconfig.build.json")], { timeoutMs: 120_000 });
    await ensureNamespace(env.kc, METALLB_NS);
  }, 150_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const exited = new Promise((r) => p.child.once("exit", r));
      p.child.kill("SIGCONT");
      p.child.kill("SIGKILL");
      await exited;
    }
  });

  test("SIGSTOP the leader: the standby takes over; SIGCONT: the old leader sends no write and exits", async () => {
    const ns = "fence";
    await ensureNamespace(env.kc, ns);
    await pool(env.kc, "fence", { addresses: ["10.70.0.0/24"], serviceAllocation: { namespaces: [ns] } });
    const a = startOperator("op-a");
    procs.push(a);
    await waitFor("op-a leads", async () => ((await lease()).holder === "op-a" ? true : undefined), 30_000, 100);
    const b = startOperator("op-b");
    procs.push(b);
    await waitFor("op-b has synced and sees op-a lead", () => (logLines(b).some((l) => l.msg === "leader observed") ? true : undefined), 30_000, 100);
    for (let i = 0; i < 10; i++) await createService(env.kc, ns, `s${i}`);
    const before = await allAssigned(ns, 10);
    const held = await lease();
    expect(held.holder).toBe("op-a");

    // Freeze the leader (the signal is delivered before kill() returns; check the kernel agrees).
    const aExit = new Promise<number | null>((r) => a.child.once("exit", (code) => r(code)));
    a.child.kill("SIGSTOP");
    const pid = a.child.pid ?? 0;
    await waitFor("op-a stopped", () => (processState(pid) === "T" ? true : undefined), 5_000, 5);
    const stoppedAt = Date.now();
    // Work the old leader will see when it wakes up (its watches deliver these).
    for (let i = 0; i < 5; i++) await createService(env.kc, ns, `during-${i}`);
    await waitFor("op-b leads", async () => ((await lease()).holder === "op-b" ? true : undefined), 15_000, 25);
    const takeoverMs = Date.now() - stoppedAt;
    const taken = await allAssigned(ns, 15);
    const afterTakeover = await lease();
    expect(afterTakeover.transitions).toBe(held.transitions + 1);

    // Wake the old leader: it must see its renew deadline long gone, send nothing, and exit.
    const contAt = Date.now();
    a.child.kill("SIGCONT");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([aExit, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 10_000)))]);
    clearTimeout(timer);
    const exitMs = Date.now() - contAt;
    expect(code).toBe(1);
    // Give anything it might have sent time to land, then look at the apiserver.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await lease()).toEqual({ holder: "op-b", transitions: afterTakeover.transitions });
    expect(await assignments(ns)).toEqual(taken);
    for (const [svc, ip] of before) expect([svc, taken.get(svc)]).toEqual([svc, ip]);
    expect(new Set(taken.values()).size).toBe(15);

    const lines = logLines(a);
    const sent = lines.filter((l) => l.msg === "write sent");
    const sentBefore = sent.filter((l) => Date.parse(l.ts) < stoppedAt);
    const sentAfter = sent.filter((l) => Date.parse(l.ts) >= stoppedAt);
    const refused = lines.filter((l) => l.msg === "write refused");
    const stepDown = lines.find((l) => l.msg === "stopped leading: not writing anymore");
    process.stderr.write(
      `[fencing] takeover ${takeoverMs} ms after SIGSTOP (lease ${LEASE_S} s, retry ${RETRY_MS} ms); old leader: ${sentBefore.length} writes before the freeze, ` +
        `${sentAfter.length} after, ${refused.length} refused, stepped down (${stepDown?.reason ?? "?"}) and exited ${exitMs} ms after SIGCONT\n`,
    );
    // The old leader did write while it led (Lease renewals, Service status), so the log does show writes...
    expect(sentBefore.some((l) => l.path?.includes("/leases/") === true)).toBe(true);
    expect(sentBefore.some((l) => l.path?.includes("/services/") === true)).toBe(true);
    // ...and none from the freeze on.
    expect(sentAfter.map((l) => `${l.op ?? ""} ${l.path ?? ""}`)).toEqual([]);
    expect(stepDown).toBeDefined();
    expect(Date.parse(stepDown?.ts ?? "")).toBeGreaterThanOrEqual(contAt - 50);
    // The standby saw the last renewal at most a retry period after it was sent (just before the freeze), and notices
    // the expiry within a retry period: lease + 2 retries, plus slack for a busy 2-core machine.
    expect(takeoverMs).toBeLessThan(LEASE_S * 1000 + 2 * RETRY_MS + 750);
    const bExit = new Promise((r) => b.child.once("exit", r));
    b.child.kill("SIGTERM");
    await bExit;
  }, 180_000);
});
