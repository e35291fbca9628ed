import { describe, expect, test } from "@jest/globals";
import { runBpf } from "../../../model/src/layer2/bpf.js";
import { buildArp, buildArpReply, buildGratuitousArp, buildNeighborAdvertisement, buildUnsolicitedNA, parseArp } from "../../../model/src/layer2/packets.js";
import { CAPTURED_ARP_REQUEST, CAPTURED_NS } from "../../../model/src/layer2/testdata/frames.js";
import { type IPAddress } from "../../../model/src/net/ip.js";
import { answerNeighborSolicitation } from "../../../model/src/layer2/respond.js";
import { parseNeighborSolicitation } from "../../../model/src/layer2/packets.js";
import { arpAnyFilter, buildArpProbe, buildDadSolicitation, foreignClaim, ndpAnyFilter } from "./claims.js";
import { mustParseIP as ip } from "../../../model/src/net/testdata/ip.js";

const OWN = "02:11:00:00:00:0b";
const ROGUE = "02:66:00:00:00:01";
const VIP = ip("10.111.0.200");
const VIP6 = ip("fd00:111::200");
const owns = (x: IPAddress): boolean => x.value === VIP.value || x.value === VIP6.value;

describe("foreignClaim", () => {
  test("another MAC's ARP reply, gratuitous ARP and NA for an owned IP are claims", () => {
    const reply = buildArpReply({ senderMac: ROGUE, senderIP: VIP, targetMac: OWN, targetIP: ip("0.0.0.0") });
    expect(foreignClaim(reply, OWN, owns)).toEqual({ ip: VIP, mac: ROGUE, kind: "arpReply" });
    expect(foreignClaim(buildGratuitousArp(ROGUE, VIP, "request"), OWN, owns)).toMatchObject({ kind: "gratuitousArp", mac: ROGUE });
    expect(foreignClaim(buildGratuitousArp(ROGUE, VIP, "reply"), OWN, owns)).toMatchObject({ kind: "arpReply", mac: ROGUE });
    expect(foreignClaim(buildUnsolicitedNA(ROGUE, VIP6), OWN, owns)).toEqual({ ip: VIP6, mac: ROGUE, kind: "neighborAdvertisement" });
  });

  test("own frames, requests, unowned IPs and garbage are not", () => {
    expect(foreignClaim(buildGratuitousArp(OWN, VIP, "reply"), OWN, owns)).toBeNull();
    expect(foreignClaim(buildUnsolicitedNA(OWN, VIP6), OWN, owns)).toBeNull();
    expect(foreignClaim(buildGratuitousArp(ROGUE, ip("10.111.0.201"), "reply"), OWN, owns)).toBeNull();
    expect(foreignClaim(CAPTURED_ARP_REQUEST, OWN, owns)).toBeNull();
    expect(foreignClaim(CAPTURED_NS, OWN, owns)).toBeNull();
    expect(foreignClaim(buildArpProbe(ROGUE, VIP), OWN, owns)).toBeNull();
    for (let n = 0; n < 42; n += 5) expect(foreignClaim(buildGratuitousArp(ROGUE, VIP, "reply").subarray(0, n), OWN, owns)).toBeNull();
  });

  test("an NA without a target link-layer option falls back to the Ethernet source", () => {
    const na = buildNeighborAdvertisement({ srcMac: ROGUE, dstMac: OWN, srcIP: VIP6, dstIP: ip("fd00:111::b"), target: VIP6, solicited: true, override: true });
    expect(foreignClaim(na, OWN, owns)?.mac).toBe(ROGUE);
  });
});

describe("socket filters and probes", () => {
  test("the wide ARP filter passes requests and replies, nothing else", () => {
    expect(runBpf(arpAnyFilter, CAPTURED_ARP_REQUEST)).toBeGreaterThan(0);
    expect(runBpf(arpAnyFilter, buildGratuitousArp(ROGUE, VIP, "reply"))).toBeGreaterThan(0);
    expect(runBpf(arpAnyFilter, CAPTURED_NS)).toBe(0);
    expect(runBpf(arpAnyFilter, new Uint8Array(10))).toBe(0);
  });

  test("the wide NDP filter passes solicitations and advertisements", () => {
    expect(runBpf(ndpAnyFilter, CAPTURED_NS)).toBeGreaterThan(0);
    expect(runBpf(ndpAnyFilter, buildUnsolicitedNA(ROGUE, VIP6))).toBeGreaterThan(0);
    expect(runBpf(ndpAnyFilter, CAPTURED_ARP_REQUEST)).toBe(0);
  });

  test("an ARP probe has sender IP 0.0.0.0 and is broadcast", () => {
    expect(parseArp(buildArpProbe(OWN, VIP))).toMatchObject({
      op: "request",
      senderIP: { value: 0n },
      targetIP: VIP,
      senderMac: OWN,
      ethDst: "ff:ff:ff:ff:ff:ff",
    });
    expect(buildArp).toBeDefined();
  });

  test("a DAD probe is a valid solicitation from :: that a holder answers with an NA to all nodes", () => {
    const probe = buildDadSolicitation(OWN, VIP6);
    expect(parseNeighborSolicitation(probe)).toMatchObject({ srcIP: { value: 0n }, target: VIP6, ethDst: "33:33:ff:00:02:00", sourceLinkLayer: null });
    expect(runBpf(ndpAnyFilter, probe)).toBeGreaterThan(0);
    const answer = answerNeighborSolicitation(probe, ROGUE, owns);
    expect(answer.kind).toBe("reply");
    if (answer.kind === "reply") expect(foreignClaim(answer.frame, OWN, () => true)).toMatchObject({ mac: ROGUE, kind: "neighborAdvertisement" });
    expect(() => buildDadSolicitation(OWN, VIP)).toThrow(RangeError);
  });
});
