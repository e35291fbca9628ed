// The lab for drain measurements (e2e and bench): the BGP lab with speaker processes, a Service served by a small
// HTTP server on each node (the Service IP on lo), a client that reaches it through the router (ECMP over the nodes),
// a bounded HTTP load from the client, and the two drills: SIGTERM of each speaker in turn (rolling restart) and a
// cordon of one node.
import { join } from "node:path";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { startBgpLab, type BgpLab } from "./bgp-lab.js";
import { serveHttpOnNode } from "./http-on-node.js";
import type { LoadSummary } from "./http-load.js";
import { apply, createEndpointSlice, createService, ensureNamespace, METALLB_NS, pool, waitForIPs } from "./objects.js";
import { exited, run, spawnLogged, waitFor } from "./proc.js";
import { buildSpeaker, metricValue } from "./speaker-process.js";

export interface DrainLab {
  bgp: BgpLab;
  vip: string;
  /** How the router spreads connections over the nodes (see RouterFlows). */
  routerFlows: RouterFlows;
  /** With `l2`: a second Service's IP, announced in Layer 2 mode on the lab LAN (the client reaches it directly). */
  l2Vip: string | undefined;
  stop(): Promise<void>;
}

/**
 * How the lab router forwards a connection over its ECMP route to the Service IP:
 * - "stateless": per packet, by a hash of the 5-tuple over the current next hops (Linux's and most routers' ECMP).
 *   Every change of the next-hop set (a node leaving, a node coming back) re-maps some flows, and a connection whose
 *   packets are split across the change is reset by the node that never saw its SYN. No speaker behaviour can avoid
 *   that: GRACEFUL_SHUTDOWN and the settle time only make sure the old path still works meanwhile.
 * - "pinned": the router keeps each connection on the next hop its first packet took (connection tracking, as a
 *   stateful ECMP tier, firewall or L4 load balancer in front of the nodes does): the route decides only where new
 *   connections go. A node that stops being a next hop (drain) keeps its connections until they end; a node that
 *   comes back gets new connections only. The nodes then reply through the router (the client is upstream of it, as
 *   in a real network), so the router sees both directions of each connection.
 */
export type RouterFlows = "stateless" | "pinned";

/** Marks and routing tables of the pinned mode start here (node i: FLOW_MARK_BASE + i). */
const FLOW_MARK_BASE = 100;

/**
 * Pins each forwarded connection to the next hop of its first packet, in the router's namespace only: nftables
 * stores that next hop in the connection's conntrack mark (forward hook, `rt ip nexthop`), copies it to the packet
 * mark for the connection's later packets in the original direction (prerouting), and a policy rule per node routes
 * marked packets to that node. New connections follow the main table (BGP's ECMP route).
 */
async function pinRouterFlows(bgp: BgpLab): Promise<void> {
  const { lab } = bgp;
  const router = lab.host("router").ipv4;
  const marks = bgp.nodes.map((n, i) => ({ ip: lab.host(n).ipv4, mark: FLOW_MARK_BASE + 1 + i }));
  const nft = [
    "table ip lab_flow_pin {",
    `  map pin { type ipv4_addr : mark; elements = { ${marks.map((m) => `${m.ip} : ${m.mark}`).join(", ")} } }`,
    "  chain pin_pre { type filter hook prerouting priority mangle; policy accept; ct direction original ct mark != 0 meta mark set ct mark; }",
    "  chain pin_fwd { type filter hook forward priority mangle; policy accept; ct state new ct mark set rt ip nexthop map @pin; }",
    "}",
    "",
  ].join("\n");
  await run("ip", ["netns", "exec", lab.host("router").netns, "nft", "-f", "-"], { input: nft });
  for (const m of marks) {
    await lab.exec("router", "ip", ["route", "replace", "default", "via", m.ip, "dev", "eth0", "table", String(m.mark)]);
    await lab.exec("router", "ip", ["rule", "add", "fwmark", String(m.mark), "table", String(m.mark), "priority", String(m.mark)]);
  }
  // Replies through the router (the client sits upstream of it), so conntrack sees whole connections.
  const client = lab.host("client").ipv4;
  for (const n of bgp.nodes) await lab.exec(n, "ip", ["route", "replace", `${client}/32`, "via", router]);
}

const NS = "drain";

/** Next hops of the router's kernel route to the VIP (0 when there is none). */
export async function routerNextHops(bgp: BgpLab, vip: string): Promise<number> {
  const out = await bgp.lab.exec("router", "ip", ["route", "show", `${vip}/32`], { allowFail: true });
  return (out.stdout.match(/ via /g) ?? []).length;
}

