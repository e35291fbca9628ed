import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { formatIP, type IPAddress } from "../net/ip.js";
import {
  ALL_NODES,
  buildArp,
  buildArpReply,
  buildGratuitousArp,
  buildNeighborAdvertisement,
  buildUnsolicitedNA,
  icmpv6Checksum,
  ipv6MulticastMac,
  macFromBytes,
  macToBytes,
  parseArp,
  parseMac,
  parseNeighborAdvertisement,
  parseNeighborSolicitation,
  solicitedNodeAddress,
  solicitedNodeMulticastMac,
  type ArpPacket,
} from "./packets.js";
import {
  CAPTURED_ARP_REQUEST,
  CAPTURED_NS,
  CAPTURED_RS,
  GOLDEN_ARP_REPLY,
  GOLDEN_GARP_REPLY,
  GOLDEN_GARP_REQUEST,
  GOLDEN_NA_SOLICITED,
  GOLDEN_NA_TO_CAPTURED_NS,
  GOLDEN_UNSOLICITED_NA,
  hex,
  toHex,
} from "./testdata/frames.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";

const VIP4 = ip("10.111.0.200");
const VIP6 = ip("fd00:111::200");
const NODE1 = "02:11:00:00:00:0b";
const NODE2 = "02:11:00:00:00:0c";
const CLIENT = "02:11:00:00:00:05";

describe("MAC addresses", () => {
  test("parse to canonical form", () => {
    expect(parseMac("02:11:00:00:00:0B")).toBe("02:11:00:00:00:0b");
    expect(parseMac("02-11-00-00-00-0b")).toBe("02:11:00:00:00:0b");
    expect(parseMac("02:11:00:00:00")).toBeNull();
    expect(parseMac("02:11:00:00:00:0g")).toBeNull();
    expect(parseMac("")).toBeNull();
  });
  test("bytes round trip", () => {
    expect(toHex(macToBytes(NODE1))).toBe("02110000000b");
    expect(macFromBytes(hex("00 02110000000b"), 1)).toBe(NODE1);
    expect(() => macToBytes("nope")).toThrow(RangeError);
  });
  test("solicited-node multicast group and MAC", () => {
    expect(formatIP(solicitedNodeAddress(VIP6))).toBe("ff02::1:ff00:200");
    expect(solicitedNodeMulticastMac(VIP6)).toBe("33:33:ff:00:02:00");
    expect(solicitedNodeMulticastMac(ip("2001:db8::abcd:ef12:3456"))).toBe("33:33:ff:12:34:56");
    expect(ipv6MulticastMac(ALL_NODES)).toBe("33:33:00:00:00:01");
    expect(() => solicitedNodeMulticastMac(VIP4)).toThrow(RangeError);
  });
});

describe("ARP", () => {
  test("parses a request captured from arping", () => {
    expect(parseArp(CAPTURED_ARP_REQUEST)).toEqual({
      op: "request",
      senderMac: CLIENT,
      senderIP: ip("10.111.0.5"),
      targetMac: "ff:ff:ff:ff:ff:ff",
      targetIP: VIP4,
      ethSrc: CLIENT,
      ethDst: "ff:ff:ff:ff:ff:ff",
    });
  });

  test("reply: golden bytes", () => {
    const frame = buildArpReply({ senderMac: NODE1, senderIP: VIP4, targetMac: CLIENT, targetIP: ip("10.111.0.5") });
    expect(toHex(frame)).toBe(toHex(GOLDEN_ARP_REPLY));
    expect(frame.length).toBe(60);
  });

  test("gratuitous ARP, both forms: golden bytes", () => {
    expect(toHex(buildGratuitousArp(NODE2, VIP4, "request"))).toBe(toHex(GOLDEN_GARP_REQUEST));
    expect(toHex(buildGratuitousArp(NODE2, VIP4, "reply"))).toBe(toHex(GOLDEN_GARP_REPLY));
  });

  test("parses its own frames back (padding ignored)", () => {
    expect(parseArp(GOLDEN_GARP_REPLY)).toMatchObject({ op: "reply", senderMac: NODE2, senderIP: VIP4, targetIP: VIP4, ethDst: "ff:ff:ff:ff:ff:ff" });
  });

  test("rejects non-ARP, non-IPv4 ARP, other operations and truncation", () => {
    const notArp = CAPTURED_ARP_REQUEST.slice();
    notArp[13] = 0x00;
    expect(parseArp(notArp)).toBeNull();
    const rarp = CAPTURED_ARP_REQUEST.slice();
    rarp[21] = 3;
    expect(parseArp(rarp)).toBeNull();
    const ipv6Ptype = CAPTURED_ARP_REQUEST.slice();
    ipv6Ptype[16] = 0x86;
    expect(parseArp(ipv6Ptype)).toBeNull();
    expect(parseArp(CAPTURED_ARP_REQUEST.subarray(0, 41))).toBeNull();
    expect(parseArp(new Uint8Array(0))).toBeNull();
  });

  test("parses a frame that is a view into a larger buffer", () => {
    const big = new Uint8Array(100);
    big.set(CAPTURED_ARP_REQUEST, 7);
    expect(parseArp(big.subarray(7, 7 + CAPTURED_ARP_REQUEST.length))?.targetIP).toEqual(VIP4);
  });

  test("builders reject addresses of the wrong family", () => {
    expect(() => buildGratuitousArp(NODE1, VIP6, "request")).toThrow(RangeError);
  });
});

