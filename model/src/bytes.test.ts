import { describe, expect, test } from "@jest/globals";
import { compareBytes, constantTimeEqual } from "./bytes.js";

describe("compareBytes (Go bytes.Compare)", () => {
  test.each<[a: number[], b: number[], sign: number]>([
    [[], [], 0],
    [[1], [1], 0],
    [[1], [2], -1],
    [[2], [1, 0], 1],
    [[1], [1, 0], -1],
    [[0xff, 0], [0xff, 1], -1],
  ])("%j vs %j", (a, b, sign) => {
    expect(Math.sign(compareBytes(Uint8Array.from(a), Uint8Array.from(b)))).toBe(sign);
  });
});

describe("constantTimeEqual", () => {
  test.each<[desc: string, a: number[], b: number[], want: boolean]>([
    ["both empty", [], [], true],
    ["equal", [1, 2, 3], [1, 2, 3], true],
    ["first byte differs", [0, 2, 3], [1, 2, 3], false],
    ["last byte differs", [1, 2, 3], [1, 2, 4], false],
    ["different lengths", [1, 2], [1, 2, 3], false],
  ])("%s", (_desc, a, b, want) => {
    expect(constantTimeEqual(Uint8Array.from(a), Uint8Array.from(b))).toBe(want);
  });
});
