import { describe, expect, test } from "@jest/globals";
import { decideLease, leaseHeld, releasedLease, type LeaseState } from "./lease.js";

const held = (holder: string, renewTimeMs: number, transitions = 0): LeaseState =>
  Object.freeze({ holderIdentity: holder, renewTimeMs, acquireTimeMs: 1000, leaseDurationSeconds: 15, leaseTransitions: transitions });

describe("decideLease", () => {
  test.each([
    ["no lease: create it", undefined, "a", 5000, { action: "create", lease: { holderIdentity: "a", renewTimeMs: 5000, acquireTimeMs: 5000, leaseDurationSeconds: 15, leaseTransitions: 0 } }],
    ["own lease: renew, keep acquire time", held("a", 2000), "a", 5000, { action: "update", acquired: false, lease: { ...held("a", 2000), renewTimeMs: 5000 } }],
    ["other's live lease: wait", held("b", 2000), "a", 5000, { action: "wait", holder: "b", expiresInMs: 12000 }],
    ["other's lease at the exact expiry: take over", held("b", 2000, 3), "a", 17000, { action: "update", acquired: true, lease: { holderIdentity: "a", renewTimeMs: 17000, acquireTimeMs: 17000, leaseDurationSeconds: 15, leaseTransitions: 4 } }],
    ["released lease: take over at once", releasedLease(held("b", 2000, 1), 4000), "a", 4001, { action: "update", acquired: true, lease: { holderIdentity: "a", renewTimeMs: 4001, acquireTimeMs: 4001, leaseDurationSeconds: 15, leaseTransitions: 2 } }],
  ])("%s", (_desc, current, me, now, want) => {
    expect(decideLease(current, me, now, 15)).toEqual(want);
  });

  test("leaseHeld", () => {
    expect(leaseHeld(held("b", 2000), 16999)).toBe(true);
    expect(leaseHeld(held("b", 2000), 17000)).toBe(false);
    expect(leaseHeld(held("", 2000), 3000)).toBe(false);
  });
});
