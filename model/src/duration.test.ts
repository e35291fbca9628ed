import { describe, expect, test } from "@jest/globals";
import { parseDuration } from "./duration.js";

describe("parseDuration (Go time.ParseDuration)", () => {
  test.each<[string, number]>([
    ["0", 0],
    ["90s", 90_000],
    ["1m30s", 90_000],
    ["300ms", 300],
    ["1.5s", 1500],
    ["1.1s", 1100],
    ["2h", 7_200_000],
    ["-2s", -2000],
    ["+3s", 3000],
    [".5s", 500],
    ["100us", 0.1],
    ["1000µs", 1],
    ["1000000ns", 1],
    ["1h2m3s4ms", 3_723_004],
  ])("%s → %d ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  test.each<[string, string]>([
    ["", 'time: invalid duration ""'],
    ["abc", 'time: invalid duration "abc"'],
    ["1", 'time: missing unit in duration "1"'],
    ["10x", 'time: unknown unit "x" in duration "10x"'],
    ["1s2", 'time: missing unit in duration "1s2"'],
    [".s", 'time: invalid duration ".s"'],
    ["-", 'time: invalid duration "-"'],
    ["3000000h", 'time: invalid duration "3000000h"'],
  ])("rejects %j", (text, message) => {
    expect(parseDuration(text)).toEqual({ ok: false, error: message });
  });
});
