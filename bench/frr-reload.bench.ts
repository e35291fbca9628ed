// Benchmark: applying FRR configuration changes with the speaker's applier (pure diff + one `vtysh -f` batch) vs
// frr-reload.py. A node FRR advertises 5,000 Service prefixes to 8 eBGP peers (8 router namespaces, zebra + bgpd);
// we remove 2,000 of them, add them back, and count session resets on the routers. frr-reload.py runs one vtysh per
// deleted line, so it is measured on 200 removals only and extrapolated (labelled as such).
//
// Run as root: npm run bench:frr-reload   [-- --prefixes 5000 --change 2000 --peers 8 --reload-sample 200]
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { diffFrrConfig } from "../model/src/frr/diff.js";
import { jsonLogger } from "../shell/src/logger.js";
import { FrrApplier } from "../speaker/src/frr/applier.js";
import type { FrrInstance } from "../testenv/src/frr.js";
import { NetLab } from "../testenv/src/netlab.js";
import { run, waitFor } from "../testenv/src/proc.js";
import { writeFileSync } from "node:fs";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const PREFIXES = arg("prefixes", 5000);
const CHANGE = arg("change", 2000);
const PEERS = arg("peers", 8);
const RELOAD_SAMPLE = arg("reload-sample", 200);
const NODE_IP = "10.111.0.11";

