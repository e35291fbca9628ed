import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { addressCount, buggyIPv4Count, cidrContainsCidr, cidrsOverlap, formatCidr, parseCidr, parsePoolAddress, summarizeRange, type Cidr } from "./cidr.js";
import { formatIP } from "./ip.js";

const cidr = (text: string): Cidr => {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const addresses = (text: string): string[] | string => {
  const r = parsePoolAddress(text);
  return r.ok ? r.value.map(formatCidr) : r.error;
};

describe("parseCidr", () => {
  test.each([
    ["10.0.0.0/24", "10.0.0.0/24"],
    ["10.0.0.7/24", "10.0.0.0/24"], // host bits masked, like Go's net.ParseCIDR
    ["10.0.0.1/32", "10.0.0.1/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["fc00::1/120", "fc00::/120"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["::/0", "::/0"],
  ])("%s → %s", (input, expected) => {
    expect(formatCidr(cidr(input))).toBe(expected);
  });

  test.each(["10.0.0.0", "10.0.0.0/33", "fc00::/129", "10.0.0.0/-1", "10.0.0.0/", "/24", "10.0.0.0/24 ", "10.0.0/24", "10.0.0.0/2a"])("rejects %j", (input) => {
    expect(parseCidr(input)).toEqual({ ok: false, error: `invalid CIDR ${JSON.stringify(input)}` });
  });
});

describe("parsePoolAddress (CIDR or range)", () => {
  test.each<[string, string[] | string]>([
    ["10.0.0.0/30", ["10.0.0.0/30"]],
    ["10.0.0.0-10.0.0.255", ["10.0.0.0/24"]],
    [" 10.0.0.1 - 10.0.0.6 ", ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]],
    ["10.0.0.5-10.0.0.5", ["10.0.0.5/32"]],
    ["fc00::1-fc00::2", ["fc00::1/128", "fc00::2/128"]],
    ["0.0.0.0-255.255.255.255", ["0.0.0.0/0"]],
    ["10.0.0.9-10.0.0.1", 'invalid IP range "10.0.0.9-10.0.0.1": start IP "10.0.0.9" is after the end IP "10.0.0.1"'],
    ["10.0.0.x-10.0.0.1", 'invalid IP range "10.0.0.x-10.0.0.1": invalid start IP "10.0.0.x"'],
    ["10.0.0.1-", 'invalid IP range "10.0.0.1-": invalid end IP ""'],
    ["10.0.0.1-fc00::1", 'invalid IP range "10.0.0.1-fc00::1": start IP and end IP are of different address families'],
    ["banana", 'invalid CIDR "banana"'],
  ])("%j", (input, expected) => {
    expect(addresses(input)).toEqual(expected);
  });

  test("summarized ranges cover exactly start..end with minimal aligned blocks", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 5000 }), (start, span) => {
        const end = Math.min(start + span, 2 ** 32 - 1);
        const blocks = summarizeRange({ family: "IPv4", value: BigInt(start) }, { family: "IPv4", value: BigInt(end) });
        let next = BigInt(start);
        for (const b of blocks) {
          expect(b.first).toBe(next);
          expect(b.first % addressCount(b)).toBe(0n);
          next = b.last + 1n;
        }
        expect(next).toBe(BigInt(end) + 1n);
        // minimal: two neighbours of equal size never form one aligned block
        blocks.forEach((b, i) => {
          const n = blocks[i + 1];
          if (n !== undefined && b.prefixLength === n.prefixLength) expect(b.first % (2n * addressCount(b))).not.toBe(0n);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe("containment, overlap and counts", () => {
  test.each([
    ["10.0.0.0/16", "10.0.1.0/24", true, true],
    ["10.0.1.0/24", "10.0.0.0/16", false, true],
    ["10.0.0.0/24", "10.0.0.0/24", true, true],
    ["10.0.0.0/24", "10.0.1.0/24", false, false],
    ["10.0.0.0/8", "::/0", false, false],
  ])("%s vs %s", (a, b, contains, overlaps) => {
    expect(cidrContainsCidr(cidr(a), cidr(b))).toBe(contains);
    expect(cidrsOverlap(cidr(a), cidr(b))).toBe(overlaps);
  });

  test.each([
    ["10.0.0.0/24", 256n, 2n],
    ["10.0.0.0/16", 65536n, 512n],
    ["10.0.0.0/30", 4n, 1n],
    ["10.0.0.252/30", 4n, 1n],
    ["10.0.0.4/30", 4n, 0n],
    ["10.0.0.0/32", 1n, 1n],
    ["fc00::/64", 2n ** 64n, 0n],
  ])("%s has %s addresses, %s buggy", (text, count, buggy) => {
    expect(addressCount(cidr(text))).toBe(count);
    expect(buggyIPv4Count(cidr(text))).toBe(buggy);
  });

  test("formatIP of a range bound", () => {
    expect(formatIP({ family: "IPv6", value: cidr("fc00::/120").last })).toBe("fc00::ff");
  });
});