describe("NDP", () => {
  test("parses a solicitation captured from ndisc6", () => {
    expect(parseNeighborSolicitation(CAPTURED_NS)).toEqual({
      ethSrc: CLIENT,
      ethDst: "33:33:ff:00:02:00",
      srcIP: ip("fe80::11:ff:fe00:5"),
      dstIP: ip("ff02::1:ff00:200"),
      hopLimit: 255,
      target: VIP6,
      sourceLinkLayer: CLIENT,
    });
  });

  test("solicited NA: golden bytes, hop limit 255, S|O", () => {
    const frame = buildNeighborAdvertisement({
      srcMac: NODE1,
      dstMac: CLIENT,
      srcIP: VIP6,
      dstIP: ip("fd00:111::5"),
      target: VIP6,
      solicited: true,
      override: true,
    });
    expect(toHex(frame)).toBe(toHex(GOLDEN_NA_SOLICITED));
    expect(frame[21]).toBe(255);
    expect(frame.length).toBe(86);
  });

  test("NA answering the captured solicitation: golden bytes", () => {
    const ns = parseNeighborSolicitation(CAPTURED_NS);
    if (ns === null) throw new Error("captured NS did not parse");
    const frame = buildNeighborAdvertisement({
      srcMac: NODE1,
      dstMac: ns.ethSrc,
      srcIP: ns.target,
      dstIP: ns.srcIP,
      target: ns.target,
      solicited: true,
      override: true,
    });
    expect(toHex(frame)).toBe(toHex(GOLDEN_NA_TO_CAPTURED_NS));
  });

  test("unsolicited NA: golden bytes (ff02::1, O set, S clear)", () => {
    expect(toHex(buildUnsolicitedNA(NODE2, VIP6))).toBe(toHex(GOLDEN_UNSOLICITED_NA));
  });

  test("NA round trip", () => {
    expect(parseNeighborAdvertisement(GOLDEN_UNSOLICITED_NA)).toEqual({
      ethSrc: NODE2,
      ethDst: "33:33:00:00:00:01",
      srcIP: VIP6,
      dstIP: ALL_NODES,
      hopLimit: 255,
      target: VIP6,
      router: false,
      solicited: false,
      override: true,
      targetLinkLayer: NODE2,
    });
    expect(parseNeighborAdvertisement(GOLDEN_NA_SOLICITED)).toMatchObject({ solicited: true, override: true, targetLinkLayer: NODE1 });
    // An NA is not an NS and vice versa.
    expect(parseNeighborSolicitation(GOLDEN_NA_SOLICITED)).toBeNull();
    expect(parseNeighborAdvertisement(CAPTURED_NS)).toBeNull();
  });

  test("checksum: the stored value verifies, recomputing over a zeroed field gives it back", () => {
    for (const frame of [CAPTURED_NS, GOLDEN_NA_SOLICITED, GOLDEN_UNSOLICITED_NA, CAPTURED_RS]) {
      const copy = frame.slice();
      const stored = ((copy[56] ?? 0) << 8) | (copy[57] ?? 0);
      copy[56] = 0;
      copy[57] = 0;
      const length = ((copy[18] ?? 0) << 8) | (copy[19] ?? 0);
      expect(icmpv6Checksum(copy, 14, length)).toBe(stored);
    }
  });

  test("every single-bit flip in the ICMPv6 message or the addresses is rejected", () => {
    for (let byte = 22; byte < CAPTURED_NS.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = CAPTURED_NS.slice();
        copy[byte] = (copy[byte] ?? 0) ^ (1 << bit);
        expect([byte, bit, parseNeighborSolicitation(copy)]).toEqual([byte, bit, null]);
      }
    }
  });

  test("validation: hop limit, router solicitation, truncation, DAD rules", () => {
    const hop = CAPTURED_NS.slice();
    hop[21] = 254;
    expect(parseNeighborSolicitation(hop)).toBeNull();
    expect(parseNeighborSolicitation(CAPTURED_RS)).toBeNull();
    for (let len = 0; len < CAPTURED_NS.length; len++) expect(parseNeighborSolicitation(CAPTURED_NS.subarray(0, len))).toBeNull();
    // Trailing Ethernet padding beyond the IPv6 payload length is fine.
    const padded = new Uint8Array(CAPTURED_NS.length + 10);
    padded.set(CAPTURED_NS);
    expect(parseNeighborSolicitation(padded)?.target).toEqual(VIP6);
  });

  test("a DAD solicitation (source ::) parses without a source link-layer option", () => {
    const dad = dadSolicitation(VIP6);
    expect(parseNeighborSolicitation(dad)).toMatchObject({ srcIP: { family: "IPv6", value: 0n }, target: VIP6, sourceLinkLayer: null });
  });
});