export async function waitNextHops(bgp: BgpLab, vip: string, n: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${n} next hop(s) to ${vip} on the router`, async () => ((await routerNextHops(bgp, vip)) === n ? true : undefined), timeoutMs, 20);
}

export async function startDrainLab(opts: { speakerArgs?: readonly string[]; routerFlows?: RouterFlows; l2?: boolean } = {}): Promise<DrainLab> {
  const routerFlows = opts.routerFlows ?? "pinned";
  const bgp = await startBgpLab({
    speakerProcesses: true,
    extraHosts: [{ name: "client", index: 5 }],
    speakerArgs: opts.speakerArgs ?? ["--drain-settle", "1"],
  });
  try {
    const { kc, lab } = bgp;
    await ensureNamespace(kc, NS);
    await pool(kc, "drain", { addresses: ["10.220.0.0/24"] });
    await apply(
      kc,
      { apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: { name: "drain", namespace: METALLB_NS }, spec: { ipAddressPools: ["drain"] } },
      "bgpadvertisements",
    );
    await createService(kc, NS, "web");
    await createEndpointSlice(kc, NS, "web", bgp.nodes);
    const vip = (await waitForIPs(kc, NS, "web")).ips[0] ?? "";
    for (const n of bgp.nodes) await serveHttpOnNode(bgp, n, vip);
    // The client reaches the VIP through the router (which must not redirect it to a node on the same LAN).
    await lab.exec("router", "sysctl", ["-qw", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0"]);
    await lab.exec("client", "ip", ["route", "replace", `${vip}/32`, "via", lab.host("router").ipv4]);
    if (routerFlows === "pinned") await pinRouterFlows(bgp);
    await waitNextHops(bgp, vip, bgp.nodes.length, 60_000);
    const l2Vip = opts.l2 === true ? await startL2Service(bgp) : undefined;
    return { bgp, vip, routerFlows, l2Vip, stop: () => bgp.stop() };
  } catch (e) {
    await bgp.stop();
    throw e;
  }
}

/**
 * A Layer 2 Service on the lab LAN (pool on the LAN's own /24, .240/29, not auto-assigned): its IP on every node's
 * `lo` (the nodes' HTTP servers answer on every address; arp_ignore keeps the kernels from answering ARP for it), so
 * the client reaches whichever node the speakers elected, by ARP.
 */
async function startL2Service(bgp: BgpLab): Promise<string> {
  const { kc, lab } = bgp;
  const lan = lab.host("client").ipv4.split(".").slice(0, 3).join(".");
  await pool(kc, "drain-l2", { addresses: [`${lan}.240/29`], autoAssign: false });
  await apply(
    kc,
    {
      apiVersion: "metallb.io/v1beta1",
      kind: "L2Advertisement",
      metadata: { name: "drain-l2", namespace: METALLB_NS },
      spec: { ipAddressPools: ["drain-l2"] },
    },
    "l2advertisements",
  );
  await createService(kc, NS, "web-l2", { annotations: { "metallb.io/address-pool": "drain-l2" } });
  await createEndpointSlice(kc, NS, "web-l2", bgp.nodes);
  const vip = (await waitForIPs(kc, NS, "web-l2")).ips[0] ?? "";
  for (const n of bgp.nodes) await lab.exec(n, "ip", ["addr", "replace", `${vip}/32`, "dev", "lo"]);
  await waitFor(`${vip} answers from the client`, async () => ((await l2Owner(bgp, vip)) !== undefined ? true : undefined), 60_000, 200);
  return vip;
}

/** The node that answers the client's ARP request for the Layer 2 IP (arping's own socket: no neighbor entry made). */
export async function l2Owner(bgp: BgpLab, vip: string): Promise<string | undefined> {
  const { lab } = bgp;
  const out = await lab.exec("client", "arping", ["-c", "1", "-w", "1", "-I", "eth0", vip], { allowFail: true });
  const mac = /\[([0-9a-fA-F:]{17})\]/.exec(out.stdout)?.[1]?.toLowerCase();
  return bgp.nodes.find((n) => lab.host(n).mac === mac);
}

/** The node of the client's current neighbor entry for the IP (no ARP sent), if any. */
async function neighborNode(bgp: BgpLab, vip: string): Promise<string | undefined> {
  const { lab } = bgp;
  const out = await lab.exec("client", "ip", ["neigh", "show", vip, "dev", "eth0"], { allowFail: true });
  const mac = /lladdr (\S+)/.exec(out.stdout)?.[1];
  return bgp.nodes.find((n) => lab.host(n).mac === mac);
}

async function waitNeighbor(bgp: BgpLab, vip: string, node: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`the client's neighbor entry for ${vip} on ${node}`, async () => ((await neighborNode(bgp, vip)) === node ? true : undefined), timeoutMs, 10);
}

