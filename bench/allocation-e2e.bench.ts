// End-to-end allocation benchmark: a real kube-apiserver + etcd, the operator in-process, N LoadBalancer Services
// created at once (bounded concurrency); measures the time until every Service shows an IP in its status.
// Usage: npm run bench:allocation-e2e [-- --services 2000]
import { Registry } from "prom-client";
import { Operator } from "../operator/src/operator.js";
import { createService, ensureNamespace, METALLB_NS, pool } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { silentLogger } from "../shell/src/logger.js";
import { ControlPlane } from "../testenv/src/control-plane.js";
import { sleep } from "../testenv/src/proc.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

async function countAssigned(cp: ControlPlane, ns: string): Promise<number> {
  const res = await kubeRequest(cp.kubeConfig(), "GET", `/api/v1/namespaces/${ns}/services`);
  const items = (res.body as { items: Array<{ status?: { loadBalancer?: { ingress?: unknown[] } } }> }).items;
  return items.filter((s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0).length;
}

async function main(): Promise<void> {
  const n = arg("services", 2000);
  const concurrency = arg("concurrency", 32);
  const cp = await ControlPlane.start();
  const kc = cp.kubeConfig();
  try {
    await ensureNamespace(kc, METALLB_NS);
    await ensureNamespace(kc, "bench");
    await pool(kc, "bench", { addresses: ["10.200.0.0/16"] });
    const op = new Operator({
      kc,
      settings: {
        namespace: METALLB_NS,
        lbClass: null,
        defaultLbClass: false,
        identity: "bench",
        leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      log: silentLogger,
      registry: new Registry(),
    });
    await op.start();
    await sleep(500);
    const t0 = Date.now();
    let next = 0;
    const workers = Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await createService(kc, "bench", `svc-${i}`);
      }
    });
    await Promise.all(workers);
    const created = Date.now() - t0;
    let assigned = 0;
    while (assigned < n) {
      await sleep(100);
      assigned = await countAssigned(cp, "bench");
    }
    const total = Date.now() - t0;
    await op.stop();
    const mem = process.memoryUsage();
    process.stdout.write(
      JSON.stringify({
        services: n,
        createConcurrency: concurrency,
        allCreatedMs: created,
        allAssignedMs: total,
        servicesPerSecond: Math.round((n / total) * 1000),
        rssMiB: Math.round(mem.rss / 1048576),
      }) + "\n",
    );
  } finally {
    await cp.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
