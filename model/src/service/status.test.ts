import { describe, expect, test } from "@jest/globals";
import { configurationStateStatus, MAX_INT64, poolStatusFromCounters, poolStatusFromObject } from "./status.js";

describe("pool status", () => {
  test("assigned and available per family; IPv6 /64 capped at int64", () => {
    expect(poolStatusFromCounters({ pool: "p", ipv4Total: 254n, ipv4InUse: 4n, ipv6Total: 1n << 64n, ipv6InUse: 2n })).toEqual({
      assignedIPv4: 4n,
      assignedIPv6: 2n,
      availableIPv4: 250n,
      availableIPv6: MAX_INT64,
    });
  });
  test("reads back what the API returns", () => {
    expect(poolStatusFromObject({ assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 0 })).toEqual({
      assignedIPv4: 1n,
      assignedIPv6: 0n,
      availableIPv4: 3n,
      availableIPv6: 0n,
    });
    expect(poolStatusFromObject({ assignedIPv4: 1 })).toBeNull();
    expect(poolStatusFromObject(undefined)).toBeNull();
  });
});

describe("configurationStateStatus", () => {
  test("valid", () => {
    expect(configurationStateStatus("configReconcilerValid", [], "T1")).toEqual({
      result: "Valid",
      errorSummary: "",
      conditions: [{ type: "configReconcilerValid", status: "True", reason: "Reconciled", message: "", lastTransitionTime: "T1" }],
    });
  });
  test("invalid lists every problem; transition time kept while unchanged", () => {
    const s = configurationStateStatus("configReconcilerValid", ["a: bad", "b: worse"], "T2", { status: "False", lastTransitionTime: "T0" });
    expect(s.result).toBe("Invalid");
    expect(s.errorSummary).toBe("a: bad\nb: worse");
    expect(s.conditions[0]).toMatchObject({ status: "False", reason: "ConfigurationError", lastTransitionTime: "T0" });
  });
});
