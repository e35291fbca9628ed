// Layer 2 failover time and ARP reply throughput, everything real: apiserver, operator, two speaker processes in
// node namespaces (heartbeats over UDP), a client on the same bridge.
//
// Failover: the owner's speaker is SIGKILLed; the time until the client sees the first gratuitous ARP for the VIP
// from the other node (captured with an AF_PACKET socket in the client namespace, timestamped on arrival in this
// process) — N trials, the killed speaker restarted in between and ownership settled back. p50/p99.
// Throughput: the client blasts ARP requests for the VIP from a raw socket for a few seconds; replies counted.
// Also: the same with SIGTERM (graceful: a "leaving" heartbeat hands over at once), and failback time.
// Pressure (--pressure, issue 17): both speakers under a CPU quota (cgroup v1 cpu controller, --quota of one CPU
// each) and SIGSTOPped 300 ms in turn every second for --pressure-seconds (default 300) while the client broadcasts
// ARP requests every 200 ms: every reply's MAC, fence transitions, ownership changes, stalls excused and the speakers'
// CPU seconds are reported; then --pressure-trials SIGKILL failovers under the quota.
// Run as root: npm run bench:l2-failover [-- --trials 20 --graceful-trials 10 --blast-seconds 3]
//              npm run bench:l2-failover -- --pressure [--pressure-seconds 300 --quota 0.2 --pressure-trials 10]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { buildArp, parseArp, type MacAddress } from "../model/src/layer2/packets.js";
import { formatIP, parseIP } from "../model/src/net/ip.js";
import { probeArp, type ArpProbeResult } from "../testenv/src/arp-probe.js";
import { cpuSeconds, CpuQuota, stall } from "../testenv/src/cpu-quota.js";
import { apply, applyMetallb, createService, ensureNamespace, pool, waitForIPs } from "../testenv/src/objects.js";
import { openRawSocket, type RawSocket } from "../speaker/src/layer2/rawsocket.js";
import { sleep, waitFor } from "../testenv/src/proc.js";
import { startL2Lab, type L2Lab } from "../testenv/src/l2-lab.js";
import { metricValue } from "../testenv/src/speaker-process.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (n: number): number => Math.round(n * 10) / 10;

interface Garp {
  at: number;
  mac: MacAddress;
}

/** Every gratuitous ARP for `vip` the client sees, with its arrival time (performance.now()). */
function captureGarps(sock: RawSocket, vip: string, into: Garp[]): void {
  sock.onFrame((frame) => {
    const at = performance.now();
    const p = parseArp(frame);
    if (p === null || p.senderIP.value !== p.targetIP.value || formatIP(p.senderIP) !== vip) return;
    into.push({ at, mac: p.senderMac });
  });
}

async function failoverTrials(
  l2: L2Lab,
  vip: string,
  trials: number,
  signal: NodeJS.Signals,
  started: (node: string, pid: number) => void = () => undefined,
): Promise<{ failoverMs: number[]; failbackMs: number[] }> {
  const { lab } = l2;
  const cands = await l2.candidates(vip);
  const [owner = "", other = ""] = cands;
  const ownerMac = lab.host(owner).mac;
  const otherMac = lab.host(other).mac;
  const garps: Garp[] = [];
  const sniffer = openRawSocket({ ifname: "eth0", ethertype: 0x0806, netnsPath: `/run/netns/${lab.host("client").netns}` });
  captureGarps(sniffer, vip, garps);
  const failoverMs: number[] = [];
  const failbackMs: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const sp = l2.speakers.get(owner);
      if (sp === undefined) throw new Error("no owner speaker");
      const t0 = performance.now();
      await sp.kill(signal);
      const g = await waitFor("GARP from the other node", () => garps.find((x) => x.at >= t0 && x.mac === otherMac), 10_000, 2);
      failoverMs.push(g.at - t0);
      const t1 = performance.now();
      await sp.start();
      if (sp.pid !== undefined) started(owner, sp.pid);
      const back = await waitFor("GARP from the restarted owner", () => garps.find((x) => x.at >= t1 && x.mac === ownerMac), 20_000, 5);
      failbackMs.push(back.at - t1);
      // Let both announcement bursts end before the next kill.
      await sleep(2_500);
      process.stderr.write(
        `${signal} trial ${i + 1}/${trials}: failover ${round(failoverMs[i] ?? NaN)} ms, failback (restart→GARP) ${round(back.at - t1)} ms\n`,
      );
    }
  } finally {
    sniffer.close();
  }
  return { failoverMs, failbackMs };
}

