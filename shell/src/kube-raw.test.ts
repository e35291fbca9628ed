import { describe, expect, test } from "@jest/globals";
import { formatMicroTime, stringifyWithBigInts } from "./kube-raw.js";

describe("kube-raw helpers", () => {
  test("bigints are written as exact JSON integers", () => {
    const raw = stringifyWithBigInts({ status: { availableIPv6: 9223372036854775807n, assignedIPv4: 3n, name: "p" } });
    expect(raw.text).toBe('{"status":{"availableIPv6":9223372036854775807,"assignedIPv4":3,"name":"p"}}');
  });
  test("MicroTime has six fractional digits", () => {
    expect(formatMicroTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe("2026-01-02T03:04:05.678000Z");
  });
});
