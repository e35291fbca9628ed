import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBfdPeers, parseBgpNeighbors } from "./state.js";

const sample = (name: string): unknown => JSON.parse(readFileSync(join(import.meta.dirname, "testdata", name), "utf8"));

describe("FRR state from vtysh JSON (samples recorded from FRR 8.4)", () => {
  test("an established session", () => {
    const [s] = parseBgpNeighbors(sample("node1-show-bgp-neighbors.json"));
    expect(s).toMatchObject({
      vrf: "default",
      neighbor: "10.111.0.1",
      peerLabel: "10.111.0.1:179",
      established: true,
      remoteAs: 64500,
      connectionsEstablished: 17,
      sentPrefixes: 1,
      bfdStatus: "Up",
    });
    expect(s?.messages.updatesSent).toBe(2253);
  });

  test("a session that is not established", () => {
    const [s] = parseBgpNeighbors(sample("node1-show-bgp-neighbor-not-established.json"));
    expect(s).toMatchObject({ neighbor: "10.111.0.150", state: "Connect", established: false, peerLabel: "10.111.0.150:179", uptimeMs: 0 });
  });

  test("the vrf-all shape and garbage", () => {
    const n = (sample("node1-show-bgp-neighbors.json") as Record<string, unknown>)["10.111.0.1"];
    expect(parseBgpNeighbors({ red: { vrfId: 5, vrfName: "red", "fd00::1": n } }).map((s) => [s.vrf, s.peerLabel])).toEqual([["red", "[fd00::1]:179"]]);
    expect(parseBgpNeighbors({ red: { vrfId: 5, vrfName: "red", "fd00::1": n } }, new Map([["red/fd00::1", 1179]])).map((s) => s.peerLabel)).toEqual([
      "[fd00::1]:1179",
    ]);
    // The router opened the connection: portForeign is its ephemeral port, the label keeps the configured one.
    expect(parseBgpNeighbors({ "10.111.0.1": { ...(n as object), portForeign: 40123 } }).map((s) => s.peerLabel)).toEqual(["10.111.0.1:179"]);
    expect(parseBgpNeighbors("nope")).toEqual([]);
    expect(parseBgpNeighbors({ x: 1, y: { z: 2 } })).toEqual([]);
  });

  test("BFD peers with counters", () => {
    const peers = parseBfdPeers(sample("router-show-bfd-peers.json"));
    expect(peers.map((p) => [p.peer, p.up, p.receiveIntervalMs, p.transmitIntervalMs, p.detectMultiplier])).toContainEqual(["10.111.0.12", true, 100, 100, 3]);
    const withCounters = parseBfdPeers([{ peer: "10.111.0.1", vrf: "default", status: "down" }], sample("node1-show-bfd-peers-counters.json"));
    expect(withCounters[0]).toMatchObject({ up: false, counters: { controlIn: 6190, controlOut: 6583, sessionUp: 13 } });
    expect(parseBfdPeers(null)).toEqual([]);
  });
});