/** Sends ARP requests for `vip` from the client as fast as the loop allows for `seconds`; counts the replies. */
async function arpBlast(l2: L2Lab, vip: string, seconds: number): Promise<{ sent: number; replies: number; seconds: number }> {
  const client = l2.lab.host("client");
  const sock = openRawSocket({ ifname: "eth0", ethertype: 0x0806, netnsPath: `/run/netns/${client.netns}` });
  const target = parseIP(vip);
  const source = parseIP(client.ipv4);
  if (!target.ok || !source.ok) throw new Error("bad IPs");
  let replies = 0;
  sock.onFrame((frame) => {
    const p = parseArp(frame);
    if (p?.op === "reply" && formatIP(p.senderIP) === vip && p.targetMac === client.mac) replies++;
  });
  const req = buildArp({
    op: "request",
    senderMac: client.mac,
    senderIP: source.value,
    targetMac: "00:00:00:00:00:00",
    targetIP: target.value,
    ethSrc: client.mac,
    ethDst: "ff:ff:ff:ff:ff:ff",
  });
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) {
      try {
        sock.send(req);
        sent++;
      } catch {
        /* ENOBUFS: the queue is full, try again next round */
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  await sleep(300);
  sock.close();
  return { sent, replies, seconds: (performance.now() - t0) / 1000 };
}

const flag = (name: string): boolean => process.argv.includes(`--${name}`);

interface PressureResult {
  seconds: number;
  quotaOfOneCpu: number;
  sigstops: number;
  arpRequests: number;
  arpReplies: number;
  repliesByMac: Record<string, number>;
  foreignMacReplies: number;
  fenceChangesIsolated: number;
  ownershipChanges: number;
  stallsExcused: number;
  stalledSeconds: number;
  speakerCpuSeconds: Record<string, number>;
  throttledPeriods: Record<string, number>;
  loadAvg1m: number;
}

/** Sum of a metric's samples (all label sets) in a metrics text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})?\s+(\S+)$/.exec(line);
    if (m?.[1] === name) sum += Number(m[2]);
  }
  return sum;
}

/** Both speakers under the quota, SIGSTOPped 300 ms in turn every second, while the client probes ARP. */
async function pressurePhase(l2: L2Lab, vip: string, seconds: number, quota: number, quotas: Map<string, CpuQuota>): Promise<PressureResult> {
  const [owner = "", other = ""] = await l2.candidates(vip);
  const pid = (n: string): number => l2.speakers.get(n)?.pid ?? NaN;
  for (const n of [owner, other]) quotas.get(n)?.add(pid(n));
  const metricsOf = async (n: string): Promise<string> => (await l2.speakers.get(n)?.metrics()) ?? "";
  const totals = async (): Promise<{ fence: number; changes: number; stalls: number; stalled: number }> => {
    const t = { fence: 0, changes: 0, stalls: 0, stalled: 0 };
    for (const n of [owner, other]) {
      const m = await metricsOf(n);
      t.fence += metricValue(m, "metallb_ts_layer2_fence_changes_total", { reason: "isolated" }) ?? 0;
      t.changes += metricSum(m, "metallb_ts_layer2_ownership_changes_total");
      t.stalls += metricValue(m, "metallb_ts_layer2_stalls_total") ?? 0;
      t.stalled += metricValue(m, "metallb_ts_layer2_stalled_seconds_total") ?? 0;
    }
    return t;
  };
  const before = await totals();
  const cpu0 = new Map([owner, other].map((n) => [n, cpuSeconds(pid(n)) ?? 0]));
  const throttled0 = new Map([owner, other].map((n) => [n, quotas.get(n)?.throttled().throttledPeriods ?? 0]));
  let running = true;
  let sigstops = 0;
  const stopper = (async (): Promise<void> => {
    for (let i = 0; running; i++) {
      await stall(pid(i % 2 === 0 ? owner : other), 300);
      sigstops++;
      await sleep(700);
    }
  })();
  let probe: ArpProbeResult;
  try {
    probe = await probeArp(l2.lab, "client", vip, seconds * 1000);
  } finally {
    running = false;
    await stopper;
  }
  const macs = probe.replies;
  const byMac: Record<string, number> = {};
  for (const m of macs) byMac[m] = (byMac[m] ?? 0) + 1;
  const after = await totals();
  const ownerMac = l2.lab.host(owner).mac;
  return {
    seconds,
    quotaOfOneCpu: quota,
    sigstops,
    arpRequests: probe.requests,
    arpReplies: macs.length,
    repliesByMac: byMac,
    foreignMacReplies: macs.filter((m) => m !== ownerMac).length,
    fenceChangesIsolated: after.fence - before.fence,
    ownershipChanges: after.changes - before.changes,
    stallsExcused: after.stalls - before.stalls,
    stalledSeconds: round(after.stalled - before.stalled),
    speakerCpuSeconds: Object.fromEntries([owner, other].map((n) => [n, round((cpuSeconds(pid(n)) ?? 0) - (cpu0.get(n) ?? 0))])),
    throttledPeriods: Object.fromEntries([owner, other].map((n) => [n, (quotas.get(n)?.throttled().throttledPeriods ?? 0) - (throttled0.get(n) ?? 0)])),
    loadAvg1m: round(Number(readLoadAvg())),
  };
}

function readLoadAvg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ")[0] ?? "NaN";
}

