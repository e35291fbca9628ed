import { describe, expect, test } from "@jest/globals";
import { compareIP, formatIP, isBuggyIPv4, parseIP } from "./ip.js";

const canonical = (text: string): string | null => {
  const r = parseIP(text);
  return r.ok ? formatIP(r.value) : null;
};

describe("parseIP / formatIP", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
    ["fe80::1:2", "fe80::1:2"],
    ["1::", "1::"],
    ["::ffff:10.1.2.3", "10.1.2.3"], // IPv4-mapped is IPv4, as Go's To4()
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ])("%s → %s", (input, expected) => {
    expect(canonical(input)).toBe(expected);
  });

  test.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3.-1",
    "1.2.3.4 ",
    "a.b.c.d",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "12345::",
    "fe80::1%eth0",
    "g::1",
    "::1.2.3",
  ])("rejects %j", (input) => {
    expect(parseIP(input)).toEqual({ ok: false, error: `invalid IP address ${JSON.stringify(input)}` });
  });

  test("buggy IPv4 addresses end in .0 or .255", () => {
    const ip = (t: string): ReturnType<typeof parseIP> => parseIP(t);
    const buggy = (t: string): boolean => {
      const r = ip(t);
      return r.ok && isBuggyIPv4(r.value);
    };
    expect([buggy("10.0.0.0"), buggy("10.0.0.255"), buggy("10.0.0.1"), buggy("::ff")]).toEqual([true, true, false, false]);
  });

  test("compareIP orders IPv4 before IPv6, then numerically", () => {
    const v = (t: string): Parameters<typeof compareIP>[0] => {
      const r = parseIP(t);
      if (!r.ok) throw new Error(t);
      return r.value;
    };
    expect(compareIP(v("10.0.0.2"), v("10.0.0.10"))).toBeLessThan(0);
    expect(compareIP(v("::1"), v("255.255.255.255"))).toBeGreaterThan(0);
    expect(compareIP(v("::1"), v("0::1"))).toBe(0);
  });
});
