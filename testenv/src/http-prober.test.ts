import { describe, expect, test } from "@jest/globals";
import { probeFigures, webUrl } from "./http-prober.js";

describe("probeFigures", () => {
  const ok = (t: number): { t: number; ok: boolean } => ({ t, ok: true });
  const bad = (t: number): { t: number; ok: boolean } => ({ t, ok: false });
  test.each([
    ["no probes", [], { probes: 0, failed: 0, maxGapMs: 0 }],
    ["all good", [ok(0), ok(100), ok(200)], { probes: 3, failed: 0, maxGapMs: 0 }],
    ["one outage: first failure to the next good probe", [ok(0), bad(100), bad(250), ok(400)], { probes: 4, failed: 2, maxGapMs: 300 }],
    ["the longest of two outages", [bad(0), ok(50), bad(100), bad(200), ok(700)], { probes: 5, failed: 3, maxGapMs: 600 }],
    ["never came back", [ok(0), bad(100)], { probes: 2, failed: 1, maxGapMs: Number.POSITIVE_INFINITY }],
  ])("%s", (_name, results, want) => {
    expect(probeFigures(results)).toEqual(want);
  });
});

test("webUrl brackets IPv6 literals", () => {
  expect([webUrl("10.0.0.1"), webUrl("fd00::1")]).toEqual(["http://10.0.0.1/", "http://[fd00::1]/"]);
});