const prefixOf = (i: number): string => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}/32`;
const routerIp = (k: number): string => `10.111.0.${k + 1}`;

/** The node's configuration in FRR 8.4's canonical form (as renderFrrConfig writes it), advertising `prefixes`. */
function nodeConfig(prefixes: readonly number[]): string {
  const peers = Array.from({ length: PEERS }, (_, k) => routerIp(k));
  const lines = [
    "! FRR configuration of node node1 (benchmark)",
    "router bgp 64512",
    " no bgp ebgp-requires-policy",
    " no bgp default ipv4-unicast",
    " no bgp network import-check",
    ...peers.flatMap((p) => [` neighbor ${p} remote-as 64500`, ` neighbor ${p} timers 3 9`, ` neighbor ${p} timers connect 1`]),
    " !",
    " address-family ipv4 unicast",
    ...[...prefixes].sort((a, b) => a - b).map((i) => `  network ${prefixOf(i)}`),
    ...peers.flatMap((p) => [`  neighbor ${p} activate`, `  neighbor ${p} route-map ${p}-in in`, `  neighbor ${p} route-map ${p}-out out`]),
    " exit-address-family",
    "exit",
    "!",
    "ip prefix-list services-ipv4 seq 1 permit 198.18.0.0/15 le 32",
    "!",
    ...peers.flatMap((p) => [`route-map ${p}-in deny 10`, "exit", "!", `route-map ${p}-out permit 10`, " match ip address prefix-list services-ipv4", "exit", "!"]),
    "ip nht resolve-via-default",
    "!",
  ];
  return `${lines.join("\n")}\n`;
}

interface Summary {
  ipv4Unicast?: { peers?: Record<string, { pfxRcd?: number; state?: string; connectionsEstablished?: number }> };
}

async function routerView(r: FrrInstance): Promise<{ pfx: number; established: number; up: boolean }> {
  const s = await r.vtyshJson<Summary>("show bgp summary json");
  const p = s.ipv4Unicast?.peers?.[NODE_IP];
  return { pfx: p?.pfxRcd ?? -1, established: p?.connectionsEstablished ?? 0, up: p?.state === "Established" };
}

async function allRouters(routers: readonly FrrInstance[]): Promise<Array<{ pfx: number; established: number; up: boolean }>> {
  return Promise.all(routers.map(routerView));
}

async function waitRouters(routers: readonly FrrInstance[], pfx: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await waitFor(`all routers have ${pfx} prefixes`, async () => ((await allRouters(routers)).every((v) => v.up && v.pfx === pfx) ? true : undefined), timeoutMs, 20);
  return performance.now() - t0;
}

const resets = async (routers: readonly FrrInstance[], before: readonly number[]): Promise<number> =>
  (await allRouters(routers)).reduce((sum, v, k) => sum + (v.established - (before[k] ?? 0)), 0);

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

async function main(): Promise<void> {
  const all = Array.from({ length: PREFIXES }, (_, i) => i);
  // Removed prefixes are spread over the whole range (2 in 5 for 2,000 of 5,000), not a contiguous block.
  const removed = new Set(all.filter((i) => (i * CHANGE) % PREFIXES < CHANGE).slice(0, CHANGE));
  const kept = all.filter((i) => !removed.has(i));
  const full = nodeConfig(all);
  const reduced = nodeConfig(kept);
  console.log(`FRR reload benchmark: ${PREFIXES} prefixes to ${PEERS} eBGP peers, change = ${removed.size} prefixes`);

  const lab = await NetLab.create([...Array.from({ length: PEERS }, (_, k) => ({ name: `router${k + 1}`, index: k + 1 })), { name: "node1", index: 11 }]);
  try {
    const routers: FrrInstance[] = [];
    for (let k = 0; k < PEERS; k++) {
      const conf = ["frr defaults traditional", "router bgp 64500", ` bgp router-id ${routerIp(k)}`, " no bgp ebgp-requires-policy",
        ` neighbor ${NODE_IP} remote-as 64512`, ` neighbor ${NODE_IP} timers 3 9`, ` neighbor ${NODE_IP} timers connect 1`, "exit", ""].join("\n");
      routers.push(await lab.startFrr(`router${k + 1}`, conf, ["zebra", "bgpd"]));
    }
    await lab.enableForwarding("node1");
    let t0 = performance.now();
    const node = await lab.startFrr("node1", full, ["zebra", "bgpd"]);
    const startMs = performance.now() - t0;
    const learnMs = await waitRouters(routers, PREFIXES, 300_000);
    console.log(`node FRR start with the full config: ${fmt(startMs)}; all ${PEERS} routers have ${PREFIXES} prefixes ${fmt(learnMs)} later`);

    const vtyshArgs = ["--vty_socket", node.dir, "--config_dir", node.dir];
    const applier = new FrrApplier({ vtyshArgs, log: jsonLogger({ write: () => undefined }), configPath: join(node.dir, "frr.conf") });
    const first = await applier.apply(full); // reads FRR's running config: nothing to do
    console.log(`first apply (reads running config, nothing to change): ${fmt(first.durationMs)}, changed=${first.changed}`);

    const results: string[] = [];
    for (const [label, text, pfx] of [[`remove ${removed.size}`, reduced, kept.length], [`add ${removed.size}`, full, PREFIXES]] as const) {
      const before = (await allRouters(routers)).map((v) => v.established);
      t0 = performance.now();
      const r = await applier.apply(text);
      const applyMs = performance.now() - t0;
      if (!r.ok) throw new Error(`${label}: ${r.error ?? "failed"}`);
      const routersMs = applyMs + (await waitRouters(routers, pfx, 120_000));
      const reset = await resets(routers, before);
      const batch = diffFrrConfig(label.startsWith("remove") ? full : reduced, text);
      results.push(`| applier: ${label} | ${batch.deletions} / ${batch.additions} | ${fmt(applyMs)} | ${fmt(routersMs)} | ${reset} |`);
    }

    // frr-reload.py on a sample of removals (one vtysh per deleted line), starting from the full config.
    const sample = new Set(all.slice(0, RELOAD_SAMPLE));
    const sampleConf = join(node.dir, "reload-sample.conf");
    writeFileSync(sampleConf, nodeConfig(all.filter((i) => !sample.has(i))));
    const before = (await allRouters(routers)).map((v) => v.established);
    t0 = performance.now();
    await run("/usr/lib/frr/frr-reload.py", ["--reload", "--vty_socket", node.dir, "--confdir", node.dir, "--rundir", node.dir, sampleConf], { timeoutMs: 1_800_000 });
    const reloadMs = performance.now() - t0;
    const reloadRoutersMs = reloadMs + (await waitRouters(routers, PREFIXES - sample.size, 120_000));
    const reloadReset = await resets(routers, before);
    results.push(`| frr-reload.py: remove ${sample.size} (measured) | ${sample.size} / 0 | ${fmt(reloadMs)} | ${fmt(reloadRoutersMs)} | ${reloadReset} |`);
    const perLine = reloadMs / sample.size;
    results.push(`| frr-reload.py: remove ${removed.size} (**extrapolated** ${perLine.toFixed(0)} ms/line × ${removed.size}) | ${removed.size} / 0 | ≈ ${fmt(perLine * removed.size)} | — | — |`);

    console.log("\n| change | deletions / additions | FRR running config matches | all routers updated | session resets |");
    console.log("|---|---:|---:|---:|---:|");
    for (const line of results) console.log(line);
  } finally {
    await lab.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
