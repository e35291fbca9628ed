import { describe, expect, test } from "@jest/globals";
import { DEFAULT_PROBE_ROUND_TIMING as T, probeRoundTicks, probesDueBy } from "./probe-rounds.js";

describe("probeRoundTicks", () => {
  test.each<[desc: string, count: number, want: number]>([
    ["no IPs: the next tick starts a new round", 0, 0],
    ["one IP: the interval", 1, 20],
    ["100 IPs fit the budget in 2 s", 100, 20],
    ["101 IPs: a little longer", 101, 21],
    ["2,500 IPs: 50 s at 50 a second", 2_500, 500],
    ["10,000 IPs: 200 s", 10_000, 2_000],
  ])("%s", (_desc, count, want) => {
    expect(probeRoundTicks(count, T)).toBe(want);
  });
});

describe("probesDueBy", () => {
  test.each<[desc: string, tick: number, count: number, roundTicks: number, want: number]>([
    ["nothing before the first tick", 0, 10, 20, 0],
    ["the first goes at once", 1, 10, 20, 1],
    ["fewer IPs than ticks: one every other tick", 3, 10, 20, 2],
    ["more IPs than ticks: several per tick", 1, 2_500, 500, 5],
    ["all by the last tick", 20, 10, 20, 10],
    ["never more than the round has", 25, 10, 20, 10],
    ["an empty round has none", 1, 0, 0, 0],
  ])("%s", (_desc, tick, count, roundTicks, want) => {
    expect(probesDueBy(tick, count, roundTicks)).toBe(want);
  });

  test("over a round, the budget per second is kept and every IP is probed exactly once", () => {
    for (const count of [1, 7, 100, 101, 2_500, 10_001]) {
      const ticks = probeRoundTicks(count, T);
      const perTick: number[] = [];
      for (let k = 1; k <= ticks; k++) perTick.push(probesDueBy(k, count, ticks) - probesDueBy(k - 1, count, ticks));
      expect(perTick.reduce((a, b) => a + b, 0)).toBe(count);
      const ticksPerSecond = 1_000 / T.tickMs;
      for (let k = 0; k + ticksPerSecond <= perTick.length; k++) {
        const second = perTick.slice(k, k + ticksPerSecond).reduce((a, b) => a + b, 0);
        expect(second).toBeLessThanOrEqual(T.perSecond + 1);
      }
    }
  });
});
