import { createHmac } from "node:crypto";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { constantTimeEqual, hmacSha256 } from "./hmac.js";
import { toHex, utf8 } from "./sha256.js";

const bytes = (n: number, value: number): Uint8Array => new Uint8Array(n).fill(value);
const LONG_KEY = bytes(131, 0xaa);

describe("hmacSha256: RFC 4231 test cases", () => {
  test.each<[desc: string, key: Uint8Array, data: Uint8Array, want: string]>([
    ["1: 20-byte key", bytes(20, 0x0b), utf8("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    ["2: key shorter than the output", utf8("Jefe"), utf8("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    ["3: 50 bytes of 0xdd", bytes(20, 0xaa), bytes(50, 0xdd), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"],
    [
      "4: 25-byte counting key",
      Uint8Array.from({ length: 25 }, (_, i) => i + 1),
      bytes(50, 0xcd),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ],
    [
      "6: key larger than a block",
      LONG_KEY,
      utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      "7: key and data larger than a block",
      LONG_KEY,
      utf8(
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ])("%s", (_desc, key, data, want) => {
    expect(toHex(hmacSha256(key, data))).toBe(want);
  });

  test("5: output truncated to 128 bits", () => {
    expect(toHex(hmacSha256(bytes(20, 0x0c), utf8("Test With Truncation")).subarray(0, 16))).toBe("a3b6167473100ee06e0c796c2955552b");
  });
});

test("hmacSha256 agrees with node:crypto for arbitrary keys and messages", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 150 }), fc.uint8Array({ maxLength: 200 }), (key, data) => {
      expect(toHex(hmacSha256(key, data))).toBe(createHmac("sha256", key).update(data).digest("hex"));
    }),
    { numRuns: 200 },
  );
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
