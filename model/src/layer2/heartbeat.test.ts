import { createHmac } from "node:crypto";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import {
  decodeHeartbeat,
  DEFAULT_LIVENESS_TIMING,
  encodeHeartbeat,
  heartbeatLength,
  livenessTimingProblems,
  LivenessTracker,
  type Heartbeat,
  type HeartbeatDecodeError,
  type HeartbeatFields,
  type LivenessTiming,
} from "./heartbeat.js";

const KEY = new Uint8Array(32).map((_, i) => i * 3 + 1);
const OTHER_KEY = new Uint8Array(32).fill(7);

const HB: Heartbeat = Object.freeze({ node: "node1", incarnation: 1_700_000_000_000, seq: 42, sentAtMs: 1_700_000_123_456, status: "ready" });

/** Re-signs raw message bytes with node:crypto (an independent HMAC), to build well-authenticated malformed messages. */
function resign(bytes: Uint8Array, key: Uint8Array = KEY): Uint8Array {
  const out = Uint8Array.from(bytes);
  const end = out.length - 16;
  out.set(createHmac("sha256", key).update(out.subarray(0, end)).digest().subarray(0, 16), end);
  return out;
}

function mutate(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] = value;
  return out;
}

describe("heartbeat codec", () => {
  test("wire layout", () => {
    const bytes = encodeHeartbeat({ node: "n1", incarnation: 0x0102030405, seq: 7, sentAtMs: 2 ** 53 - 1, status: "standby" }, KEY);
    expect(bytes.length).toBe(heartbeatLength(2));
    expect(Buffer.from(bytes.subarray(0, bytes.length - 16)).toString("hex")).toBe(
      [
        "4c324842", // magic "L2HB"
        "01", // version
        "01", // status standby
        "02", // node name length
        "6e31", // "n1"
        "0000000102030405", // incarnation
        "0000000000000007", // seq
        "001fffffffffffff", // sentAtMs = 2^53 - 1
      ].join(""),
    );
    expect(Buffer.from(bytes.subarray(bytes.length - 16)).toString("hex")).toBe(
      createHmac("sha256", KEY)
        .update(bytes.subarray(0, bytes.length - 16))
        .digest("hex")
        .slice(0, 32),
    );
  });

  test.each<[desc: string, fields: HeartbeatFields, want: Heartbeat]>([
    [
      "status defaults to ready",
      { node: "node1", incarnation: 1, seq: 1, sentAtMs: 0 },
      { node: "node1", incarnation: 1, seq: 1, sentAtMs: 0, status: "ready" },
    ],
    ["standby", { ...HB, status: "standby" }, { ...HB, status: "standby" }],
    ["leaving", { ...HB, status: "leaving" }, { ...HB, status: "leaving" }],
    ["zeros", { node: "a", incarnation: 0, seq: 0, sentAtMs: 0 }, { node: "a", incarnation: 0, seq: 0, sentAtMs: 0, status: "ready" }],
    [
      "largest values",
      { node: "n".repeat(253), incarnation: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, sentAtMs: Number.MAX_SAFE_INTEGER },
      { node: "n".repeat(253), incarnation: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, sentAtMs: Number.MAX_SAFE_INTEGER, status: "ready" },
    ],
    ["a typical FQDN node name", { ...HB, node: "ip-10-0-1-23.eu-west-1.compute.internal" }, { ...HB, node: "ip-10-0-1-23.eu-west-1.compute.internal" }],
  ])("round trip: %s", (_desc, fields, want) => {
    expect(decodeHeartbeat(encodeHeartbeat(fields, KEY), KEY)).toEqual({ ok: true, hb: want });
  });

  test("decodes from a view into a larger buffer (a Buffer slice)", () => {
    const bytes = encodeHeartbeat(HB, KEY);
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 5);
    expect(decodeHeartbeat(big.subarray(5, 5 + bytes.length), KEY)).toEqual({ ok: true, hb: HB });
  });

  test("key rotation: valid under any of the given keys", () => {
    const bytes = encodeHeartbeat(HB, OTHER_KEY);
    expect(decodeHeartbeat(bytes, [KEY, OTHER_KEY])).toEqual({ ok: true, hb: HB });
    expect(decodeHeartbeat(bytes, [KEY])).toEqual({ ok: false, reason: "badMac" });
    expect(decodeHeartbeat(bytes, [])).toEqual({ ok: false, reason: "badMac" });
  });

  test("short keys are refused when encoding and never match when decoding", () => {
    const short = new Uint8Array(15);
    expect(() => encodeHeartbeat(HB, short)).toThrow(RangeError);
    expect(decodeHeartbeat(resign(encodeHeartbeat(HB, KEY), short), short)).toEqual({ ok: false, reason: "badMac" });
  });

  test.each<[desc: string, fields: HeartbeatFields]>([
    ["empty node name", { ...HB, node: "" }],
    ["node name too long", { ...HB, node: "n".repeat(254) }],
    ["node name with a space", { ...HB, node: "node 1" }],
    ["non-ASCII node name", { ...HB, node: "nöde" }],
    ["negative seq", { ...HB, seq: -1 }],
    ["fractional sentAtMs", { ...HB, sentAtMs: 1.5 }],
    ["unsafe incarnation", { ...HB, incarnation: 2 ** 53 }],
    ["NaN seq", { ...HB, seq: Number.NaN }],
  ])("encode refuses %s", (_desc, fields) => {
    expect(() => encodeHeartbeat(fields, KEY)).toThrow(RangeError);
  });

  const valid = encodeHeartbeat(HB, KEY);
  const n = HB.node.length;
  test.each<[desc: string, bytes: Uint8Array, want: HeartbeatDecodeError]>([
    ["empty", new Uint8Array(0), "truncated"],
    ["shorter than the header", valid.subarray(0, 6), "truncated"],
    ["cut before the MAC", valid.subarray(0, valid.length - 16), "truncated"],
    ["one byte missing", valid.subarray(0, valid.length - 1), "truncated"],
    ["one byte too many", Uint8Array.from([...valid, 0]), "malformed"],
    ["wrong magic", mutate(valid, 0, 0x4d), "badMagic"],
    ["unknown version", mutate(valid, 4, 2), "badVersion"],
    ["node name length 0", resign(mutate(valid, 6, 0)), "malformed"],
    ["wrong key", encodeHeartbeat(HB, OTHER_KEY), "badMac"],
    ["payload changed", mutate(valid, 7, 0x6f), "badMac"],
    ["seq changed", mutate(valid, 7 + n + 15, 43), "badMac"],
    ["MAC changed", mutate(valid, valid.length - 1, (valid[valid.length - 1] ?? 0) ^ 1), "badMac"],
    ["status changed to leaving without the key", mutate(valid, 5, 2), "badMac"],
    ["authenticated but unknown status", resign(mutate(valid, 5, 3)), "malformed"],
    ["authenticated but control character in the name", resign(mutate(valid, 7, 0x0a)), "malformed"],
    ["authenticated but seq above 2^53-1", resign(mutate(valid, 7 + n + 8, 0x00 | 0x20)), "malformed"],
  ])("decode rejects: %s", (_desc, bytes, want) => {
    expect(decodeHeartbeat(bytes, KEY)).toEqual({ ok: false, reason: want });
  });
});

