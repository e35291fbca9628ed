import { describe, expect, test } from "@jest/globals";
import {
  checkElectionTimings,
  decideLease,
  leaderMayWrite,
  observeLease,
  observedExpiresInMs,
  releasedLease,
  type LeaseDecision,
  type LeaseObservation,
  type LeaseState,
} from "./lease.js";

const held = (holder: string, renewTimeMs: number, transitions = 0): LeaseState =>
  Object.freeze({ holderIdentity: holder, renewTimeMs, acquireTimeMs: 1000, leaseDurationSeconds: 15, leaseTransitions: transitions });
const seen = (record: LeaseState, observedAtMs: number): LeaseObservation => Object.freeze({ record, observedAtMs });
const HOUR = 3_600_000;

describe("decideLease", () => {
  // [description, lease as read, observation before this read (undefined: never read), me, wall ms, mono ms, want]
  test.each<[string, LeaseState | undefined, LeaseObservation | undefined, string, number, number, LeaseDecision]>([
    [
      "no lease: create it",
      undefined,
      undefined,
      "a",
      5000,
      10,
      { action: "create", lease: { holderIdentity: "a", renewTimeMs: 5000, acquireTimeMs: 5000, leaseDurationSeconds: 15, leaseTransitions: 0 } },
    ],
    [
      "own lease: renew, keep acquire time and transitions",
      held("a", 2000, 2),
      seen(held("a", 2000, 2), 0),
      "a",
      5000,
      10,
      { action: "update", acquired: false, lease: { ...held("a", 2000, 2), renewTimeMs: 5000 } },
    ],
    ["other's lease, first read: wait a whole lease from now", held("b", 2000), undefined, "a", 5000, 100, { action: "wait", holder: "b", expiresInMs: 15000 }],
    [
      "other's lease changed since last read: the wait restarts",
      held("b", 4000),
      seen(held("b", 2000), 0),
      "a",
      5000,
      14_000,
      { action: "wait", holder: "b", expiresInMs: 15000 },
    ],
    [
      "other's lease unchanged for less than its duration: wait the rest",
      held("b", 2000),
      seen(held("b", 2000), 1000),
      "a",
      99_999,
      11_000,
      { action: "wait", holder: "b", expiresInMs: 5000 },
    ],
    [
      "other's lease unchanged for exactly its duration: take over",
      held("b", 2000, 3),
      seen(held("b", 2000, 3), 1000),
      "a",
      50_000,
      16_000,
      {
        action: "update",
        acquired: true,
        lease: { holderIdentity: "a", renewTimeMs: 50_000, acquireTimeMs: 50_000, leaseDurationSeconds: 15, leaseTransitions: 4 },
      },
    ],
    [
      "released lease: take over at once, even on first read",
      releasedLease(held("b", 2000, 1), 4000),
      undefined,
      "a",
      4001,
      7,
      {
        action: "update",
        acquired: true,
        lease: { holderIdentity: "a", renewTimeMs: 4001, acquireTimeMs: 4001, leaseDurationSeconds: 15, leaseTransitions: 2 },
      },
    ],
    // Skewed wall clocks: the renewTime in the record says nothing about expiry.
    [
      "holder's clock 1 h behind (renewTime long past by my clock), record just changed: wait",
      held("b", 10_000 - HOUR),
      seen(held("b", 8_000 - HOUR), 0),
      "a",
      10_000,
      2_000,
      { action: "wait", holder: "b", expiresInMs: 15000 },
    ],
    [
      "my clock 1 h ahead, other's record just read for the first time: wait",
      held("b", 10_000),
      undefined,
      "a",
      10_000 + HOUR,
      2_000,
      { action: "wait", holder: "b", expiresInMs: 15000 },
    ],
    [
      "holder's clock 1 h ahead (renewTime in my future) and its record frozen a lease long: take over",
      held("b", 10_000 + HOUR, 5),
      seen(held("b", 10_000 + HOUR, 5), 0),
      "a",
      25_000,
      15_000,
      {
        action: "update",
        acquired: true,
        lease: { holderIdentity: "a", renewTimeMs: 25_000, acquireTimeMs: 25_000, leaseDurationSeconds: 15, leaseTransitions: 6 },
      },
    ],
  ])("%s", (...row) => {
    const [, current, before, me, wallMs, monoMs, want] = row;
    const obs = current === undefined ? undefined : observeLease(before, current, monoMs);
    expect(decideLease(current, obs, me, { wallMs, monoMs }, 15)).toEqual(want);
  });

  test("observeLease keeps the time of the last change, and stamps a changed record", () => {
    const first = observeLease(undefined, held("b", 2000), 100);
    expect(first).toEqual({ record: held("b", 2000), observedAtMs: 100 });
    expect(observeLease(first, held("b", 2000), 900)).toBe(first);
    expect(observeLease(first, held("b", 2001), 900)).toEqual({ record: held("b", 2001), observedAtMs: 900 });
    expect(observeLease(first, { ...held("b", 2000), leaseTransitions: 1 }, 950).observedAtMs).toBe(950);
    expect(observedExpiresInMs(first, 15_100)).toBe(0);
    expect(observedExpiresInMs(seen(releasedLease(held("b", 1), 2), 0), 0)).toBe(0);
  });

  test("leaderMayWrite: strictly before the renew deadline after the last successful renewal started", () => {
    expect(leaderMayWrite(1000, 10_999, 10_000)).toBe(true);
    expect(leaderMayWrite(1000, 11_000, 10_000)).toBe(false);
  });

  test.each([
    [15, 10_000, 2_000, undefined],
    [3, 2_000, 250, undefined],
    [10, 10_000, 2_000, "the lease duration (10 s) must be longer than the renew deadline (10000 ms)"],
    [15, 2_000, 2_000, "the renew deadline (2000 ms) must be longer than 1.2 × the retry period (2000 ms)"],
  ])("checkElectionTimings(%d s, %d ms, %d ms)", (lease, deadline, retry, want) => {
    expect(checkElectionTimings(lease, deadline, retry)).toEqual(want);
  });
});

