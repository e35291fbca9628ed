import { describe, expect, test } from "@jest/globals";
import { PoolEventFilter, poolConfigKey, poolEventWork, type PoolObject } from "./pool-events.js";
import type { PoolStatus } from "./status.js";

const want: PoolStatus = { assignedIPv4: 1n, assignedIPv6: 0n, availableIPv4: 3n, availableIPv6: 0n };
const wireStatus = { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 0 };
const pool = (over: Partial<PoolObject> = {}): PoolObject => ({
  metadata: { name: "p", labels: { zone: "a" } },
  spec: { addresses: ["10.0.0.0/30"], autoAssign: true },
  status: wireStatus,
  ...over,
});
const key = poolConfigKey(pool());

describe("poolEventWork", () => {
  test.each([
    ["add: parse, status already right", "add", pool(), undefined, want, { reparse: true, publishStatus: false }],
    ["add without status: parse and publish", "add", pool({ status: undefined }), undefined, want, { reparse: true, publishStatus: true }],
    ["our own status write: nothing", "update", pool(), key, want, { reparse: false, publishStatus: false }],
    [
      "status edited by hand (availableIPv4 99): put it back, no re-parse",
      "update",
      pool({ status: { ...wireStatus, availableIPv4: 99 } }),
      key,
      want,
      { reparse: false, publishStatus: true },
    ],
    ["status removed by hand: put it back", "update", pool({ status: {} }), key, want, { reparse: false, publishStatus: true }],
    ["spec changed: re-parse", "update", pool({ spec: { addresses: ["10.0.0.0/29"] } }), key, want, { reparse: true, publishStatus: false }],
    [
      "labels changed: re-parse (advertisements select pools by label)",
      "update",
      pool({ metadata: { name: "p", labels: { zone: "b" } } }),
      key,
      want,
      { reparse: true, publishStatus: false },
    ],
    [
      "key order is not a change",
      "update",
      pool({ spec: { autoAssign: true, addresses: ["10.0.0.0/30"] } }),
      key,
      want,
      { reparse: false, publishStatus: false },
    ],
    [
      "no published status yet (no configuration): nothing to put back",
      "update",
      pool({ status: { ...wireStatus, availableIPv4: 99 } }),
      key,
      null,
      { reparse: false, publishStatus: false },
    ],
    ["delete: re-parse, no status", "delete", pool({ status: { ...wireStatus, availableIPv4: 99 } }), key, want, { reparse: true, publishStatus: false }],
  ] as const)("%s", (...[, verb, obj, last, w, expected]) => {
    expect(poolEventWork(verb, obj, last, w)).toEqual(expected);
  });
});

describe("PoolEventFilter", () => {
  test("remembers each pool's spec between events, forgets deleted pools", () => {
    const f = new PoolEventFilter();
    expect(f.observe("add", pool(), want)).toEqual({ reparse: true, publishStatus: false });
    expect(f.observe("update", pool({ status: { ...wireStatus, availableIPv4: 99 } }), want)).toEqual({ reparse: false, publishStatus: true });
    expect(f.observe("update", pool(), want)).toEqual({ reparse: false, publishStatus: false });
    expect(f.observe("update", pool({ metadata: { name: "other" } }), want)).toEqual({ reparse: true, publishStatus: false });
    expect(f.observe("delete", pool(), want)).toEqual({ reparse: true, publishStatus: false });
    expect(f.observe("update", pool(), want)).toEqual({ reparse: true, publishStatus: false });
  });
});
