// Benchmark: applying FRR configuration changes with the speaker's applier (pure diff + one `vtysh -f` batch) vs
// frr-reload.py. A node FRR advertises 5,000 Service prefixes to 8 eBGP peers (8 router namespaces, zebra + bgpd),
// with the configuration the speaker would write: the real pipeline parseConfig → planBgpAnnouncements →
// buildFrrConfig → renderFrrConfig, with a BGPAdvertisement carrying a community (so the peers' route-maps set it).
// We remove 2,000 of the prefixes, add them back, change the advertisement's community (every prefix moves to a new
// class), and count session resets on the routers. frr-reload.py runs one vtysh per deleted line, so it is measured
// on 200 removals only and extrapolated (labelled as such).
//
// Run as root: npm run bench:frr-reload   [-- --prefixes 5000 --change 2000 --peers 8 --reload-sample 200]
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { planBgpAnnouncements, type BgpServiceView, type NodeView } from "../model/src/bgp/plan.js";
import { parseConfig } from "../model/src/config/parse-config.js";
import { formatProblem } from "../model/src/config/problems.js";
import { emptyClusterResources } from "../model/src/config/resources.js";
import { buildFrrConfig } from "../model/src/frr/build.js";
import { diffFrrConfig } from "../model/src/frr/diff.js";
import { renderFrrConfig } from "../frr-templates/src/render.js";
import { jsonLogger } from "../shell/src/logger.js";
import { FrrApplier } from "../speaker/src/frr/applier.js";
import type { FrrInstance } from "../testenv/src/frr.js";
import { NetLab } from "../testenv/src/netlab.js";
import { run, waitFor } from "../testenv/src/proc.js";
import { mustParseIP as ip } from "../model/src/net/testdata/ip.js";

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
const NS = "metallb-system";
const COMMUNITY = "64500:100";
const CHANGED_COMMUNITY = "64500:200";

const serviceIp = (i: number): string => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const routerIp = (k: number): string => `10.111.0.${k + 1}`;

const node1: NodeView = { name: "node1", labels: { "kubernetes.io/hostname": "node1" }, networkUnavailable: false, excludedFromLoadBalancers: false };

/** The node's frr.conf as the speaker renders it, advertising the Services `indexes` with `community`. */
function nodeConfig(indexes: readonly number[], community: string): string {
  const resources = {
    ...emptyClusterResources(),
    pools: [{ apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: "bench", namespace: NS }, spec: { addresses: ["198.18.0.0/15"] } }],
    bgpPeers: Array.from({ length: PEERS }, (_, k) => ({
      apiVersion: "metallb.io/v1beta2",
      kind: "BGPPeer",
      metadata: { name: `router${k + 1}`, namespace: NS },
      spec: { myASN: 64512, peerASN: 64500, peerAddress: routerIp(k), keepaliveTime: "3s", holdTime: "9s", connectTime: "1s" },
    })),
    bgpAdvertisements: [
      {
        apiVersion: "metallb.io/v1beta1",
        kind: "BGPAdvertisement",
        metadata: { name: "bench", namespace: NS },
        spec: { ipAddressPools: ["bench"], communities: [community] },
      },
    ],
    nodes: [{ apiVersion: "v1", kind: "Node", metadata: { name: node1.name, labels: node1.labels } }],
  };
  const parsed = parseConfig(resources);
  if (!parsed.ok) throw new Error(parsed.error.map(formatProblem).join("\n"));
  const services: BgpServiceView[] = indexes.map((i) => ({
    key: `bench/svc-${i}`,
    ips: [ip(serviceIp(i))],
    pool: "bench",
    labels: {},
    sharingKey: "",
    externalTrafficPolicy: "Cluster",
    nodesWithServingEndpoints: [node1.name],
  }));
  const plan = planBgpAnnouncements(parsed.value, services, [node1], node1.name);
  return renderFrrConfig(buildFrrConfig(plan, parsed.value.bfdProfiles, { logLevel: "info", namespace: NS }));
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
  await waitFor(
    `all routers have ${pfx} prefixes`,
    async () => ((await allRouters(routers)).every((v) => v.up && v.pfx === pfx) ? true : undefined),
    timeoutMs,
    20,
  );
  return performance.now() - t0;
}

const resets = async (routers: readonly FrrInstance[], before: readonly number[]): Promise<number> =>
  (await allRouters(routers)).reduce((sum, v, k) => sum + (v.established - (before[k] ?? 0)), 0);

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** Routes of a router's table from the node carrying `community` (one JSON read). */
async function withCommunity(r: FrrInstance, community: string): Promise<number> {
  const t = await r.vtyshJson<{ routes?: Record<string, unknown> }>(`show bgp ipv4 unicast community ${community} json`);
  return Object.keys(t.routes ?? {}).length;
}