/** A DAD probe for `target` from 02:11:00:00:00:05: NS from :: to the solicited-node group, no options. */
function dadSolicitation(target: IPAddress): Uint8Array {
  // Build an NA-shaped frame and rewrite it: same layout up to the option, which a DAD NS must not carry.
  const frame = buildNeighborAdvertisement({
    srcMac: CLIENT,
    dstMac: solicitedNodeMulticastMac(target),
    srcIP: { family: "IPv6", value: 0n },
    dstIP: solicitedNodeAddress(target),
    target,
    solicited: false,
    override: false,
  });
  const ns = frame.slice(0, 14 + 40 + 24);
  ns[19] = 24; // payload length
  ns[54] = 135; // type NS
  ns[56] = 0;
  ns[57] = 0;
  const sum = icmpv6Checksum(ns, 14, 24);
  ns[56] = sum >> 8;
  ns[57] = sum & 0xff;
  return ns;
}

describe("round trips and fuzzing (parsers never throw)", () => {
  const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => macFromBytes(b));
  const v4Arb = fc.integer({ min: 0, max: 0xffffffff }).map((n): IPAddress => ({ family: "IPv4", value: BigInt(n) }));
  const v6Arb = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((value): IPAddress => ({ family: "IPv6", value }));
  const unicastV6Arb = v6Arb.filter((a) => a.value >> 120n !== 0xffn);

  test("ARP: build → parse is the identity", () => {
    fc.assert(
      fc.property(fc.constantFrom("request" as const, "reply" as const), macArb, v4Arb, macArb, v4Arb, (op, senderMac, senderIP, targetMac, targetIP) => {
        const pkt: ArpPacket = { op, senderMac, senderIP, targetMac, targetIP, ethSrc: senderMac, ethDst: targetMac };
        expect(parseArp(buildArp(pkt))).toEqual(pkt);
      }),
    );
  });

  test("NA: build → parse keeps every field, and the checksum verifies", () => {
    fc.assert(
      fc.property(fc.tuple(macArb, macArb), v6Arb, unicastV6Arb, unicastV6Arb, fc.boolean(), ([srcMac, dstMac], srcIP, dstIP, target, override) => {
        const frame = buildNeighborAdvertisement({ srcMac, dstMac, srcIP, dstIP, target, solicited: true, override });
        expect(parseNeighborAdvertisement(frame)).toEqual({
          ethSrc: srcMac,
          ethDst: dstMac,
          srcIP,
          dstIP,
          hopLimit: 255,
          target,
          router: false,
          solicited: true,
          override,
          targetLinkLayer: srcMac,
        });
      }),
    );
  });

  const parsers = [parseArp, parseNeighborSolicitation, parseNeighborAdvertisement];

  test("random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const parse of parsers) expect(() => parse(bytes)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  test("valid frames truncated or mutated at random never throw", () => {
    const seeds = [CAPTURED_ARP_REQUEST, CAPTURED_NS, CAPTURED_RS, GOLDEN_ARP_REPLY, GOLDEN_NA_SOLICITED, GOLDEN_UNSOLICITED_NA];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (seed, cut, edits) => {
        const frame = seed.slice(0, cut % (seed.length + 1));
        for (const [at, value] of edits) if (frame.length > 0) frame[at % frame.length] = value;
        for (const parse of parsers) expect(() => parse(frame)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });

  test("NDP options with bogus lengths never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (options) => {
        const base = CAPTURED_NS.subarray(0, 14 + 40 + 24);
        const frame = new Uint8Array(base.length + options.length);
        frame.set(base);
        frame.set(options, base.length);
        frame[18] = 0;
        frame[19] = 24 + options.length;
        frame[56] = 0;
        frame[57] = 0;
        const sum = icmpv6Checksum(frame, 14, 24 + options.length);
        frame[56] = sum >> 8;
        frame[57] = sum & 0xff;
        const parsed = parseNeighborSolicitation(frame);
        if (parsed !== null) expect(parsed.target).toEqual(VIP6);
      }),
      { numRuns: 1000 },
    );
  });
});
