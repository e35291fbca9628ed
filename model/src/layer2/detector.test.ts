import { describe, expect, test } from "@jest/globals";
import { ArrivalWindow, phiOf, zForPhi, type PhiTiming } from "./detector.js";

const TIMING: PhiTiming = { windowSize: 4, minStdDevMs: 10, acceptablePauseMs: 0, expectedIntervalMs: 100, maxSuspectAfterMs: 10_000 };

describe("phi", () => {
  test.each<[desc: string, silence: number, mean: number, sd: number, lo: number, hi: number]>([
    ["at the mean: P = 1/2", 100, 100, 10, 0.3, 0.302],
    ["well below the mean: ~0", 0, 100, 10, 0, 1e-9],
    ["one std-dev above", 110, 100, 10, 0.79, 0.81],
    ["three std-devs above", 130, 100, 10, 2.8, 3.0],
    ["five std-devs above (the logistic approximation is a little pessimistic in the tail: exact 6.5)", 150, 100, 10, 6.3, 7.5],
  ])("%s", (...row) => {
    const [, silence, mean, sd, lo, hi] = row;
    const phi = phiOf(silence, mean, sd);
    expect(phi).toBeGreaterThanOrEqual(lo);
    expect(phi).toBeLessThanOrEqual(hi);
  });

  test("grows with the silence", () => {
    let last = -1;
    for (let s = 0; s <= 300; s += 5) {
      const phi = phiOf(s, 100, 20);
      expect(phi).toBeGreaterThanOrEqual(last);
      last = phi;
    }
  });

  test.each([1, 3, 8, 12])("zForPhi(%d) inverts phi", (threshold) => {
    const z = zForPhi(threshold);
    expect(phiOf(z, 0, 1)).toBeCloseTo(threshold, 6);
  });

  test("zForPhi refuses a non-positive threshold", () => {
    expect(() => zForPhi(0)).toThrow(RangeError);
  });
});

describe("ArrivalWindow", () => {
  test("empty: the expected interval and the std-dev floor", () => {
    const w = new ArrivalWindow(TIMING);
    expect([w.meanMs(), w.stdDevMs(), w.size]).toEqual([100, 10, 0]);
  });

  test("mean and std-dev over the last windowSize samples", () => {
    const w = new ArrivalWindow(TIMING);
    for (const s of [1000, 100, 200, 300, 400]) w.add(s);
    expect(w.size).toBe(4);
    expect(w.meanMs()).toBe(250);
    expect(w.stdDevMs()).toBeCloseTo(Math.sqrt(12_500), 6);
  });

  test("regular gaps: the std-dev floor applies", () => {
    const w = new ArrivalWindow(TIMING);
    for (let i = 0; i < 10; i++) w.add(100);
    expect(w.stdDevMs()).toBe(10);
  });

  test("ignores nonsense samples", () => {
    const w = new ArrivalWindow(TIMING);
    w.add(Number.NaN);
    w.add(-5);
    w.add(Number.POSITIVE_INFINITY);
    expect(w.size).toBe(0);
  });

  test("silenceForZ: mean + pause + z × std-dev, capped", () => {
    const w = new ArrivalWindow({ ...TIMING, acceptablePauseMs: 50, maxSuspectAfterMs: 200 });
    for (let i = 0; i < 4; i++) w.add(100);
    expect(w.silenceForZ(2)).toBe(170);
    expect(w.silenceForZ(10)).toBe(200);
    expect(w.phi(170)).toBeCloseTo(phiOf(2, 0, 1), 9);
  });
});
