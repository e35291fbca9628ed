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
    ["isolation not before death", { isolationPhiThreshold: 8 }, "isolationPhiThreshold must be below phiThreshold"],
    ["a cap below two intervals", { maxSuspectAfterMs: 150 }, "maxSuspectAfterMs must be at least 2 × intervalMs"],
    ["warm-up too short to hear peers", { warmupMs: 150 }, "warmupMs must be at least 2 × intervalMs"],
    ["hand-over shorter than an interval", { handoverMs: 50 }, "handoverMs must be at least intervalMs"],
    ["fractional window", { windowSize: 2.5 }, "windowSize must be an integer"],
  ])("%s", (_desc, timing, problem) => {
    const problems = livenessTimingProblems({ ...DEFAULT_LIVENESS_TIMING, ...timing });
    expect(problems.some((p) => p.startsWith(problem))).toBe(true);
    expect(() => new LivenessTracker({ self: "a", incarnation: 1, startMs: 0, timing })).toThrow(RangeError);
  });
});

const beat = (node: string, seq: number, extra: Partial<Heartbeat> = {}): Heartbeat => ({ node, incarnation: 1, seq, sentAtMs: 0, status: "ready", ...extra });
const sorted = (s: Set<string>): string[] => [...s].sort();

/** With the defaults and regular 100 ms gaps (std-dev at its 50 ms floor): dead after ≈ 661 ms, unheard after ≈ 553 ms. */
const DEAD_MS = 661;
const UNHEARD_MS = 553;