async function pressureMain(l2: L2Lab, vip: string): Promise<void> {
  const seconds = arg("pressure-seconds", 300);
  const quota = arg("quota", 0.2);
  const trials = arg("pressure-trials", 10);
  const quotas = new Map(l2.nodes.map((n) => [n, CpuQuota.create(`bench-${n}`, quota)]));
  try {
    const pressure = await pressurePhase(l2, vip, seconds, quota, quotas);
    process.stderr.write(`pressure: ${JSON.stringify(pressure)}\n`);
    await sleep(2_500);
    const { failoverMs } = await failoverTrials(l2, vip, trials, "SIGKILL", (n, p) => quotas.get(n)?.add(p));
    const fo = [...failoverMs].sort((a, b) => a - b);
    const result = {
      pressure,
      failoverUnderQuota: {
        trials,
        p50Ms: round(pct(fo, 50)),
        p99Ms: round(pct(fo, 99)),
        minMs: round(fo[0] ?? NaN),
        maxMs: round(fo[fo.length - 1] ?? NaN),
        samplesMs: failoverMs.map(round),
      },
    };
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    for (const q of quotas.values()) q.remove();
  }
}

async function main(): Promise<void> {
  const trials = arg("trials", 20);
  const gracefulTrials = arg("graceful-trials", 10);
  const blastSeconds = arg("blast-seconds", 3);
  const l2 = await startL2Lab({ log: (l) => process.stderr.write(`${l}\n`) });
  try {
    const { kc } = l2;
    await ensureNamespace(kc, "bench");
    await pool(kc, "bench", { addresses: ["10.111.0.200-10.111.0.209"] });
    await applyMetallb(kc, "L2Advertisement", "bench", { ipAddressPools: ["bench"] });
    await createService(kc, "bench", "vip");
    await apply(
      kc,
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "vip-1", namespace: "bench", labels: { "kubernetes.io/service-name": "vip" } },
        addressType: "IPv4",
        endpoints: l2.nodes.map((n, j) => ({ addresses: [`10.244.${j}.1`], nodeName: n, conditions: { ready: true } })),
        ports: [{ port: 80, protocol: "TCP" }],
      },
      "endpointslices",
    );
    const vip = (await waitForIPs(kc, "bench", "vip")).ips[0] ?? "";
    const cands = await waitFor(
      "plan",
      async () => {
        const c = await l2.candidates(vip);
        return c.length === 2 ? c : undefined;
      },
      30_000,
    );
    const owner = cands[0] ?? "";
    await waitFor(
      "owner answers",
      async () => {
        const out = await l2.lab.exec("client", "arping", ["-c", "1", "-w", "2", "-I", "eth0", vip], { allowFail: true });
        return out.stdout.toLowerCase().includes(l2.lab.host(owner).mac) ? true : undefined;
      },
      30_000,
      200,
    );
    await sleep(2_500);
    if (flag("pressure")) {
      await pressureMain(l2, vip);
      return;
    }

    const { failoverMs, failbackMs } = await failoverTrials(l2, vip, trials, "SIGKILL");
    const fo = [...failoverMs].sort((a, b) => a - b);
    const fb = [...failbackMs].sort((a, b) => a - b);
    // Rolling restart: SIGTERM makes the speaker send a "leaving" heartbeat, so the peer takes over at once.
    const graceful = (await failoverTrials(l2, vip, gracefulTrials, "SIGTERM")).failoverMs;
    const gr = [...graceful].sort((a, b) => a - b);

    await sleep(1_000);
    const sp = l2.speakers.get(owner);
    const before = metricValue((await sp?.metrics()) ?? "", "metallb_layer2_responses_sent", { ip: vip }) ?? 0;
    const blast = await arpBlast(l2, vip, blastSeconds);
    const after = metricValue((await sp?.metrics()) ?? "", "metallb_layer2_responses_sent", { ip: vip }) ?? 0;

    const result = {
      trials,
      failover: {
        p50Ms: round(pct(fo, 50)),
        p99Ms: round(pct(fo, 99)),
        minMs: round(fo[0] ?? NaN),
        maxMs: round(fo[fo.length - 1] ?? NaN),
        samplesMs: failoverMs.map(round),
      },
      gracefulSigterm: { trials: gracefulTrials, p50Ms: round(pct(gr, 50)), p99Ms: round(pct(gr, 99)), maxMs: round(gr[gr.length - 1] ?? NaN) },
      failback: {
        p50Ms: round(pct(fb, 50)),
        p99Ms: round(pct(fb, 99)),
        note: "speaker process start → first GARP from it (includes node start-up, warm-up and hand-over)",
      },
      arpBlast: {
        seconds: round(blast.seconds),
        requestsSent: blast.sent,
        repliesSeen: blast.replies,
        repliesPerSecond: Math.round(blast.replies / blast.seconds),
        speakerResponsesSent: after - before,
      },
    };
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await l2.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`l2-failover bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
