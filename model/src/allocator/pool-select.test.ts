import { describe, expect, test } from "@jest/globals";
import { familyPlans, generalPools, isPoolCompatible, pinnedPools } from "./pool-select.js";
import { aPool, aService, type PoolOptions, type ServiceOptions } from "./testdata/fixtures.js";

describe("isPoolCompatible", () => {
  test.each<[string, PoolOptions["serviceAllocation"] | undefined, ServiceOptions, boolean]>([
    ["no serviceAllocation", undefined, {}, true],
    ["priority only pins everybody", { priority: 3 }, {}, true],
    ["listed namespace", { namespaces: ["a"] }, { ns: "a" }, true],
    ["other namespace", { namespaces: ["a"] }, { ns: "b" }, false],
    ["matching service labels", { serviceSelectors: [{ app: "web" }] }, { labels: { app: "web", x: "y" } }, true],
    ["non-matching service labels", { serviceSelectors: [{ app: "web" }] }, { labels: { app: "db" } }, false],
    ["any selector may match", { serviceSelectors: [{ app: "web" }, { app: "db" }] }, { labels: { app: "db" } }, true],
    ["namespace and selector both needed", { namespaces: ["a"], serviceSelectors: [{ app: "web" }] }, { ns: "a" }, false],
    ["namespace and selector both met", { namespaces: ["a"], serviceSelectors: [{ app: "web" }] }, { ns: "a", labels: { app: "web" } }, true],
    ["namespaceSelector, labels unknown", { namespaceSelectors: [{ env: "prod" }] }, { ns: "a" }, false],
    ["namespaceSelector, current labels match", { namespaceSelectors: [{ env: "prod" }] }, { ns: "a", namespaceLabels: { env: "prod" } }, true],
    ["namespaceSelector, current labels differ", { namespaceSelectors: [{ env: "prod" }] }, { ns: "a", namespaceLabels: { env: "dev" } }, false],
  ])("%s", (_desc, sa, svc, want) => {
    const pool = aPool("p", ["10.0.0.0/30"], sa === undefined ? {} : { serviceAllocation: sa });
    expect(isPoolCompatible(pool, aService("s", svc))).toBe(want);
  });
});

describe("pool order", () => {
  const pools = [
    aPool("zeta", ["10.0.1.0/30"]),
    aPool("alpha", ["10.0.2.0/30"]),
    aPool("manual", ["10.0.3.0/30"], { autoAssign: false }),
    aPool("p0", ["10.0.4.0/30"], { serviceAllocation: { namespaces: ["a"] } }),
    aPool("p2", ["10.0.5.0/30"], { serviceAllocation: { namespaces: ["a"], priority: 2 } }),
    aPool("p1-b", ["10.0.6.0/30"], { serviceAllocation: { namespaces: ["a"], priority: 1 } }),
    aPool("p1-a", ["10.0.7.0/30"], { serviceAllocation: { namespaces: ["a"], priority: 1 } }),
    aPool("p1-manual", ["10.0.8.0/30"], { serviceAllocation: { namespaces: ["a"], priority: 1 }, autoAssign: false }),
    aPool("other-ns", ["10.0.9.0/30"], { serviceAllocation: { namespaces: ["b"], priority: 1 } }),
  ];

  test("pinned: priority > 0 ascending, then 0; ties by name; autoAssign only", () => {
    expect(pinnedPools(pools, aService("s", { ns: "a" })).map((p) => p.name)).toEqual(["p1-a", "p1-b", "p2", "p0"]);
    expect(pinnedPools(pools, aService("s", { ns: "c" }))).toEqual([]);
  });

  test("general: autoAssign without serviceAllocation, by name", () => {
    expect(generalPools(pools).map((p) => p.name)).toEqual(["alpha", "zeta"]);
  });
});

describe("familyPlans", () => {
  test.each<[string, ServiceOptions, string[][] | null]>([
    ["SingleStack IPv4", {}, [["IPv4"]]],
    ["SingleStack uses the primary family", { families: ["IPv6", "IPv4"] }, [["IPv6"]]],
    ["RequireDualStack", { families: ["IPv6", "IPv4"], policy: "RequireDualStack" }, [["IPv6", "IPv4"]]],
    ["RequireDualStack with one family", { policy: "RequireDualStack" }, null],
    ["PreferDualStack: both, then primary, then secondary", { families: ["IPv4", "IPv6"], policy: "PreferDualStack" }, [["IPv4", "IPv6"], ["IPv4"], ["IPv6"]]],
    ["PreferDualStack with one family", { families: ["IPv6"], policy: "PreferDualStack" }, [["IPv6"]]],
    ["no families", { families: [] }, null],
  ])("%s", (_desc, svc, want) => expect(familyPlans(aService("s", svc))).toEqual(want));
});
