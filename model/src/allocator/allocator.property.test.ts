import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import type { Pool } from "../config/types.js";
import { cidrContainsIP } from "../net/cidr.js";
import { formatIP, isBuggyIPv4, type IPAddress } from "../net/ip.js";
import { Allocator } from "./allocator.js";
import { portKey } from "./sharing.js";
import { aPool, aService, ip } from "./testdata/fixtures.js";
import type { AllocationView, IPFamilyPolicy, PoolCounters, ServiceView } from "./types.js";

/** Small configurations, so that pools fill up, IPs get shared and edits invalidate often. */
const configs: readonly (readonly Pool[])[] = [
  [
    aPool("a", ["10.0.0.254-10.0.1.1"], { avoidBuggyIPs: true }),
    aPool("b", ["10.0.2.0/30", "fd00::/126"]),
    aPool("c", ["fd00::10/126", "10.0.4.0/31"], { serviceAllocation: { namespaces: ["ns1"], priority: 1 } }),
    aPool("d", ["10.0.3.0/31"], { autoAssign: false }),
  ],
  [
    aPool("a2", ["10.0.0.254-10.0.1.1"]),
    aPool("b", ["10.0.2.0/31", "fd00::/127"]),
    aPool("c", ["fd00::10/126"], { serviceAllocation: { serviceSelectors: [{ app: "web" }] } }),
  ],
  [aPool("b", ["10.0.2.0/29", "fd00::/125"]), aPool("d", ["10.0.3.0/30", "10.0.4.0/31"], { autoAssign: false })],
  [],
];

const candidateIPs = [
  "10.0.0.254",
  "10.0.0.255",
  "10.0.1.0",
  "10.0.1.1",
  "10.0.2.1",
  "10.0.2.3",
  "10.0.2.6",
  "10.0.3.0",
  "10.0.4.1",
  "fd00::1",
  "fd00::3",
  "fd00::11",
  "9.9.9.9",
];
const poolNames = ["a", "a2", "b", "c", "d", "nope"];

const serviceArb: fc.Arbitrary<ServiceView> = fc
  .record({
    name: fc.constantFrom("s0", "s1", "s2", "s3", "s4", "s5", "s6"),
    web: fc.boolean(),
    families: fc.constantFrom<("IPv4" | "IPv6")[]>(["IPv4"], ["IPv4"], ["IPv6"], ["IPv4", "IPv6"], ["IPv6", "IPv4"]),
    policy: fc.constantFrom<IPFamilyPolicy>("SingleStack", "PreferDualStack", "RequireDualStack"),
    ports: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(["TCP/80"], ["TCP/443"], ["UDP/80"], ["TCP/53"]) },
      { weight: 1, arbitrary: fc.subarray(["TCP/80", "TCP/443", "UDP/80"], { minLength: 1 }) },
    ),
    sharingKey: fc.constantFrom("", "k1", "k1", "k1", "k2"),
    backendKey: fc.constantFrom("", "", "", "app=x"),
  })
  .map((s) =>
    aService(s.name, {
      ns: s.name < "s3" ? "ns1" : "ns2", // a service keeps its namespace: the key is ns/name
      labels: s.web ? { app: "web" } : {},
      families: s.families,
      policy: s.policy,
      ports: s.ports,
      sharingKey: s.sharingKey,
      backendKey: s.backendKey,
    }),
  );

type Op =
  | { kind: "allocate"; svc: ServiceView }
  | { kind: "assign"; svc: ServiceView; ips: readonly string[] }
  | { kind: "fromPool"; svc: ServiceView; pool: string }
  | { kind: "addFamily"; svc: ServiceView }
  | { kind: "unassign"; svc: ServiceView }
  | { kind: "setPools"; config: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("allocate" as const), svc: serviceArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("assign" as const),
      svc: serviceArb,
      ips: fc.array(fc.constantFrom(...candidateIPs), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fromPool" as const), svc: serviceArb, pool: fc.constantFrom(...poolNames) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("addFamily" as const), svc: serviceArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unassign" as const), svc: serviceArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("setPools" as const), config: fc.integer({ min: 0, max: configs.length - 1 }) }) },
);

/** Few IPv4 addresses, mostly sharing keys: many services end up on the same IPs. */
const sharingServiceArb: fc.Arbitrary<ServiceView> = fc
  .record({
    name: fc.constantFrom("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"),
    port: fc.constantFrom("TCP/80", "TCP/443", "UDP/80", "TCP/53", "TCP/8080"),
    sharingKey: fc.constantFrom("k1", "k1", "k1", "k2", ""),
    backendKey: fc.constantFrom("", "", "", "", "app=x"),
  })
  .map((s) => aService(s.name, { ns: "ns2", ports: [s.port], sharingKey: s.sharingKey, backendKey: s.backendKey }));

const sharingOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("allocate" as const), svc: sharingServiceArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("assign" as const),
      svc: sharingServiceArb,
      ips: fc.constantFrom(["10.0.0.254"], ["10.0.1.1"], ["10.0.2.1"], ["10.0.2.6"]),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unassign" as const), svc: sharingServiceArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("setPools" as const), config: fc.constantFrom(0, 1, 2) }) },
);

const inPool = (pool: Pool, a: IPAddress): boolean => pool.cidrs.some((c) => cidrContainsIP(c, a)) && !(pool.avoidBuggyIPs && isBuggyIPv4(a));

