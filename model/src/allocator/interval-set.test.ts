import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { ALL_ADDRESSES, IntervalSet, NON_BUGGY_IPV4, type AddressDomain, type Interval } from "./interval-set.js";

const show = (s: IntervalSet): string =>
  s
    .intervals()
    .map((i) => (i.lo === i.hi ? `${i.lo}` : `${i.lo}-${i.hi}`))
    .join(" ");
const r = (lo: number, hi: number): Interval => ({ lo: BigInt(lo), hi: BigInt(hi) });

describe("address domains", () => {
  test.each([
    [0, 255, 254n],
    [0, 0, 0n],
    [1, 254, 254n],
    [255, 256, 0n],
    [250, 260, 9n],
    [0, 65535, 65024n],
    [10, 9, 0n],
  ])("NON_BUGGY_IPV4.countValid(%i, %i) = %s", (lo, hi, want) => {
    expect(NON_BUGGY_IPV4.countValid(BigInt(lo), BigInt(hi))).toBe(want);
    let naive = 0n;
    for (let x = lo; x <= hi; x++) if (x % 256 !== 0 && x % 256 !== 255) naive++;
    expect(naive).toBe(want);
  });

  test.each([
    [0, 1, -2],
    [255, 257, 254],
    [256, 257, 254],
    [7, 7, 7],
  ])("NON_BUGGY_IPV4 around %i: above %i, below %i", (x, above, below) => {
    expect(NON_BUGGY_IPV4.validAtOrAbove(BigInt(x))).toBe(BigInt(above));
    expect(NON_BUGGY_IPV4.validAtOrBelow(BigInt(x))).toBe(BigInt(below));
  });
});

describe("IntervalSet table", () => {
  test.each<[string, AddressDomain, Interval[], string, bigint]>([
    ["empty", ALL_ADDRESSES, [], "", 0n],
    ["single", ALL_ADDRESSES, [r(4, 7)], "4-7", 4n],
    ["adjacent ranges merge", ALL_ADDRESSES, [r(8, 9), r(4, 7)], "4-9", 6n],
    ["overlapping ranges merge", ALL_ADDRESSES, [r(4, 8), r(6, 12), r(20, 20)], "4-12 20", 10n],
    ["buggy ends trimmed", NON_BUGGY_IPV4, [r(0, 255)], "1-254", 254n],
    ["a /23 without buggy IPs is one interval", NON_BUGGY_IPV4, [r(0, 511)], "1-510", 508n],
    ["only buggy addresses", NON_BUGGY_IPV4, [r(255, 256)], "", 0n],
  ])("fromRanges: %s", (_desc, domain, ranges, want, size) => {
    const s = IntervalSet.fromRanges(domain, ranges);
    s.verify();
    expect([show(s), s.size]).toEqual([want, size]);
  });

  test("take splits, give merges", () => {
    const s = IntervalSet.fromRanges(ALL_ADDRESSES, [r(0, 9)]);
    const steps: [string, () => unknown, unknown, string][] = [
      ["lowest", () => s.lowest(), 0n, "0-9"],
      ["take middle", () => s.take(5n), true, "0-4 6-9"],
      ["take taken", () => s.take(5n), false, "0-4 6-9"],
      ["take first", () => s.take(0n), true, "1-4 6-9"],
      ["take last", () => s.take(9n), true, "1-4 6-8"],
      ["take outside", () => s.take(42n), false, "1-4 6-8"],
      ["lowestAtLeast in a gap", () => s.lowestAtLeast(5n), 6n, "1-4 6-8"],
      ["lowestAtLeast inside", () => s.lowestAtLeast(3n), 3n, "1-4 6-8"],
      ["lowestAtLeast past the end", () => s.lowestAtLeast(9n), null, "1-4 6-8"],
      ["give joins both sides", () => s.give(5n), true, "1-8"],
      ["give present", () => s.give(5n), false, "1-8"],
      ["give joins left", () => s.give(9n), true, "1-9"],
      ["give joins right", () => s.give(0n), true, "0-9"],
      ["give alone", () => s.give(20n), true, "0-9 20"],
      ["size", () => s.size, 11n, "0-9 20"],
    ];
    for (const [desc, run, want, after] of steps) {
      const got = run();
      s.verify();
      expect([desc, got, show(s)]).toEqual([desc, want, after]);
    }
  });

  test("merges across the buggy gap of an avoidBuggyIPs pool", () => {
    const s = IntervalSet.fromRanges(NON_BUGGY_IPV4, [r(250, 260)]);
    // 254 | 255 256 (buggy) | 257: nothing valid between them, so they form one interval
    expect(show(s)).toBe("250-260");
    expect(s.size).toBe(9n);
    expect(s.intervalCount).toBe(1);
    expect(s.take(254n)).toBe(true);
    expect(s.take(257n)).toBe(true);
    expect(s.lowestAtLeast(254n)).toBe(258n);
    expect(s.give(255n)).toBe(false);
    expect(s.has(256n)).toBe(false);
    expect(s.give(257n)).toBe(true);
    expect(s.give(254n)).toBe(true);
    expect(s.intervalCount).toBe(1);
    s.verify();
  });

  test("an IPv6 /64 is never enumerated", () => {
    const base = 0xfd00_0000_0000_0000_0000_0000_0000_0000n;
    const s = IntervalSet.fromRanges(ALL_ADDRESSES, [{ lo: base, hi: base + (1n << 64n) - 1n }]);
    expect(s.size).toBe(1n << 64n);
    for (let i = 0; i < 1000; i++) {
      const low = s.lowest();
      expect(low).toBe(base + BigInt(i));
      s.take(low ?? -1n);
    }
    expect(s.take(base + (1n << 63n))).toBe(true);
    expect(s.intervalCount).toBe(2);
    expect(s.size).toBe((1n << 64n) - 1001n);
    s.verify();
  });

  test("stays balanced under 20,000 scattered takes", () => {
    const s = IntervalSet.fromRanges(ALL_ADDRESSES, [r(0, 65535)]);
    for (let i = 0; i < 20_000; i++) s.take(BigInt((i * 3) % 65536));
    expect(s.intervalCount).toBe(20_000);
    s.verify(); // AVL balance => height <= 1.44 log2(n)
    for (let i = 0; i < 20_000; i++) s.give(BigInt((i * 3) % 65536));
    expect(show(s)).toBe("0-65535");
    s.verify();
  });
});

