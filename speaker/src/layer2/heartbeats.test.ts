import { createSocket } from "node:dgram";
import { afterEach, describe, expect, test } from "@jest/globals";
import { Registry } from "prom-client";
import { encodeHeartbeat, LivenessTracker } from "../../../model/src/layer2/heartbeat.js";
import { silentLogger } from "../../../shell/src/logger.js";
import { HeartbeatTransport } from "./heartbeats.js";

const KEY = new TextEncoder().encode("a-shared-heartbeat-key-for-tests");
const PORT = 17_000 + Math.floor(Math.random() * 20_000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node {
  tracker: LivenessTracker;
  transport: HeartbeatTransport;
  registry: Registry;
  accepted: number;
}

function node(name: string, address: string): Node {
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
  });
  return n;
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
    await sleep(700); // past warm-up (450 ms) so heartbeats say "ready"
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
    expect(text).toContain('reason="badMagic"} 1');
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
});