/** Counters recomputed from scratch: totals by enumerating the (small) pools, in-use from the allocation records. */
function recount(pools: readonly Pool[], records: readonly AllocationView[]): PoolCounters[] {
  return [...pools]
    .sort((x, y) => (x.name < y.name ? -1 : 1))
    .map((pool) => {
      const total = { IPv4: 0n, IPv6: 0n };
      for (const c of pool.cidrs) {
        for (let v = c.first; v <= c.last; v++) if (inPool(pool, { family: c.family, value: v })) total[c.family]++;
      }
      const used = new Set(records.filter((r) => r.pool === pool.name).flatMap((r) => r.ips.map(formatIP)));
      const inUse = (family: "IPv4" | "IPv6"): bigint => BigInt([...used].filter((t) => ip(t).family === family).length);
      return { pool: pool.name, ipv4Total: total.IPv4, ipv6Total: total.IPv6, ipv4InUse: inUse("IPv4"), ipv6InUse: inUse("IPv6") };
    });
}

function checkInvariants(alloc: Allocator, pools: readonly Pool[], held: ReadonlyMap<string, ServiceView>): void {
  const records = alloc.allocations();
  expect(records.map((r) => r.key)).toEqual([...held.keys()].sort());
  const byIP = new Map<string, AllocationView[]>();
  for (const r of records) {
    const svc = held.get(r.key);
    expect(svc).toBeDefined();
    if (svc === undefined) continue;
    expect([r.ports, r.sharingKey, r.backendKey]).toEqual([svc.ports, svc.sharingKey, svc.backendKey]);
    const pool = pools.find((p) => p.name === r.pool);
    expect(pool).toBeDefined();
    if (pool === undefined) continue;
    expect(r.ips.length === 1 || (r.ips.length === 2 && r.ips[0]?.family !== r.ips[1]?.family)).toBe(true);
    for (const a of r.ips) {
      expect([r.key, formatIP(a), inPool(pool, a)]).toEqual([r.key, formatIP(a), true]);
      expect(svc.families).toContain(a.family);
      byIP.set(formatIP(a), [...(byIP.get(formatIP(a)) ?? []), r]);
    }
  }
  for (const [address, holders] of byIP) {
    expect(alloc.servicesOn(ip(address))).toEqual(holders.map((h) => h.key));
    if (holders.length < 2) continue;
    const ports = holders.flatMap((h) => h.ports.map(portKey));
    const compatible =
      holders.every((h) => h.sharingKey !== "" && h.sharingKey === holders[0]?.sharingKey && h.backendKey === holders[0]?.backendKey) &&
      new Set(ports).size === ports.length &&
      new Set(holders.map((h) => h.pool)).size === 1;
    expect([address, holders.map((h) => h.key), compatible]).toEqual([address, holders.map((h) => h.key), true]);
  }
  expect(alloc.counters()).toEqual(recount(pools, records));
}

function apply(alloc: Allocator, op: Op): { result: { ok: boolean } | null; invalidated: string[] } {
  switch (op.kind) {
    case "allocate":
      return { result: alloc.allocate(op.svc), invalidated: [] };
    case "assign":
      return { result: alloc.assign(op.svc, op.ips.map(ip)), invalidated: [] };
    case "fromPool":
      return { result: alloc.allocateFromPool(op.svc, op.pool), invalidated: [] };
    case "addFamily":
      return { result: alloc.addMissingFamily(op.svc), invalidated: [] };
    case "unassign":
      alloc.unassign(op.svc.key);
      return { result: null, invalidated: [op.svc.key] };
    case "setPools":
      return { result: null, invalidated: alloc.setPools(configs[op.config] ?? []).invalidated };
  }
}

describe("Allocator properties", () => {
  test.each([
    ["mixed operations", opArb],
    ["sharing-heavy operations", sharingOpArb],
  ])("%s: no IP is held by incompatible services; failures change nothing; counters equal a recount", (_name, arb) => {
    fc.assert(
      fc.property(fc.array(arb, { minLength: 1, maxLength: 60 }), (ops) => {
        const alloc = new Allocator();
        let pools = configs[0] ?? [];
        alloc.setPools(pools);
        const held = new Map<string, ServiceView>();
        for (const op of ops) {
          const before = alloc.allocations();
          const { result, invalidated } = apply(alloc, op);
          if (op.kind === "setPools") {
            pools = configs[op.config] ?? [];
            // IPs never move: every survivor keeps exactly its IPs
            const after = new Map(alloc.allocations().map((r) => [r.key, r.ips]));
            for (const r of before) expect(invalidated.includes(r.key) ? null : r.ips).toEqual(after.get(r.key) ?? null);
          }
          for (const key of invalidated) held.delete(key);
          if (result !== null && op.kind !== "setPools") {
            if (result.ok) held.set(op.svc.key, op.svc);
            else expect(alloc.allocations()).toEqual(before);
          }
          checkInvariants(alloc, pools, held);
        }
      }),
      { numRuns: 250 },
    );
  });

  test("releasing everything restores every counter", () => {
    fc.assert(
      fc.property(fc.array(serviceArb, { maxLength: 30 }), (services) => {
        const alloc = new Allocator();
        alloc.setPools(configs[0] ?? []);
        const empty = alloc.counters();
        for (const svc of services) alloc.allocate(svc);
        for (const svc of services) alloc.unassign(svc.key);
        expect(alloc.counters()).toEqual(empty);
        expect(alloc.allocations()).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