/** A tracker for "me" started at 0 that has heard "peer" every 100 ms until `until` (past warm-up and hand-over). */
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

  test("warming up: fenced and absent from its own view until warmupMs after start, then the hand-over hold", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 1000 });
    for (let now = 1000, seq = 1; now <= 1900; now += 100, seq++) t.observe(beat("peer", seq), now);
    expect(t.fenceStatus(1699)).toEqual({ fenced: true, reason: "warmingUp" });
    expect(sorted(t.alive(1699))).toEqual(["peer"]);
    expect(t.fenceStatus(1700)).toEqual({ fenced: true, reason: "handover" });
    expect(t.fenceStatus(1900)).toEqual({ fenced: false, reason: null });
    expect(sorted(t.alive(1900))).toEqual(["me", "peer"]);
  });

  test("awaitIdentity: warming up (standby, no pending change) until the run's identity is visible, then warmupMs from there", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0, awaitIdentity: true });
    expect(t.awaitingIdentity).toBe(true);
    expect(t.fenceStatus(5_000)).toEqual({ fenced: true, reason: "warmingUp" });
    expect(t.nextHeartbeat(5_000, 0).status).toBe("standby");
    expect(t.nextChangeAt(5_000)).toBeNull();
    expect(t.identityVisible(6_000)).toBe(true);
    expect(t.identityVisible(9_000)).toBe(false);
    expect(t.awaitingIdentity).toBe(false);
    expect(t.fenceStatus(6_699)).toEqual({ fenced: true, reason: "warmingUp" });
    expect(t.nextChangeAt(6_000)).toBe(6_700);
    expect(t.fenceStatus(6_700)).toEqual({ fenced: true, reason: "handover" });
    expect(t.fenceStatus(6_900)).toEqual({ fenced: false, reason: null });
  });

  test("awaitIdentity: visible before the warm-up would have ended changes nothing", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 1_000, awaitIdentity: true });
    t.identityVisible(1_200);
    expect(t.fenceStatus(1_899)).toEqual({ fenced: true, reason: "warmingUp" });
    expect(t.fenceStatus(2_100)).toEqual({ fenced: false, reason: null });
  });

  test("without awaitIdentity the warm-up runs from start (identityVisible is a no-op)", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    expect(t.identityVisible(500)).toBe(false);
    expect(t.fenceStatus(700)).toEqual({ fenced: true, reason: "handover" });
  });

  test("own heartbeats: seq increases, status follows the fence state", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 9, startMs: 0 });
    expect(t.nextHeartbeat(0, 5000)).toEqual({ node: "me", incarnation: 9, seq: 1, sentAtMs: 5000, status: "standby" });
    t.apiserverReachable(400);
    expect(t.nextHeartbeat(750, 5750)).toMatchObject({ seq: 2, status: "ready" }); // hand-over: peers must see "ready" first
    expect(t.fenced(750)).toBe(true);
    expect(t.apiserverUnreachable(800, 900)).toBe(true);
    expect(t.nextHeartbeat(950, 5950)).toMatchObject({ seq: 3, status: "standby" }); // isolated: no peer, apiserver down
    t.leave();
    expect(t.nextHeartbeat(960, 5960)).toMatchObject({ seq: 4, status: "leaving" });
    expect(t.fenceStatus(960)).toEqual({ fenced: true, reason: "leaving" });
  });

  test("a peer that beats every 100 ms is dead after ≈ 660 ms of silence (phi 8), not after a 300 ms stall of its own", () => {
    const t = settled(1000);
    t.apiserverReachable(1000); // the apiserver answers: "me" is never isolated here
    expect(sorted(t.alive(1000 + 400))).toEqual(["me", "peer"]); // a SIGSTOP of 300 ms leaves a gap of ≤ 400 ms
    expect(sorted(t.alive(1000 + DEAD_MS - 1))).toEqual(["me", "peer"]);
    expect(t.alive(1000 + DEAD_MS + 1).has("peer")).toBe(false);
    const [st] = t.peerStates(1000 + DEAD_MS + 1);
    expect(st).toMatchObject({ node: "peer", incarnation: 1, seq: 11, status: "ready", lastSeenMs: 1000, alive: false });
    expect(st?.phi).toBeGreaterThanOrEqual(8);
    expect(st?.suspectAfterMs).toBeCloseTo(661.3, 0);
  });

  test("adaptive: a peer whose heartbeats come irregularly (a busy node) gets more time, up to maxSuspectAfterMs", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    // Gaps alternating 20 and 380 ms (mean 200, std-dev 180): what a CPU-throttled sender looks like.
    let now = 0;
    for (let seq = 1; seq <= 60; seq++) {
      now += seq % 2 === 0 ? 20 : 380;
      t.observe(beat("peer", seq), now);
    }
    t.apiserverReachable(now);
    const [st] = t.peerStates(now);
    expect(st?.suspectAfterMs).toBeGreaterThan(1_400); // 200 + 300 + 5.2 × 180
    expect(t.alive(now + 1_200).has("peer")).toBe(true);
    // A pathological history never delays failover past the cap.
    const wild = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    now = 0;
    for (let seq = 1; seq <= 40; seq++) {
      now += seq % 2 === 0 ? 1 : 600;
      wild.observe(beat("peer", seq), now);
    }
    expect(wild.peerStates(now)[0]?.suspectAfterMs).toBeLessThanOrEqual(DEFAULT_LIVENESS_TIMING.maxSuspectAfterMs);
  });

  test("stall tolerance: time this process was stalled is not counted against peers", () => {
    const t = settled(1000);
    t.apiserverReachable(1000);
    // This process is stopped from 1050 to 1650 (a timer due at 1050 fires at 1650): the peer's heartbeats wait in
    // the socket buffer. Without the stall the peer would be dead at 1661.
    expect(t.noteStall(1050, 1650)).toBe(true);
    expect(t.alive(1700).has("peer")).toBe(true);
    expect(t.nextChangeAt(1700)).toBeGreaterThan(1000 + 600 + UNHEARD_MS - 1);
    // The buffered heartbeats arrive: the long gap is not learned (the window stays at 100 ms gaps).
    t.observe(beat("peer", 12), 1700);
    t.observe(beat("peer", 13), 1701);
    expect(t.peerStates(1701)[0]?.suspectAfterMs).toBeLessThan(700);
    // A truly dead peer is still detected, just that much later.
    expect(t.alive(1701 + DEAD_MS + 1).has("peer")).toBe(false);
  });

  test.each<[desc: string, from: number, to: number, counted: boolean, total: number]>([
    ["late by less than stallMinMs: not a stall", 1000, 1049, false, 0],
    ["late by stallMinMs", 1000, 1050, true, 50],
  ])("noteStall: %s", (_desc, from, to, counted, total) => {
    const t = settled(1000);
    expect(t.noteStall(from, to)).toBe(counted);
    expect(t.stalledMs).toBe(total);
  });

  test("noteStall: two timers late through the same stall count it once", () => {
    const t = settled(1000);
    t.noteStall(1000, 1400);
    t.noteStall(1100, 1400);
    t.noteStall(1300, 1450);
    expect(t.stalledMs).toBe(450);
  });

  test("standby peers count as contact but are not candidates; leaving peers are dead at once", () => {
    const t = settled(1000);
    t.apiserverUnreachable(1000, 1000);
    t.observe(beat("peer", 12, { status: "standby" }), 1100);
    expect(sorted(t.alive(1100))).toEqual(["me"]);
    expect(t.fenced(1300)).toBe(false); // heard at 1100
    t.observe(beat("peer", 13), 1200);
    expect(sorted(t.alive(1200))).toEqual(["me", "peer"]);
    t.observe(beat("peer", 14, { status: "leaving" }), 1250);
    expect(t.alive(1250).has("peer")).toBe(false);
    // A leaving peer is no contact either: with the apiserver still unreachable this node is now isolated.
    expect(t.fenceStatus(1250)).toEqual({ fenced: true, reason: "isolated" });
  });

  test.each<[desc: string, hb: Partial<Heartbeat>, want: string]>([
    ["same seq", { seq: 11 }, "replay"],
    ["older seq", { seq: 3 }, "replay"],
    ["next seq", { seq: 12 }, "accepted"],
    ["gap in seq", { seq: 50 }, "accepted"],
    ["new incarnation, seq restarts", { incarnation: 2, seq: 1 }, "accepted"],
    ["older incarnation", { incarnation: 0, seq: 100 }, "staleIncarnation"],
    ["own name", { node: "me", seq: 100 }, "self"],
  ])("sequence numbers: %s", (_desc, hb, want) => {
    const t = settled(1000);
    expect(t.observe(beat("peer", 0, hb), 1050)).toBe(want);
  });

  test("replays neither revive a dead peer nor count as contact", () => {
    const t = settled(1000);
    t.apiserverUnreachable(1500, 1500);
    expect(t.observe(beat("peer", 5), 1800)).toBe("replay");
    expect(t.alive(1800).has("peer")).toBe(false);
    expect(t.fenceStatus(1800)).toEqual({ fenced: true, reason: "isolated" });
  });

  test("no replay of an earlier run, even after the current run died", () => {
    const t = settled(1000);
    t.apiserverReachable(1000);
    expect(t.observe(beat("peer", 1, { incarnation: 2 }), 1100)).toBe("accepted"); // the peer restarted
    // Its new run dies; recorded heartbeats of the first run are replayed long after.
    expect(t.observe(beat("peer", 500, { incarnation: 1 }), 5000)).toBe("staleIncarnation");
    expect(t.alive(5000).has("peer")).toBe(false);
  });

  test("the incarnation published in the API: older runs are refused even by a tracker that never heard them", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    expect(t.setPublishedIncarnation("peer", 7)).toBe(true);
    expect(t.setPublishedIncarnation("peer", 6)).toBe(false);
    expect(t.observe(beat("peer", 100, { incarnation: 6 }), 10)).toBe("staleIncarnation");
    expect(t.observe(beat("peer", 1, { incarnation: 7 }), 20)).toBe("accepted");
    expect(t.observe(beat("peer", 1, { incarnation: 7 }), 30)).toBe("replay");
    // A newer run published: what was tracked of run 7 is forgotten and its heartbeats refused.
    expect(t.setPublishedIncarnation("peer", 8)).toBe(true);
    expect(t.peerStates(30)).toEqual([]);
    expect(t.observe(beat("peer", 2, { incarnation: 7 }), 40)).toBe("staleIncarnation");
    expect(t.setPublishedIncarnation("me", 99)).toBe(false);
  });

  test("own incarnation: above the previous run's published one, fixed once heartbeats went out", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1_000, startMs: 0 });
    t.adoptIncarnationAbove(500); // clock fine: unchanged
    expect(t.incarnation).toBe(1_000);
    t.adoptIncarnationAbove(2_000); // clock went back since the previous run
    expect(t.incarnation).toBe(2_001);
    expect(t.nextHeartbeat(0, 0).incarnation).toBe(2_001);
    expect(() => t.adoptIncarnationAbove(5_000)).toThrow();
  });

  test("fencing needs evidence of isolation: no peer heard AND the apiserver unreachable", () => {
    const t = settled(1000);
    // Silent peers alone (the apiserver never failed a probe): not fenced, e.g. every peer really died.
    expect(t.fenced(5000)).toBe(false);
    // A failed probe while a peer is heard: not fenced (the apiserver is down, the LAN is fine).
    const u = settled(1000);
    u.apiserverUnreachable(1000, 1050);
    expect(u.fenced(1100)).toBe(false);
    expect(u.fenced(1000 + UNHEARD_MS - 1)).toBe(false);
    // Both: fenced from the moment the peer is no longer heard, before the peer gives up on this node.
    expect(u.fenceStatus(1000 + UNHEARD_MS + 1)).toEqual({ fenced: true, reason: "isolated" });
    expect(UNHEARD_MS).toBeLessThan(DEAD_MS);
    // Any apiserver answer after the failure ends it (then the hand-over hold).
    u.apiserverReachable(1700);
    expect(u.fenceStatus(1700)).toEqual({ fenced: true, reason: "handover" });
    expect(u.fenced(1900)).toBe(false);
  });

  test("a probe that timed out while this process was stalled is not evidence", () => {
    const t = settled(1000);
    t.noteStall(1100, 1400);
    expect(t.apiserverUnreachable(1050, 1600)).toBe(false);
    expect(t.fenced(3000)).toBe(false);
    expect(t.apiserverUnreachable(1500, 2000)).toBe(true);
    expect(t.fenced(3000)).toBe(true);
  });

  test("after a fence, a peer's heartbeat makes the node ready but it waits handoverMs before claiming", () => {
    const t = settled(1000);
    t.apiserverUnreachable(1500, 1500);
    expect(t.fenced(2000)).toBe(true);
    t.observe(beat("peer", 30), 2000);
    expect(t.fenceStatus(2000)).toEqual({ fenced: true, reason: "handover" });
    expect(t.nextHeartbeat(2000, 0).status).toBe("ready");
    t.observe(beat("peer", 31), 2100);
    expect(t.fenceStatus(2199)).toEqual({ fenced: true, reason: "handover" });
    expect(t.fenced(2200)).toBe(false);
  });

  test("nextChangeAt: the next warm-up end, hand-over end, peer unheard or peer death", () => {
    const t = new LivenessTracker({ self: "me", incarnation: 1, startMs: 0 });
    expect(t.nextChangeAt(0)).toBe(700); // warm-up end
    t.observe(beat("peer", 1), 100);
    expect(t.nextChangeAt(100)).toBeCloseTo(100 + 552.9, 0); // peer unheard
    expect(t.nextChangeAt(653)).toBe(700);
    expect(t.nextChangeAt(700)).toBeCloseTo(100 + 661.3, 0); // peer dead
    expect(t.nextChangeAt(762)).toBe(900); // hand-over end
    expect(t.nextChangeAt(900)).toBeNull();
    t.observe(beat("peer", 2, { status: "leaving" }), 950);
    expect(t.nextChangeAt(950)).toBeNull();
  });
});
