import { describe, expect, test } from "@jest/globals";
import { type IPAddress } from "../net/ip.js";
import { buildArp, buildGratuitousArp, macFromBytes, parseNeighborAdvertisement } from "./packets.js";
import { answerArp, answerNeighborSolicitation } from "./respond.js";
import { CAPTURED_ARP_REQUEST, CAPTURED_NS, GOLDEN_ARP_REPLY, GOLDEN_NA_TO_CAPTURED_NS, toHex } from "./testdata/frames.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";

const NODE1 = "02:11:00:00:00:0b";
const owned = new Set(["10.111.0.200", "fd00:111::200"].map((t) => ip(t).value));
const owns = (a: IPAddress): boolean => owned.has(a.value);
const nobody = (): boolean => false;

describe("answerArp", () => {
  test("answers a broadcast request for an owned IP with the golden reply", () => {
    const d = answerArp(CAPTURED_ARP_REQUEST, NODE1, owns);
    expect(d.kind).toBe("reply");
    if (d.kind !== "reply") return;
    expect(toHex(d.frame)).toBe(toHex(GOLDEN_ARP_REPLY));
    expect(d.requester).toBe("02:11:00:00:00:05");
  });

  test("ignores IPs it does not own, replies, announcements and other stations' unicast", () => {
    expect(answerArp(CAPTURED_ARP_REQUEST, NODE1, nobody)).toEqual({ kind: "ignore", reason: "notOwned" });
    expect(answerArp(GOLDEN_ARP_REPLY, NODE1, owns)).toEqual({ kind: "ignore", reason: "notRequest" });
    expect(answerArp(buildGratuitousArp("02:11:00:00:00:0c", ip("10.111.0.200"), "request"), NODE1, owns)).toEqual({ kind: "ignore", reason: "gratuitous" });
    const unicastElsewhere = CAPTURED_ARP_REQUEST.slice();
    unicastElsewhere.set([2, 0x11, 0, 0, 0, 0x0c], 0);
    expect(answerArp(unicastElsewhere, NODE1, owns)).toEqual({ kind: "ignore", reason: "otherDestination" });
    expect(answerArp(CAPTURED_NS, NODE1, owns)).toEqual({ kind: "ignore", reason: "malformed" });
  });

  test("answers a unicast refresh to its own MAC and a DAD probe (sender 0.0.0.0)", () => {
    const refresh = buildArp({
      op: "request",
      senderMac: "02:11:00:00:00:05",
      senderIP: ip("10.111.0.5"),
      targetMac: NODE1,
      targetIP: ip("10.111.0.200"),
      ethSrc: "02:11:00:00:00:05",
      ethDst: NODE1,
    });
    expect(answerArp(refresh, NODE1.toUpperCase(), owns).kind).toBe("reply");
    const probe = buildArp({
      op: "request",
      senderMac: "02:11:00:00:00:05",
      senderIP: ip("0.0.0.0"),
      targetMac: "00:00:00:00:00:00",
      targetIP: ip("10.111.0.200"),
      ethSrc: "02:11:00:00:00:05",
      ethDst: "ff:ff:ff:ff:ff:ff",
    });
    const d = answerArp(probe, NODE1, owns);
    expect(d.kind === "reply" && macFromBytes(d.frame, 0)).toBe("02:11:00:00:00:05");
  });

  test("an invalid interface MAC is a caller bug", () => {
    expect(() => answerArp(CAPTURED_ARP_REQUEST, "x", owns)).toThrow(RangeError);
  });
});

describe("answerNeighborSolicitation", () => {
  test("answers ndisc6's solicitation with the golden NA", () => {
    const d = answerNeighborSolicitation(CAPTURED_NS, NODE1, owns);
    expect(d.kind).toBe("reply");
    if (d.kind !== "reply") return;
    expect(toHex(d.frame)).toBe(toHex(GOLDEN_NA_TO_CAPTURED_NS));
  });

  test("ignores targets it does not own and unicast to other stations", () => {
    expect(answerNeighborSolicitation(CAPTURED_NS, NODE1, nobody)).toEqual({ kind: "ignore", reason: "notOwned" });
    const elsewhere = CAPTURED_NS.slice();
    elsewhere.set([2, 0x11, 0, 0, 0, 0x0c], 0);
    expect(answerNeighborSolicitation(elsewhere, NODE1, owns)).toEqual({ kind: "ignore", reason: "otherDestination" });
    expect(answerNeighborSolicitation(CAPTURED_ARP_REQUEST, NODE1, owns)).toEqual({ kind: "ignore", reason: "malformed" });
  });

  test("uses the Ethernet source when the solicitation has no source link-layer option", () => {
    // Drop the option: payload length 24, recompute nothing else; the checksum changes, so rebuild it.
    const ns = CAPTURED_NS.slice(0, 14 + 40 + 24);
    ns[19] = 24;
    ns[56] = 0;
    ns[57] = 0;
    // checksum = previous checksum + option words (one's complement arithmetic)
    let sum = 0x77e0 ^ 0xffff;
    for (const w of [0x0101, 0x0211, 0x0000, 0x0005]) sum -= w;
    sum -= 8; // the length in the pseudo-header shrank by 8
    while (sum < 0) sum += 0xffff;
    const ck = (sum ^ 0xffff) & 0xffff;
    ns[56] = ck >> 8;
    ns[57] = ck & 0xff;
    const d = answerNeighborSolicitation(ns, NODE1, owns);
    expect(d.kind === "reply" ? parseNeighborAdvertisement(d.frame)?.ethDst : d).toBe("02:11:00:00:00:05");
  });
});
