import { createHash } from "node:crypto";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { compareBytes, sha256, toHex, utf8 } from "./sha256.js";

describe("sha256: FIPS 180-4 / NIST CSRC examples", () => {
  test.each<[desc: string, input: string, want: string]>([
    ["empty message", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["one block: abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "two blocks: 448-bit message",
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    [
      "two blocks: 896-bit message",
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ],
  ])("%s", (_desc, input, want) => {
    expect(toHex(sha256(utf8(input)))).toBe(want);
  });

  test("one million times 'a'", () => {
    expect(toHex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });

  test.each([55, 56, 63, 64, 65, 119, 120, 128])("padding boundary: %i bytes", (n) => {
    const data = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
    expect(toHex(sha256(data))).toBe(createHash("sha256").update(data).digest("hex"));
  });
});

test("sha256 agrees with node:crypto on arbitrary input", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      expect(toHex(sha256(data))).toBe(createHash("sha256").update(data).digest("hex"));
    }),
    { numRuns: 300 },
  );
});

test("sha256 does not modify its input", () => {
  const data = Uint8Array.from([1, 2, 3]);
  sha256(data);
  expect([...data]).toEqual([1, 2, 3]);
});

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

test("utf8 agrees with TextEncoder, including surrogate pairs and lone surrogates", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)), maxLength: 10 }), (a, b) => {
      const text = a + b;
      expect([...utf8(text)]).toEqual([...new TextEncoder().encode(text)]);
    }),
    { numRuns: 300 },
  );
});
