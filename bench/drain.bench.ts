// Drain without loss, measured: a bounded HTTP load from the lab client through the BGP Service IP (ECMP over two
// nodes, every request on a new connection, 1 s timeout) during (a) a SIGTERM of each speaker in turn (drain, exit,
// start again) and (b) a cordon of each node in turn (held 2 s after the router moved, then uncordoned). Reports per
// repeat the requests, failures and longest gap between two answers, how long the drain and the router's shift took,
// and the CPU time used. Everything real: apiserver, operator, speakers, FRR on the nodes and the router.
// Run as root: npm run bench:drain [-- --repeats 3] [-- --drain-timeout 0 for the old behaviour]
// [-- --router-flows stateless: the router hashes every packet (default pinned: it keeps connections on their next hop)]
// [-- --l2: also a Layer 2 Service, its owner SIGTERMed (each node's speaker as owner in turn) and cordoned]
// [-- --trace DIR: the router's route changes and every SYN/RST seen by the nodes and the client, timestamped]
import { mkdirSync, readFileSync } from "node:fs";
import {
  attributeFailures,
  cordonL2Owner,
  cordonNode,
  sigtermEachL2Speaker,
  sigtermEachSpeaker,
  startDrainLab,
  startLoad,
  startTrace,
  type DrainLab,
  type DrillStep,
} from "../testenv/src/drain-lab.js";
import type { LoadSummary } from "../testenv/src/http-load.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

/** Busy CPU seconds of the whole machine (all processes, /proc/stat), for context. */
function machineBusySeconds(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) / 100;
}

interface Drill {
  drill: string;
  failed: number;
  /** Failures while a node went away (drain) / came back (restart or uncordon) / elsewhere. */
  failedAway: number;
  failedBack: number;
  failedOther: number;
  requests: number;
  longestGapMs: number;
  /** Layer 2: TCP packets the new owners passed back to the previous owners (hand-over forwarding). */
  forwardedPackets: number;
  steps: DrillStep[];
  failures: LoadSummary["failures"];
}

async function measure(d: DrainLab, drill: string, run: () => Promise<DrillStep[]>, vip?: string): Promise<Drill> {
  const load = await startLoad(d, { concurrency: 4, timeoutMs: 1000, maxMs: 120_000, ...(vip !== undefined ? { vip } : {}) });
  await new Promise((r) => setTimeout(r, 1000));
  const steps = await run();
  await new Promise((r) => setTimeout(r, 1000));
  const s = await load.stop();
  const where = attributeFailures(steps, s.failures);
  return {
    drill,
    failed: s.failed,
    failedAway: where.away,
    failedBack: where.back,
    failedOther: where.other,
    requests: s.requests,
    longestGapMs: s.longestGapMs,
    forwardedPackets: steps.reduce((a, st) => a + (st.forwardedPackets ?? 0), 0),
    steps,
    failures: s.failures,
  };
}

async function main(): Promise<void> {
  const repeats = Number(arg("repeats", "3"));
  const speakerArgs = ["--drain-settle", arg("drain-settle", "1"), "--drain-timeout", arg("drain-timeout", "10")];
  const cpu0 = process.cpuUsage();
  const busy0 = machineBusySeconds();
  const t0 = Date.now();
  const routerFlows = arg("router-flows", "pinned");
  if (routerFlows !== "pinned" && routerFlows !== "stateless") throw new Error("--router-flows must be pinned or stateless");
  const l2 = process.argv.includes("--l2");
  const d = await startDrainLab({ speakerArgs, routerFlows, l2 });
  const traceDir = arg("trace", "");
  if (traceDir !== "") mkdirSync(traceDir, { recursive: true });
  const trace = traceDir !== "" ? startTrace(d, traceDir) : undefined;
  const results: Drill[] = [];
  try {
    for (let i = 0; i < repeats; i++) {
      results.push(await measure(d, "sigterm-each-speaker", () => sigtermEachSpeaker(d)));
      results.push(await measure(d, "cordon-each-node", async () => [await cordonNode(d, "node1"), await cordonNode(d, "node2")]));
      if (d.l2Vip !== undefined) {
        results.push(await measure(d, "l2-sigterm-each-owner", () => sigtermEachL2Speaker(d), d.l2Vip));
        results.push(await measure(d, "l2-cordon-owner", async () => [await cordonL2Owner(d)], d.l2Vip));
      }
    }
  } finally {
    await trace?.stop();
    await d.stop();
  }
  const cpu = process.cpuUsage(cpu0);
  for (const r of results) process.stdout.write(JSON.stringify(r) + "\n");
  process.stdout.write(
    JSON.stringify({
      summary: true,
      speakerArgs,
      routerFlows,
      repeats,
      failedTotal: results.reduce((a, r) => a + r.failed, 0),
      failedAwayTotal: results.reduce((a, r) => a + r.failedAway, 0),
      failedBackTotal: results.reduce((a, r) => a + r.failedBack, 0),
      requestsTotal: results.reduce((a, r) => a + r.requests, 0),
      longestGapMs: Math.max(...results.map((r) => r.longestGapMs)),
      wallS: Math.round((Date.now() - t0) / 100) / 10,
      benchProcessCpuS: Math.round((cpu.user + cpu.system) / 1e5) / 10,
      machineBusyCpuS: Math.round((machineBusySeconds() - busy0) * 10) / 10,
    }) + "\n",
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