/**
 * Layer 2, SIGTERM of each node's speaker in turn (rolling restart), under load on the Layer 2 IP. The owner's
 * speaker hands the IP over (the next owner's gratuitous ARP moves the client's neighbor entry) and exits; it is
 * started again and takes the IP back (failback by rank); a non-owner's restart changes nothing. `shiftMs`: SIGTERM →
 * the client's entry on the other node (owner only); `backMs`: restart → the entry back on the owner.
 */
export async function sigtermEachL2Speaker(d: DrainLab): Promise<Array<DrillStep & { owner: boolean }>> {
  const vip = d.l2Vip;
  if (vip === undefined) throw new Error("drain lab started without l2");
  const steps: Array<DrillStep & { owner: boolean }> = [];
  const owner = (await l2Owner(d.bgp, vip)) ?? "";
  for (const n of d.bgp.nodes) {
    const other = d.bgp.nodes.find((x) => x !== owner) ?? "";
    const sp = d.bgp.processes.get(n);
    if (sp === undefined) throw new Error(`no speaker process on ${n}`);
    const before = await forwardedByNode(d);
    // The speaker's counter goes with its process: read it just before the SIGTERM.
    const killedCount = metricValue(await sp.metrics().catch(() => ""), FORWARDED_PACKETS_METRIC) ?? 0;
    const t0 = Date.now();
    const moved = n === owner ? waitNeighbor(d.bgp, vip, other).then(() => Date.now() - t0) : Promise.resolve(0);
    await sp.kill("SIGTERM");
    const drainMs = Date.now() - t0;
    const shiftMs = await moved;
    const t1 = Date.now();
    await sp.start();
    await waitNeighbor(d.bgp, vip, owner);
    // The take-back's announcement burst lasts 2 s: let it end inside this step's window.
    await new Promise((r) => setTimeout(r, 2_500));
    const t2 = Date.now();
    const after = await forwardedByNode(d);
    const forwardedPackets = sum(after) - sum(before) + killedCount;
    steps.push({ node: n, owner: n === owner, drainMs, shiftMs, backMs: t2 - t1, away: [t0, t1 - 1], back: [t1, t2], forwardedPackets });
  }
  return steps;
}

/** Layer 2, cordon of the owner: its IP moves to the other node; held `holdMs`, uncordoned, the IP comes back. */
export async function cordonL2Owner(d: DrainLab, holdMs = 2_000): Promise<DrillStep> {
  const vip = d.l2Vip;
  if (vip === undefined) throw new Error("drain lab started without l2");
  const owner = (await l2Owner(d.bgp, vip)) ?? "";
  const other = d.bgp.nodes.find((n) => n !== owner) ?? "";
  const before = await forwardedByNode(d);
  const t0 = Date.now();
  await setUnschedulable(d, owner, true);
  await waitNeighbor(d.bgp, vip, other);
  const shiftMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, holdMs));
  const t1 = Date.now();
  await setUnschedulable(d, owner, false);
  await waitNeighbor(d.bgp, vip, owner);
  await new Promise((r) => setTimeout(r, 2_500));
  const t2 = Date.now();
  const forwardedPackets = sum(await forwardedByNode(d)) - sum(before);
  return { node: owner, shiftMs, backMs: t2 - t1, away: [t0, t1 - 1], back: [t1, t2], forwardedPackets };
}

/** Starts the HTTP load in the client's namespace; stop() ends it and returns its summary. */
export async function startLoad(
  d: DrainLab,
  opts: { concurrency?: number; timeoutMs?: number; maxMs?: number; vip?: string } = {},
): Promise<{ stop(): Promise<LoadSummary> }> {
  const mainJs = await buildSpeaker();
  const loadJs = join(mainJs, "..", "..", "..", "testenv", "src", "http-load.js");
  const { lab } = d.bgp;
  const logFile = join(lab.dir, `http-load-${Date.now()}.log`);
  const child = spawnLogged(
    "ip",
    [
      "netns",
      "exec",
      lab.host("client").netns,
      process.execPath,
      loadJs,
      "--url",
      `http://${opts.vip ?? d.vip}/`,
      "--concurrency",
      String(opts.concurrency ?? 4),
      "--timeout-ms",
      String(opts.timeoutMs ?? 1000),
      "--max-ms",
      String(opts.maxMs ?? 120_000),
    ],
    logFile,
  );
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString("utf8")));
  return {
    stop: async () => {
      child.kill("SIGTERM");
      await exited(child);
      const { readFileSync } = await import("node:fs");
      const text = out !== "" ? out : readFileSync(logFile, "utf8");
      const line = text
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      if (line === undefined) throw new Error(`http-load printed no summary (log ${logFile})`);
      return JSON.parse(line) as LoadSummary;
    },
  };
}

