import { createSocket } from "node:dgram";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, test } from "@jest/globals";
import { Registry } from "prom-client";
import { encodeHeartbeat, LivenessTracker } from "../../../model/src/layer2/heartbeat.js";
import { silentLogger } from "../../../shell/src/logger.js";
import { HeartbeatTransport, SourceLimiter } from "./heartbeats.js";

const KEY = new TextEncoder().encode("a-shared-heartbeat-key-for-tests");
const PORT = 17_000 + Math.floor(Math.random() * 20_000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node {
  tracker: LivenessTracker;
  transport: HeartbeatTransport;
  registry: Registry;
  accepted: number;
}

function node(name: string, address: string, signAheadMs?: number): Node {
  const registry = new Registry();
  const tracker = new LivenessTracker({ self: name, incarnation: 1, startMs: performance.now() });
  const n: Node = { tracker, registry, accepted: 0, transport: undefined as unknown as HeartbeatTransport };
  n.transport = new HeartbeatTransport({
    tracker,
    port: PORT,
    bindAddress: address,
    clock: () => performance.now(),
    log: silentLogger,
    registry,
    onAccepted: () => n.accepted++,
    ...(signAheadMs !== undefined ? { signAheadMs } : {}),
  });
  return n;
}

/**
 * A UDP listener on its own thread (so it keeps listening while the test blocks the main loop): it records when each
 * datagram arrived, in ms since the epoch (performance.timeOrigin + now(), comparable across threads).
 */
class ArrivalRecorder {
  private readonly worker: Worker;
  private readonly bound: Promise<void>;

  constructor(address: string, port: number) {
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const sock = require("node:dgram").createSocket("udp4");
      const arrivals = [];
      sock.on("message", () => arrivals.push(performance.timeOrigin + performance.now()));
      sock.bind(workerData.port, workerData.address, () => parentPort.postMessage("bound"));
      parentPort.on("message", () => parentPort.postMessage(arrivals));`;
    this.worker = new Worker(code, { eval: true, workerData: { address, port } });
    this.bound = new Promise((resolve) => this.worker.once("message", () => resolve()));
  }

  started(): Promise<void> {
    return this.bound;
  }

  arrivals(): Promise<number[]> {
    return new Promise((resolve) => {
      this.worker.once("message", (m: number[]) => resolve(m));
      this.worker.postMessage("arrivals");
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Blocks this thread's event loop for `ms` (a long synchronous task of the speaker). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* spin */
  }
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** The longest time without an arrival within [from, to] (its ends count as arrivals). */
function longestSilence(arrivals: readonly number[], from: number, to: number): number {
  const points = [from, ...arrivals.filter((t) => t > from && t < to), to];
  let gap = 0;
  for (let i = 1; i < points.length; i++) gap = Math.max(gap, (points[i] ?? 0) - (points[i - 1] ?? 0));
  return gap;
}

const started: Node[] = [];
afterEach(async () => {
  for (const n of started.splice(0)) await n.transport.stop();
});

describe("HeartbeatTransport (UDP on loopback)", () => {
  test("two speakers with the same key see each other alive; forged and garbage datagrams are dropped and counted", async () => {
    const a = node("node-a", "127.0.0.1");
    const b = node("node-b", "127.0.0.2");
    started.push(a, b);
    for (const n of [a, b]) {
      await n.transport.start();
      n.transport.setKey(KEY);
      n.transport.setPeers([
        { node: "node-a", address: "127.0.0.1" },
        { node: "node-b", address: "127.0.0.2" },
      ]);
    }
    await sleep(1_000); // past warm-up (700 ms) so heartbeats say "ready"
    expect(a.accepted).toBeGreaterThan(2);
    expect(a.tracker.alive(performance.now()).has("node-b")).toBe(true);
    expect(b.tracker.alive(performance.now()).has("node-a")).toBe(true);

    const sock = createSocket("udp4");
    const forged = encodeHeartbeat({ node: "node-c", incarnation: 1, seq: 1, sentAtMs: 0 }, new TextEncoder().encode("some-other-key-0123456789"));
    await new Promise<void>((r) => sock.send(forged, PORT, "127.0.0.1", () => r()));
    await new Promise<void>((r) => sock.send(Buffer.from("garbage"), PORT, "127.0.0.1", () => r()));
    sock.close();
    await sleep(100);
    const text = await a.registry.getSingleMetricAsString("metallb_ts_layer2_heartbeats_dropped_total");
    expect(text).toContain('reason="badMac"} 1');
    expect(text).toContain('reason="truncated"} 1'); // shorter than any heartbeat: dropped before anything else
    expect(a.tracker.peerStates(performance.now()).map((p) => p.node)).toEqual(["node-b"]);
  });

  test("without a key nothing is sent and everything received is dropped", async () => {
    const a = node("node-a", "127.0.0.1");
    const b = node("node-b", "127.0.0.2");
    started.push(a, b);
    await a.transport.start();
    await b.transport.start();
    a.transport.setKey(KEY);
    a.transport.setPeers([{ node: "node-b", address: "127.0.0.2" }]);
    b.transport.setPeers([{ node: "node-a", address: "127.0.0.1" }]);
    b.transport.setKey(new Uint8Array(4)); // too short: treated as no key
    expect(b.transport.hasKey).toBe(false);
    await sleep(300);
    expect(a.accepted).toBe(0);
    expect(b.accepted).toBe(0);
    expect(await b.registry.getSingleMetricAsString("metallb_ts_layer2_heartbeats_dropped_total")).toContain('reason="noKey"}');
  });

  test("a flood of junk at the port (5,000 datagrams from one source) does not crowd out real heartbeats", async () => {
    const a = node("node-a", "127.0.0.1");
    const b = node("node-b", "127.0.0.2");
    started.push(a, b);
    for (const n of [a, b]) {
      await n.transport.start();
      n.transport.setKey(KEY);
      n.transport.setPeers([
        { node: "node-a", address: "127.0.0.1" },
        { node: "node-b", address: "127.0.0.2" },
      ]);
    }
    await sleep(1_000);
    const junk = encodeHeartbeat({ node: "node-b", incarnation: 1, seq: 1, sentAtMs: 0 }, new TextEncoder().encode("some-other-key-0123456789"));
    const sock = createSocket("udp4");
    let deadSeen = false;
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 100; j++) sock.send(junk, PORT, "127.0.0.1");
      await sleep(10);
      if (!a.tracker.alive(performance.now()).has("node-b")) deadSeen = true;
    }
    sock.close();
    await sleep(200);
    expect(deadSeen).toBe(false);
    expect(a.tracker.alive(performance.now()).has("node-b")).toBe(true);
    const text = await a.registry.getSingleMetricAsString("metallb_ts_layer2_heartbeats_dropped_total");
    // Almost all of it was dropped by the source's budget, before any MAC was computed.
    const limited = Number(/reason="rateLimited"} (\d+)/.exec(text)?.[1] ?? "0");
    expect(limited).toBeGreaterThan(4_000);
  });
});

describe("heartbeats from their own thread", () => {
  const recorders: ArrivalRecorder[] = [];
  afterEach(async () => {
    for (const r of recorders.splice(0)) await r.stop();
  });

  async function senderAndRecorder(signAheadMs?: number): Promise<{ a: Node; rec: ArrivalRecorder }> {
    const rec = new ArrivalRecorder("127.0.0.2", PORT);
    recorders.push(rec);
    await rec.started();
    const a = node("node-a", "127.0.0.1", signAheadMs);
    started.push(a);
    await a.transport.start();
    a.transport.setKey(KEY);
    a.transport.setPeers([{ node: "node-b", address: "127.0.0.2" }]);
    await sleep(400);
    return { a, rec };
  }

  test("a main loop busy for 1 s does not delay them (a busy node must not look dead)", async () => {
    const { rec } = await senderAndRecorder();
    const from = epochNow();
    busy(1_000);
    await sleep(300);
    const gap = longestSilence(await rec.arrivals(), from, epochNow());
    // Every 100 ms as usual; the old timer on the main loop made a gap of the whole 1,000 ms here.
    expect(gap).toBeLessThan(400);
  });

  test("a main loop stalled longer than the sign-ahead horizon goes silent, and sends again once it runs", async () => {
    const { rec } = await senderAndRecorder(400);
    const from = epochNow();
    busy(1_500);
    const resumed = epochNow();
    await sleep(500);
    const arrivals = await rec.arrivals();
    // The thread ran dry ~400 ms into the stall: at least the rest of it is silent.
    expect(longestSilence(arrivals, from, resumed)).toBeGreaterThan(900);
    expect(arrivals.filter((t) => t > resumed).length).toBeGreaterThanOrEqual(3);
  });
});

describe("SourceLimiter", () => {
  test.each<[desc: string, sends: Array<[source: string, at: number]>, want: boolean[]]>([
    ["a burst of 20 passes, the 21st does not", Array.from({ length: 21 }, () => ["s", 0] as [string, number]), [...Array<boolean>(20).fill(true), false]],
    [
      "refills at 20 per second",
      [...Array.from({ length: 20 }, () => ["s", 0] as [string, number]), ["s", 10], ["s", 50], ["s", 100]],
      [...Array<boolean>(20).fill(true), false, true, true],
    ],
    ["sources are independent", [...Array.from({ length: 20 }, () => ["s", 0] as [string, number]), ["t", 0]], [...Array<boolean>(20).fill(true), true]],
  ])("%s", (_desc, sends, want) => {
    const l = new SourceLimiter();
    expect(sends.map(([src, at]) => l.take(src, at))).toEqual(want);
  });

  test("a peer sending every 100 ms is never limited", () => {
    const l = new SourceLimiter();
    for (let t = 0; t < 60_000; t += 100) expect(l.take("peer", t)).toBe(true);
  });

  test("many sources: bounded memory, newcomers share one bucket", () => {
    const l = new SourceLimiter();
    for (let i = 0; i < 5_000; i++) l.take(`src-${i}`, 0);
    expect(l.size).toBeLessThanOrEqual(1_025);
  });
});