async function waitCommunity(routers: readonly FrrInstance[], community: string, count: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await waitFor(
    `all routers have ${count} prefixes with ${community}`,
    async () => ((await Promise.all(routers.map((r) => withCommunity(r, community)))).every((n) => n === count) ? true : undefined),
    timeoutMs,
    50,
  );
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const all = Array.from({ length: PREFIXES }, (_, i) => i);
  // Removed prefixes are spread over the whole range (2 in 5 for 2,000 of 5,000), not a contiguous block.
  const removed = new Set(all.filter((i) => (i * CHANGE) % PREFIXES < CHANGE).slice(0, CHANGE));
  const kept = all.filter((i) => !removed.has(i));
  let t0 = performance.now();
  const full = nodeConfig(all, COMMUNITY);
  const renderMs = performance.now() - t0;
  const reduced = nodeConfig(kept, COMMUNITY);
  const recommunity = nodeConfig(all, CHANGED_COMMUNITY);
  const lines = full.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("!"));
  console.log(`FRR reload benchmark: ${PREFIXES} prefixes to ${PEERS} eBGP peers, change = ${removed.size} prefixes`);
  console.log(
    `rendered config (parse + plan + build + render): ${fmt(renderMs)}; ${lines.length} lines: ${lines.filter((l) => l.startsWith("  network ")).length} network, ` +
      `${lines.filter((l) => l.startsWith("route-map ")).length} route-map entries, ${lines.filter((l) => /prefix-list/.test(l)).length} prefix-list lines`,
  );

  const lab = await NetLab.create([...Array.from({ length: PEERS }, (_, k) => ({ name: `router${k + 1}`, index: k + 1 })), { name: "node1", index: 11 }]);
  try {
    const routers: FrrInstance[] = [];
    for (let k = 0; k < PEERS; k++) {
      const conf = [
        "frr defaults traditional",
        "router bgp 64500",
        ` bgp router-id ${routerIp(k)}`,
        " no bgp ebgp-requires-policy",
        ` neighbor ${NODE_IP} remote-as 64512`,
        ` neighbor ${NODE_IP} timers 3 9`,
        ` neighbor ${NODE_IP} timers connect 1`,
        "exit",
        "",
      ].join("\n");
      routers.push(await lab.startFrr(`router${k + 1}`, conf, ["zebra", "bgpd"]));
    }
    await lab.enableForwarding("node1");
    t0 = performance.now();
    const node = await lab.startFrr("node1", full, ["zebra", "bgpd"]);
    const startMs = performance.now() - t0;
    const learnMs = await waitRouters(routers, PREFIXES, 300_000);
    const communityMs = await waitCommunity(routers, COMMUNITY, PREFIXES, 60_000);
    console.log(
      `node FRR start with the full config: ${fmt(startMs)}; all ${PEERS} routers have ${PREFIXES} prefixes ${fmt(learnMs)} later (all with community ${COMMUNITY} ${fmt(communityMs)} after that)`,
    );

    const vtyshArgs = ["--vty_socket", node.dir, "--config_dir", node.dir];
    const applier = new FrrApplier({ vtyshArgs, log: jsonLogger({ write: () => undefined }), configPath: join(node.dir, "frr.conf") });
    const first = await applier.apply(full); // reads FRR's running config: nothing to do
    console.log(`first apply (reads running config, nothing to change): ${fmt(first.durationMs)}, changed=${first.changed}`);

    const results: string[] = [];
    // "all routers updated": every router has the wanted number of prefixes from the node (or, when only the
    // community changes, that many with the new community); the communities are checked after every step.
    const steps = [
      { label: `remove ${removed.size} of ${PREFIXES}`, from: full, to: reduced, pfx: kept.length, community: COMMUNITY, changesCommunity: false },
      { label: `add ${removed.size} (back to ${PREFIXES})`, from: reduced, to: full, pfx: PREFIXES, community: COMMUNITY, changesCommunity: false },
      {
        label: `community ${COMMUNITY} → ${CHANGED_COMMUNITY}: all ${PREFIXES} prefixes change class`,
        from: full,
        to: recommunity,
        pfx: PREFIXES,
        community: CHANGED_COMMUNITY,
        changesCommunity: true,
      },
    ];
    for (const step of steps) {
      const before = (await allRouters(routers)).map((v) => v.established);
      t0 = performance.now();
      const r = await applier.apply(step.to);
      const applyMs = performance.now() - t0;
      if (!r.ok) throw new Error(`${step.label}: ${r.error ?? "failed"}`);
      await waitRouters(routers, step.pfx, 120_000);
      if (step.changesCommunity) await waitCommunity(routers, step.community, step.pfx, 120_000);
      const routersMs = performance.now() - t0;
      await waitCommunity(routers, step.community, step.pfx, 120_000);
      const reset = await resets(routers, before);
      const batch = diffFrrConfig(step.from, step.to);
      results.push(`| applier: ${step.label} | ${batch.deletions} / ${batch.additions} | ${fmt(applyMs)} | ${fmt(routersMs)} | ${reset} |`);
    }

    // frr-reload.py on a sample of removals (one vtysh per deleted line), starting from the current config.
    const sample = new Set(all.slice(0, RELOAD_SAMPLE));
    const sampleConf = join(node.dir, "reload-sample.conf");
    writeFileSync(
      sampleConf,
      nodeConfig(
        all.filter((i) => !sample.has(i)),
        CHANGED_COMMUNITY,
      ),
    );
    const before = (await allRouters(routers)).map((v) => v.established);
    t0 = performance.now();
    await run("/usr/lib/frr/frr-reload.py", ["--reload", "--vty_socket", node.dir, "--confdir", node.dir, "--rundir", node.dir, sampleConf], {
      timeoutMs: 1_800_000,
    });
    const reloadMs = performance.now() - t0;
    const reloadRoutersMs = reloadMs + (await waitRouters(routers, PREFIXES - sample.size, 120_000));
    const reloadReset = await resets(routers, before);
    results.push(`| frr-reload.py: remove ${sample.size} (measured) | ${sample.size} / 0 | ${fmt(reloadMs)} | ${fmt(reloadRoutersMs)} | ${reloadReset} |`);
    const perLine = reloadMs / sample.size;
    results.push(
      `| frr-reload.py: remove ${removed.size} (**extrapolated** ${perLine.toFixed(0)} ms/line × ${removed.size}) | ${removed.size} / 0 | ≈ ${fmt(perLine * removed.size)} | — | — |`,
    );

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