// Two replicas run rounds against one record with compare-and-swap, each with its own wall clock offset and the
// shared monotonic time: the invariants (at most one writer at a time, takeover after the holder stops) hold whatever
// the skew.
describe("two replicas with skewed wall clocks", () => {
  interface Replica {
    id: string;
    skewMs: number;
    alive: boolean;
    obs?: LeaseObservation;
    lastRenewStart?: number;
  }
  const LEASE_S = 15;
  const DEADLINE = 10_000;
  const RETRY = 2_000;
  const WALL0 = 1_800_000_000_000;

  /** Runs `rounds` retry periods; `until(round)` tells whether a replica is alive. Returns who wrote in each round. */
  function simulate(replicas: Replica[], rounds: number, alive: (r: Replica, round: number) => boolean): { writers: string[][]; leaders: string[][] } {
    let record: LeaseState | undefined;
    const writers: string[][] = [];
    const leaders: string[][] = [];
    for (let round = 0; round < rounds; round++) {
      const mono = round * RETRY;
      const wrote: string[] = [];
      for (const r of replicas) {
        r.alive = alive(r, round);
        if (!r.alive) continue;
        const current = record;
        if (current !== undefined) r.obs = observeLease(r.obs, current, mono);
        const d = decideLease(current, r.obs, r.id, { wallMs: WALL0 + mono + r.skewMs, monoMs: mono }, LEASE_S);
        if (d.action === "wait") continue;
        record = d.lease;
        r.obs = observeLease(r.obs, d.lease, mono);
        r.lastRenewStart = mono;
        wrote.push(r.id);
      }
      writers.push(wrote);
      // Who may act as leader at the end of this round (by its own local deadline).
      leaders.push(
        replicas
          .filter(
            (r) => r.alive && r.lastRenewStart !== undefined && r.obs?.record.holderIdentity === r.id && leaderMayWrite(r.lastRenewStart, mono + 1, DEADLINE),
          )
          .map((r) => r.id),
      );
    }
    return { writers, leaders };
  }

  test.each([
    ["no skew", 0, 0],
    ["standby's clock 1 h ahead", 0, HOUR],
    ["standby's clock 1 h behind", 0, -HOUR],
    ["leader's clock 1 h ahead", HOUR, 0],
    ["leader's clock 1 h behind", -HOUR, 0],
  ])("%s: the standby never takes a live lease, and takes a dead leader's within a lease duration plus a retry", (_d, leaderSkew, standbySkew) => {
    const a: Replica = { id: "a", skewMs: leaderSkew, alive: true };
    const b: Replica = { id: "b", skewMs: standbySkew, alive: true };
    // a starts first and leads; it dies at round 30 (60 s); b keeps going.
    const { writers, leaders } = simulate([a, b], 60, (r, round) => (r.id === "b" ? round >= 1 : round < 30));
    expect(
      writers
        .slice(0, 30)
        .flat()
        .filter((w) => w === "b"),
    ).toEqual([]);
    const takeover = writers.findIndex((w) => w.includes("b"));
    // a's last renewal was at round 29 (58 s); b saw it then, so it takes over at 58 s + 15 s, rounded up to a round.
    expect(takeover).toBe(29 + Math.ceil((LEASE_S * 1000) / RETRY));
    for (const l of leaders) expect(l.length).toBeLessThanOrEqual(1);
    expect(leaders[59]).toEqual(["b"]);
  });
});
