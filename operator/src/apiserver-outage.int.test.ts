// A two-minute apiserver outage, operator side (issue 17): kube-apiserver is stopped (etcd keeps the data) while a
// real operator process (the compiled main.js, without leader election, so it rides the outage out instead of
// exiting on a missed renew) holds 40 Services' IPs with 8 more waiting in a full pool. It must not exit, must
// change no IP, must send no write storm when the apiserver comes back (its informers relist or re-watch and see
// nothing new), and its informers must resume: a freed IP goes to a waiting Service, a new pool serves the rest.
// APISERVER_OUTAGE_S shortens the outage for local iterations (default 120).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { exited, freePort, run, sleep, spawnLogged, waitFor } from "../../testenv/src/proc.js";
import { assignedIPs, createService, deleteService, ensureNamespace, METALLB_NS, pool, serviceIPs, settledIPs } from "../../testenv/src/objects.js";

const env = useControlPlane();
const main = join(repoRoot(), "dist", "operator", "src", "main.js");
const NS = "outage";
const OUTAGE_S = Number(process.env.APISERVER_OUTAGE_S ?? 120);
const WRITE_VERBS = ["POST", "PUT", "PATCH", "DELETE"];

/** name → IP of the Services holding one, once nothing changed for `quietMs`. */
const settled = (count: number, quietMs = 1_500): Promise<Map<string, string>> => settledIPs(env.kc, NS, count, { quietMs, timeoutMs: 60_000 });

/** The operator's API writes so far, from its own client counters (metallb_ts_k8s_client_requests_total). */
async function writesSent(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^metallb_ts_k8s_client_requests_total\{verb="([A-Z]+)"\} (\d+)/gm)) if (WRITE_VERBS.includes(m[1] ?? "")) n += Number(m[2]);
  return n;
}

describe("apiserver outage", () => {
  let op: ChildProcess | undefined;

  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(repoRoot(), "tsconfig.build.json")], { timeoutMs: 240_000 });
    await ensureNamespace(env.kc, METALLB_NS);
    await ensureNamespace(env.kc, NS);
  }, 300_000);

  afterAll(async () => {
    if (op !== undefined && op.exitCode === null && op.signalCode === null) {
      op.kill("SIGKILL");
      await exited(op);
    }
  });

  test(`${OUTAGE_S} s without an apiserver: no exit, no IP change, no write storm, informers resume`, async () => {
    await pool(env.kc, "outage", { addresses: ["10.72.0.0/27"] }); // 32 addresses
    for (let i = 0; i < 40; i++) await createService(env.kc, NS, `o${String(i).padStart(2, "0")}`);
    const port = await freePort();
    op = spawnLogged(
      process.execPath,
      [main, `--metrics-addr=127.0.0.1:${port}`, "--webhook-mode=disabled", "--identity=outage", "--leader-elect=false", "--log-level=debug"],
      join(env.cp.info.dir, "outage-operator.log"),
      { env: { ...process.env, KUBECONFIG: env.cp.kubeconfigPath } },
    );
    const before = await settled(32);
    const pending = [...(await serviceIPs(env.kc, NS)).keys()].filter((n) => !before.has(n)).sort();
    expect(pending).toHaveLength(8);
    const writesBefore = await writesSent(port);

    const down = Date.now();
    await env.cp.stopApiServer();
    await sleep(OUTAGE_S * 1_000 - (Date.now() - down));
    expect([op.exitCode, op.signalCode]).toEqual([null, null]);
    const writesDuringOutage = (await writesSent(port)) - writesBefore;
    await env.cp.startApiServer();
    const up = Date.now();
    process.stderr.write(`[outage] apiserver down ${((up - down) / 1000).toFixed(1)} s\n`);

    // Back: the informers relist or re-watch; a quiet cluster gets no writes and keeps every IP.
    const after = await settled(32, 3_000);
    expect([...after].filter(([svc, ip]) => before.get(svc) !== ip)).toEqual([]);
    const writesOnReturn = (await writesSent(port)) - writesBefore - writesDuringOutage;

    // Informers resume: a freed IP goes to the first waiting Service (Services watch), a new pool serves the others
    // (pools watch). The informers retry with backoff capped at 30 s, so allow that much.
    const settledAt = Date.now();
    const [victim] = [...before.keys()].sort();
    await deleteService(env.kc, NS, victim ?? "");
    const freed = before.get(victim ?? "");
    const resumedAt = await waitFor(
      "a waiting Service takes the freed IP",
      async () => {
        const a = assignedIPs(await serviceIPs(env.kc, NS));
        return pending.some((n) => a.get(n) === freed) ? Date.now() : undefined;
      },
      45_000,
      100,
    );
    const writesForFreedIP = (await writesSent(port)) - writesBefore - writesDuringOutage - writesOnReturn;
    await pool(env.kc, "outage-more", { addresses: ["10.72.1.0/29"] });
    const final = await settled(39);
    process.stderr.write(
      `[outage] writes: ${writesDuringOutage} during the outage, ${writesOnReturn} in the ${((settledAt - up) / 1000).toFixed(1)} s after the return, ` +
        `${writesForFreedIP} to reassign a freed IP (${resumedAt - settledAt} ms after its deletion)\n`,
    );
    // Nothing to write during the outage nor on the return; then only what the freed IP costs: the waiting Service
    // that takes it (annotation, status, IPAllocated Event), an AllocationFailed Event for each of the 7 still waiting
    // (retried because an IP was freed), the pool's counters -- not one write per Service.
    expect(writesDuringOutage).toBe(0);
    expect(writesOnReturn).toBe(0);
    expect(writesForFreedIP).toBeLessThanOrEqual(3 + 7 + 1);
    expect([...before].filter(([svc, ip]) => svc !== victim && final.get(svc) !== ip)).toEqual([]);
    expect(op.exitCode).toBeNull();
  }, 400_000);
});