type Op = { kind: "take" | "give" | "has" | "lowestAtLeast"; x: number } | { kind: "lowest" };

describe("IntervalSet against a naive model", () => {
  const universe = 600;
  const rangeArb = fc
    .tuple(fc.integer({ min: 0, max: universe - 1 }), fc.integer({ min: 0, max: 80 }))
    .map(([lo, len]) => r(lo, Math.min(lo + len, universe - 1)));
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom("take" as const, "give" as const, "has" as const, "lowestAtLeast" as const),
      x: fc.integer({ min: 0, max: universe - 1 }),
    }),
    fc.constant({ kind: "lowest" as const }),
  );

  test.each([
    ["all addresses", ALL_ADDRESSES],
    ["non-buggy IPv4", NON_BUGGY_IPV4],
  ])("%s", (_name, domain) => {
    fc.assert(
      fc.property(fc.array(rangeArb, { maxLength: 5 }), fc.array(opArb, { maxLength: 120 }), (ranges, ops) => {
        const model = new Set<number>();
        for (const range of ranges) for (let x = Number(range.lo); x <= Number(range.hi); x++) if (domain.isValid(BigInt(x))) model.add(x);
        const s = IntervalSet.fromRanges(domain, ranges);
        const sorted = (): number[] => [...model].sort((a, b) => a - b);
        for (const op of ops) {
          let got: unknown;
          let want: unknown;
          switch (op.kind) {
            case "take":
              got = s.take(BigInt(op.x));
              want = model.delete(op.x);
              break;
            case "give":
              got = s.give(BigInt(op.x));
              want = domain.isValid(BigInt(op.x)) && !model.has(op.x);
              if (want === true) model.add(op.x);
              break;
            case "has":
              got = s.has(BigInt(op.x));
              want = model.has(op.x);
              break;
            case "lowestAtLeast": {
              got = s.lowestAtLeast(BigInt(op.x));
              const found = sorted().find((y) => y >= op.x);
              want = found === undefined ? null : BigInt(found);
              break;
            }
            case "lowest": {
              got = s.lowest();
              const first = sorted()[0];
              want = first === undefined ? null : BigInt(first);
              break;
            }
          }
          expect([op, got]).toEqual([op, want]);
          expect(s.size).toBe(BigInt(model.size));
        }
        s.verify();
        const members = s.intervals().flatMap((i) => {
          const out: number[] = [];
          for (let x = Number(i.lo); x <= Number(i.hi); x++) if (domain.isValid(BigInt(x))) out.push(x);
          return out;
        });
        expect(members).toEqual(sorted());
      }),
      { numRuns: 300 },
    );
  });
});