export interface DrillStep {
  node: string;
  /** SIGTERM → speaker exited (the drain), ms. */
  drainMs?: number;
  /** Action → the router's route has only the other node(s). */
  shiftMs: number;
  /** Back to every node (restart or uncordon) → ECMP again, ms. */
  backMs: number;
  /** Wall-clock (epoch ms) windows: [action, just before the node is brought back) and [brought back, ECMP again]. */
  away: [number, number];
  back: [number, number];
  /** Layer 2: TCP packets the speakers passed to a previous owner during the step (hand-over forwarding). */
  forwardedPackets?: number;
}

/** The speakers' count of packets passed to a previous owner after a Layer 2 hand-over. */
export const FORWARDED_PACKETS_METRIC = "metallb_ts_layer2_handover_forwarded_packets_total";

/** Each node's speaker's forwarded-packet count now (0 when it does not answer). */
async function forwardedByNode(d: DrainLab): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const n of d.bgp.nodes) {
    const sp = d.bgp.processes.get(n);
    const text = sp === undefined ? "" : await sp.metrics().catch(() => "");
    out.set(n, metricValue(text, FORWARDED_PACKETS_METRIC) ?? 0);
  }
  return out;
}

const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** Splits load failures into those while a node was going away (the drain) and those while it came back. */
export function attributeFailures(steps: readonly DrillStep[], failures: LoadSummary["failures"]): { away: number; back: number; other: number } {
  const within = (w: [number, number], t: number): boolean => t >= w[0] && t <= w[1];
  const out = { away: 0, back: 0, other: 0 };
  for (const f of failures) {
    if (steps.some((s) => within(s.away, f.at))) out.away++;
    else if (steps.some((s) => within(s.back, f.at))) out.back++;
    else out.other++;
  }
  return out;
}

/** SIGTERM each node's speaker in turn, let it drain and exit, start it again, wait for ECMP over every node. */
export async function sigtermEachSpeaker(d: DrainLab): Promise<DrillStep[]> {
  const steps: DrillStep[] = [];
  for (const n of d.bgp.nodes) {
    const sp = d.bgp.processes.get(n);
    if (sp === undefined) throw new Error(`no speaker process on ${n}`);
    const t0 = Date.now();
    const gone = waitNextHops(d.bgp, d.vip, d.bgp.nodes.length - 1).then(() => Date.now() - t0);
    await sp.kill("SIGTERM");
    const drainMs = Date.now() - t0;
    const shiftMs = await gone;
    const t1 = Date.now();
    await sp.start();
    await waitNextHops(d.bgp, d.vip, d.bgp.nodes.length);
    const t2 = Date.now();
    steps.push({ node: n, drainMs, shiftMs, backMs: t2 - t1, away: [t0, t1 - 1], back: [t1, t2] });
  }
  return steps;
}

async function setUnschedulable(d: DrainLab, node: string, unschedulable: boolean): Promise<void> {
  const res = await kubeRequest(d.bgp.kc, "PATCH", `/api/v1/nodes/${node}`, { spec: { unschedulable } }, "application/merge-patch+json");
  if (res.status >= 300) throw new Error(`cordon ${node}: HTTP ${res.status}`);
}

/** Cordons a node (kubectl cordon), holds it `holdMs` after the router moved, uncordons, waits for ECMP again. */
export async function cordonNode(d: DrainLab, node: string, holdMs = 2_000): Promise<DrillStep> {
  const t0 = Date.now();
  await setUnschedulable(d, node, true);
  await waitNextHops(d.bgp, d.vip, d.bgp.nodes.length - 1);
  const shiftMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, holdMs));
  const t1 = Date.now();
  await setUnschedulable(d, node, false);
  await waitNextHops(d.bgp, d.vip, d.bgp.nodes.length);
  const t2 = Date.now();
  return { node, shiftMs, backMs: t2 - t1, away: [t0, t1 - 1], back: [t1, t2] };
}

/**
 * Records what a drill does to the traffic, for finding out why a request failed: the router's route changes
 * (`ip -ts monitor route`, timestamped) and, in each node's and the client's namespace, every SYN and RST of port 80
 * (`tcpdump -tt`: which node got each connection's first packet, which one reset it). stop() ends the captures.
 */
export function startTrace(d: DrainLab, dir: string): { stop(): Promise<void> } {
  const { lab } = d.bgp;
  const children = [
    spawnLogged("ip", ["-n", lab.host("router").netns, "-ts", "monitor", "route"], join(dir, "router-routes.log")),
    ...[...d.bgp.nodes, "client"].map((h) =>
      spawnLogged(
        "ip",
        ["netns", "exec", lab.host(h).netns, "tcpdump", "-i", "eth0", "-nn", "-tt", "-l", "tcp port 80 and (tcp[tcpflags] & (tcp-syn|tcp-rst) != 0)"],
        join(dir, `${h}-syn-rst.log`),
      ),
    ),
  ];
  return {
    stop: async () => {
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(children.map((c) => exited(c)));
    },
  };
}
