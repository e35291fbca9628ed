// BGP announcement latency: time from a Service's creation (with its EndpointSlice) to its prefix in the upstream
// router's BGP table (RIB), over N runs, p50/p99. Everything real: apiserver, operator, speakers, FRR on the nodes
// and on the router (network namespaces). Run as root: npm run bench:bgp-latency [-- --runs 20]
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, pool, serviceState } from "../testenv/src/objects.js";
import { appendFileSync } from "node:fs";
import { jsonLogger } from "../shell/src/logger.js";
import { startBgpLab } from "../testenv/src/bgp-lab.js";
import { sleep, waitFor } from "../testenv/src/proc.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function main(): Promise<void> {
  const runs = arg("runs", 20);
  // --log FILE: the components' JSON logs (debug), e.g. to break the latency down by phase.
  const logIdx = process.argv.indexOf("--log");
  const logFile = logIdx >= 0 ? process.argv[logIdx + 1] : undefined;
  const log = logFile === undefined ? undefined : jsonLogger({ write: (l) => appendFileSync(logFile, l), level: "debug" });
  // As in production by default: the operator and each node's speaker are processes (speakers inside their node
  // namespaces). --in-process runs them in this process instead (one event loop; --log works only then).
  const inProcess = process.argv.includes("--in-process");
  const bgp = await startBgpLab({ ...(log === undefined ? {} : { log }), speakerProcesses: !inProcess });
  try {
    const { kc, lab } = bgp;
    await ensureNamespace(kc, "bench");
    await pool(kc, "bench", { addresses: ["10.210.0.0/24"] });
    await applyMetallb(kc, "BGPAdvertisement", "bench", { ipAddressPools: ["bench"] });
    // Sessions up before measuring.
    await waitFor(
      "sessions established",
      async () => {
        const all = await lab.frr("router").vtyshJson<Record<string, { bgpState?: string }>>("show bgp neighbors json");
        return bgp.nodes.every((n) => all[lab.host(n).ipv4]?.bgpState === "Established") ? true : undefined;
      },
      60_000,
      100,
    );
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const name = `svc-${i}`;
      const t0 = Date.now();
      log?.info({ service: `bench/${name}` }, "bench: creating service");
      await createService(kc, "bench", name);
      await createEndpointSlice(kc, "bench", name, bgp.nodes);
      const ip = await waitFor(`IP of ${name}`, async () => (await serviceState(kc, "bench", name)).ips[0], 30_000, 5);
      await waitFor(
        `${ip} in the router's RIB`,
        async () => {
          const out = await lab.exec("router", "vtysh", ["--vty_socket", lab.frr("router").dir, "-c", `show ip bgp ${ip}/32 json`]);
          return out.stdout.includes('"paths"') && out.stdout.includes(`"prefix":"${ip}/32"`) ? true : undefined;
        },
        30_000,
        5,
      );
      samples.push(Date.now() - t0);
      log?.info({ service: `bench/${name}`, ms: Date.now() - t0 }, "bench: prefix in the router's RIB");
      await sleep(200);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    process.stdout.write(
      JSON.stringify({
        mode: inProcess ? "in-process" : "processes",
        runs,
        p50Ms: pct(sorted, 50),
        p99Ms: pct(sorted, 99),
        minMs: sorted[0],
        maxMs: sorted[sorted.length - 1],
        samplesMs: samples,
      }) + "\n",
    );
  } finally {
    await bgp.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