describe("heartbeat codec: fuzz", () => {
  const fields = fc.record({
    node: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,62}$/),
    incarnation: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    sentAtMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    status: fc.constantFrom("ready" as const, "standby" as const, "leaving" as const),
  });

  test("arbitrary bytes never throw and never decode", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(decodeHeartbeat(bytes, KEY).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  test("arbitrary bytes behind a valid header never decode", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (len, rest) => {
        expect(decodeHeartbeat(Uint8Array.from([0x4c, 0x32, 0x48, 0x42, 1, 0, len, ...rest]), KEY).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  test("round trip of arbitrary fields", () => {
    fc.assert(
      fc.property(fields, (hb) => {
        expect(decodeHeartbeat(encodeHeartbeat(hb, KEY), KEY)).toEqual({ ok: true, hb });
      }),
      { numRuns: 200 },
    );
  });

  test("every truncation is rejected", () => {
    fc.assert(
      fc.property(fields, (hb) => {
        const bytes = encodeHeartbeat(hb, KEY);
        for (let len = 0; len < bytes.length; len++) expect(decodeHeartbeat(bytes.subarray(0, len), KEY).ok).toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  test("every single-bit flip is rejected", () => {
    fc.assert(
      fc.property(fields, (hb) => {
        const bytes = encodeHeartbeat(hb, KEY);
        for (let bit = 0; bit < bytes.length * 8; bit++) {
          const flipped = mutate(bytes, bit >> 3, (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7)));
          expect(decodeHeartbeat(flipped, KEY).ok).toBe(false);
        }
        expect(decodeHeartbeat(bytes, KEY).ok).toBe(true);
      }),
      { numRuns: 20 },
    );
  });
});

describe("liveness timing", () => {
  test("the defaults are valid", () => {
    expect(livenessTimingProblems(DEFAULT_LIVENESS_TIMING)).toEqual([]);
  });

  test.each<[desc: string, timing: Partial<LivenessTiming>, problem: string]>([
    ["zero interval", { intervalMs: 0 }, "intervalMs must be a positive number"],
    ["fence not after one lost heartbeat", { fenceAfterMs: 150 }, "fenceAfterMs must be at least 2 × intervalMs"],
    ["fence too late to withdraw before takeover", { deadAfterMs: 350 }, "fenceAfterMs + intervalMs must be below deadAfterMs"],
    ["hand-over shorter than an interval", { handoverMs: 50 }, "handoverMs must be at least intervalMs"],
  ])("%s", (_desc, timing, problem) => {
    const problems = livenessTimingProblems({ ...DEFAULT_LIVENESS_TIMING, ...timing });
    expect(problems.some((p) => p.startsWith(problem))).toBe(true);
    expect(() => new LivenessTracker({ self: "a", incarnation: 1, startMs: 0, timing })).toThrow(RangeError);
  });
});

const beat = (node: string, seq: number, extra: Partial<Heartbeat> = {}): Heartbeat => ({ node, incarnation: 1, seq, sentAtMs: 0, status: "ready", ...extra });
const sorted = (s: Set<string>): string[] => [...s].sort();

/** A tracker for "me" started at 0 that has heard "peer" regularly until `until` (so it is past warm-up and hand-over). */
function settled(until = 1000): LivenessTracker {
  const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
  for (let now = 0, seq = 1; now <= until; now += 100, seq++) t.observe(beat("peer", seq), now);
  return t;
}

describe("LivenessTracker", () => {
  test("time since contact: a peer's heartbeat counts as contact, so the apiserver need not be asked", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    expect(t.msSinceContact(0)).toBe(Number.POSITIVE_INFINITY);
    t.apiserverReachable(100);
    expect(t.msSinceContact(150)).toBe(50);
    t.observe(beat("peer", 1), 300);
    expect(t.msSinceContact(320)).toBe(20);
    // A replayed heartbeat is no contact.
    t.observe(beat("peer", 1), 400);
    expect(t.msSinceContact(420)).toBe(120);
  });

  test("warming up: fenced and absent from its own view until deadAfterMs after start", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 1000 });
    t.observe(beat("peer", 1), 1000);
    t.observe(beat("peer", 2), 1400);
    expect(t.fenceStatus(1449)).toEqual({ fenced: true, reason: "warmingUp" });
    expect(sorted(t.alive(1449))).toEqual(["peer"]);
    expect(t.fenceStatus(1450)).toEqual({ fenced: true, reason: "handover" });
    t.observe(beat("peer", 3), 1600);
    expect(t.fenceStatus(1650)).toEqual({ fenced: false, reason: null });
    expect(sorted(t.alive(1650))).toEqual(["me", "peer"]);
  });

  test("own heartbeats: seq increases, status follows the fence state", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 9, startMs: 0 });
    expect(t.nextHeartbeat(0, 5000)).toEqual({ node: "me", incarnation: 9, seq: 1, sentAtMs: 5000, status: "standby" });
    t.apiserverReachable(400);
    expect(t.nextHeartbeat(450, 5450)).toMatchObject({ seq: 2, status: "ready" }); // hand-over: peers must see "ready" first
    expect(t.fenced(450)).toBe(true);
    expect(t.nextHeartbeat(700, 5700)).toMatchObject({ seq: 3, status: "standby" }); // isolated since 650
    t.leave();
    expect(t.nextHeartbeat(710, 5710)).toMatchObject({ seq: 4, status: "leaving" });
    expect(t.fenceStatus(710)).toEqual({ fenced: true, reason: "leaving" });
  });

  test("a peer is alive while its last heartbeat is younger than deadAfterMs", () => {
    const t = settled(1000);
    t.apiserverReachable(1200); // keeps "me" unfenced; liveness of the peer is about its own heartbeats
    expect(sorted(t.alive(1449))).toEqual(["me", "peer"]);
    expect(t.peerStates(1449)).toEqual([{ node: "peer", incarnation: 1, seq: 11, status: "ready", lastSeenMs: 1000, alive: true }]);
    expect(t.alive(1450).has("peer")).toBe(false);
  });

  test("standby peers count as contact but are not candidates; leaving peers are dead at once", () => {
    const t = settled(1000);
    t.observe(beat("peer", 12, { status: "standby" }), 1100);
    expect(sorted(t.alive(1100))).toEqual(["me"]);
    expect(t.fenced(1300)).toBe(false); // contact at 1100
    t.observe(beat("peer", 13), 1200);
    expect(sorted(t.alive(1200))).toEqual(["me", "peer"]);
    t.observe(beat("peer", 14, { status: "leaving" }), 1250);
    expect(sorted(t.alive(1250))).toEqual(["me"]);
  });

  test.each<[desc: string, hb: Partial<Heartbeat>, want: string]>([
    ["same seq", { seq: 11 }, "replay"],
    ["older seq", { seq: 3 }, "replay"],
    ["next seq", { seq: 12 }, "accepted"],
    ["gap in seq", { seq: 50 }, "accepted"],
    ["new incarnation, seq restarts", { incarnation: 2, seq: 1 }, "accepted"],
    ["older incarnation while the current one is alive", { incarnation: 0, seq: 100 }, "staleIncarnation"],
    ["own name", { node: "me", seq: 100 }, "self"],
  ])("sequence numbers: %s", (_desc, hb, want) => {
    const t = settled(1000);
    expect(t.observe(beat("peer", 0, hb), 1050)).toBe(want);
  });

  test("replays neither revive a dead peer nor count as contact", () => {
    const t = settled(1000);
    expect(t.observe(beat("peer", 5), 1600)).toBe("replay");
    expect(t.alive(1600).has("peer")).toBe(false);
    expect(t.fenceStatus(1600)).toEqual({ fenced: true, reason: "isolated" });
  });

  test("a restarted peer whose clock went back is accepted once its previous run is dead", () => {
    const t = settled(1000);
    expect(t.observe(beat("peer", 1, { incarnation: 0 }), 1449)).toBe("staleIncarnation");
    expect(t.observe(beat("peer", 1, { incarnation: 0 }), 1450)).toBe("accepted");
    expect(t.observe(beat("peer", 2, { incarnation: 0 }), 1500)).toBe("accepted");
    expect(t.observe(beat("peer", 12, { incarnation: 1 }), 1550)).toBe("accepted"); // and the old run wins back if it was alive after all
  });

  test("fenced after fenceAfterMs without peer heartbeat or apiserver contact", () => {
    const t = settled(1000);
    expect(t.fenced(1249)).toBe(false);
    expect(t.fenceStatus(1250)).toEqual({ fenced: true, reason: "isolated" });
    expect(t.alive(1250).has("me")).toBe(false);
  });

  test("apiserver contact alone keeps the node unfenced (e.g. all peers really died)", () => {
    const t = settled(1000);
    for (let now = 1200; now <= 3000; now += 200) t.apiserverReachable(now);
    expect(sorted(t.alive(3000))).toEqual(["me"]);
    expect(t.fenced(3000)).toBe(false);
    expect(t.fenced(3250)).toBe(true);
  });

  test("after a fence, contact makes the node ready but it waits handoverMs before claiming", () => {
    const t = settled(1000);
    expect(t.fenced(2000)).toBe(true);
    t.observe(beat("peer", 30), 2000);
    expect(t.fenceStatus(2000)).toEqual({ fenced: true, reason: "handover" });
    expect(t.nextHeartbeat(2000, 0).status).toBe("ready");
    t.observe(beat("peer", 31), 2100);
    expect(t.fenceStatus(2199)).toEqual({ fenced: true, reason: "handover" });
    expect(t.fenced(2200)).toBe(false);
  });

  test("a short gap (below fenceAfterMs) does not restart the hand-over", () => {
    const t = settled(1000);
    t.observe(beat("peer", 12), 1240);
    expect(t.fenced(1240)).toBe(false);
  });

  test("nextChangeAt: the next peer expiry, fence or hand-over end", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    expect(t.nextChangeAt(0)).toBe(450); // warm-up end
    t.observe(beat("peer", 1), 100);
    expect(t.nextChangeAt(100)).toBe(350); // fence (no contact since 100)
    t.observe(beat("peer", 2), 300);
    t.observe(beat("other", 1), 320);
    expect(t.nextChangeAt(320)).toBe(450); // warm-up end
    expect(t.nextChangeAt(450)).toBe(570); // fence: 320 + 250
    t.observe(beat("peer", 3), 400);
    t.observe(beat("other", 2), 420);
    expect(t.nextChangeAt(450)).toBe(650); // hand-over end: 450 + 200
    expect(t.nextChangeAt(650)).toBe(670); // fence: 420 + 250
    expect(t.nextChangeAt(800)).toBe(850); // peer expires: 400 + 450
    expect(t.nextChangeAt(850)).toBe(870); // other expires
    expect(t.nextChangeAt(870)).toBeNull();
  });
});
