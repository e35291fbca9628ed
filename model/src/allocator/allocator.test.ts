import { describe, expect, test } from "@jest/globals";
import type { Pool } from "../config/types.js";
import { Allocator } from "./allocator.js";
import { aPool, aService, ip, runStep, type Step } from "./testdata/fixtures.js";

interface Scenario {
  readonly pools: readonly Pool[];
  readonly steps: readonly Step[];
}

function run(scenario: Scenario): void {
  const alloc = new Allocator();
  expect(alloc.setPools(scenario.pools).invalidated).toEqual([]);
  for (const step of scenario.steps) {
    const { got, want } = runStep(alloc, step);
    expect([step.desc, got]).toEqual([step.desc, want]); // the description shows in the diff
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Explicit assignment (spec.loadBalancerIP, metallb.io/loadBalancerIPs, status re-registration).

const v4 = (name: string, more: Parameters<typeof aService>[1] = {}): ReturnType<typeof aService> => aService(name, more);
const v6 = (name: string): ReturnType<typeof aService> => aService(name, { families: ["IPv6"] });
const dual = (name: string, policy: "PreferDualStack" | "RequireDualStack" = "PreferDualStack"): ReturnType<typeof aService> =>
  aService(name, { families: ["IPv4", "IPv6"], policy });

const assignmentPools = [
  aPool("test", ["1.2.3.0/28", "1000::/124"]),
  aPool("avoid", ["1.2.4.0/24"], { avoidBuggyIPs: true }),
  aPool("manual", ["1.2.5.0/30"], { autoAssign: false }),
  aPool("team-a", ["1.2.6.0/30"], { serviceAllocation: { namespaces: ["team-a"] } }),
];

const assignment: Scenario = {
  pools: assignmentPools,
  steps: [
    { desc: "assign s1", assign: v4("s1"), ips: ["1.2.3.4"], want: "test 1.2.3.4" },
    { desc: "s1 idempotent reassign", assign: v4("s1"), ips: ["1.2.3.4"], want: "test 1.2.3.4" },
    { desc: "s2 can't grab s1's IP", assign: v4("s2"), ips: ["1.2.3.4"], want: "InUse" },
    { desc: "s2 takes an IPv6 address", assign: v6("s2"), ips: ["1000::1"], want: "test 1000::1" },
    { desc: "s1 moves to another IP", assign: v4("s1"), ips: ["1.2.3.5"], want: "test 1.2.3.5" },
    { desc: "s2 now gets s1's old IP (and drops its IPv6)", assign: v4("s2"), ips: ["1.2.3.4"], want: "test 1.2.3.4" },
    { desc: "s2's IPv6 is free again", assign: v6("s3"), ips: ["1000::1"], want: "test 1000::1" },
    { desc: "IPv4 outside every pool", assign: v4("s4"), ips: ["9.9.9.9"], want: "NotAllowedByConfig" },
    { desc: "IPv6 outside every pool", assign: v6("s4"), ips: ["1001::1"], want: "NotAllowedByConfig" },
    { desc: "x.x.x.0 of an avoidBuggyIPs pool", assign: v4("s4"), ips: ["1.2.4.0"], want: "NotAllowedByConfig" },
    { desc: "x.x.x.255 of an avoidBuggyIPs pool", assign: v4("s4"), ips: ["1.2.4.255"], want: "NotAllowedByConfig" },
    { desc: "a normal IP of an avoidBuggyIPs pool", assign: v4("s4"), ips: ["1.2.4.1"], want: "avoid 1.2.4.1" },
    { desc: "x.x.x.0 of a pool without avoidBuggyIPs", assign: v4("s5"), ips: ["1.2.3.0"], want: "test 1.2.3.0" },
    { desc: "autoAssign: false pools accept explicit IPs", assign: v4("s6"), ips: ["1.2.5.1"], want: "manual 1.2.5.1" },
    { desc: "pinned pool refuses another namespace", assign: v4("s7"), ips: ["1.2.6.1"], want: "IncompatiblePool" },
    { desc: "pinned pool accepts its namespace", assign: v4("s7", { ns: "team-a" }), ips: ["1.2.6.1"], want: "team-a 1.2.6.1" },
    { desc: "three IPs", assign: dual("s8"), ips: ["1.2.3.8", "1000::8", "1.2.3.9"], want: "TooManyIPs" },
    { desc: "two IPv4 IPs", assign: dual("s8"), ips: ["1.2.3.8", "1.2.3.9"], want: "FamilyMismatch" },
    { desc: "IPv6 IP for an IPv4 service", assign: v4("s8"), ips: ["1000::8"], want: "FamilyMismatch" },
    { desc: "two IPs for a SingleStack service", assign: aService("s8", { families: ["IPv4", "IPv6"] }), ips: ["1.2.3.8", "1000::8"], want: "FamilyMismatch" },
    { desc: "RequireDualStack with one IP", assign: dual("s8", "RequireDualStack"), ips: ["1.2.3.8"], want: "FamilyMismatch" },
    { desc: "dual-stack pair from one pool", assign: dual("s8", "RequireDualStack"), ips: ["1.2.3.8", "1000::8"], want: "test 1.2.3.8,1000::8" },
    { desc: "dual-stack pair across pools", assign: dual("s9"), ips: ["1.2.4.9", "1000::9"], want: "NotAllowedByConfig" },
    { desc: "no IPs", assign: v4("s9"), ips: [], want: "FamilyMismatch" },
    { desc: "failures left everything in place", holds: { "default/s1": "test 1.2.3.5", "default/s2": "test 1.2.3.4", "default/s9": null } },
    { desc: "release s1", release: "default/s1", want: true },
    { desc: "release s1 again", release: "default/s1", want: false },
    { desc: "s1 holds nothing", holds: { "default/s1": null } },
    {
      desc: "counters",
      counters: { avoid: "v4 1/254, v6 0/0", manual: "v4 1/4, v6 0/0", "team-a": "v4 1/4, v6 0/0", test: "v4 3/16, v6 2/16" },
    },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// Sharing (reference §2.5).

const sharer = (name: string, sharingKey: string, ports: string[], backendKey = ""): ReturnType<typeof aService> =>
  aService(name, { sharingKey, ports, backendKey });

const sharing: Scenario = {
  pools: [aPool("test", ["10.0.0.0/29"])],
  steps: [
    { desc: "a takes .1 with key k", assign: sharer("a", "k", ["TCP/80"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
    { desc: "b shares it on another port", assign: sharer("b", "k", ["TCP/443"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
    { desc: "UDP/80 and TCP/80 are distinct", assign: sharer("f", "k", ["UDP/80"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
    { desc: "new service without a key", assign: sharer("c", "", ["TCP/53"]), ips: ["10.0.0.1"], want: "InUse" },
    { desc: "different sharing key", assign: sharer("d", "other", ["TCP/8080"]), ips: ["10.0.0.1"], want: "SharingKeyMismatch" },
    { desc: "different backend key", assign: sharer("e", "k", ["TCP/9000"], "app=x"), ips: ["10.0.0.1"], want: "BackendMismatch" },
    { desc: "overlapping port", assign: sharer("g", "k", ["TCP/8000", "TCP/80"]), ips: ["10.0.0.1"], want: "PortConflict" },
    { desc: "c takes .2 without a key", assign: sharer("c", "", ["TCP/53"]), ips: ["10.0.0.2"], want: "test 10.0.0.2" },
    { desc: "existing holder does not allow sharing", assign: sharer("h", "k", ["TCP/1"]), ips: ["10.0.0.2"], want: "InUse" },
    { desc: "holders of .1", servicesOn: "10.0.0.1", want: ["default/a", "default/b", "default/f"] },
    { desc: "a can't change its key while sharing", assign: sharer("a", "x", ["TCP/80"]), ips: ["10.0.0.1"], want: "SharingKeyMismatch" },
    { desc: "a can't change its backend while sharing", assign: sharer("a", "k", ["TCP/80"], "app=y"), ips: ["10.0.0.1"], want: "BackendMismatch" },
    { desc: "a may change its own ports", assign: sharer("a", "k", ["TCP/81"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
    { desc: "TCP/80 is free on .1 again", assign: sharer("g", "k", ["TCP/80"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
    { desc: "a can't take g's port", assign: sharer("a", "k", ["TCP/80"]), ips: ["10.0.0.1"], want: "PortConflict" },
    { desc: "c, sole owner, changes its key", assign: sharer("c", "new", ["TCP/53"]), ips: ["10.0.0.2"], want: "test 10.0.0.2" },
    { desc: "key k does not match c's new key", assign: sharer("h", "k", ["TCP/1"]), ips: ["10.0.0.2"], want: "SharingKeyMismatch" },
    { desc: "key new matches", assign: sharer("h", "new", ["TCP/1"]), ips: ["10.0.0.2"], want: "test 10.0.0.2" },
    { desc: "shared IPs count once", counters: { test: "v4 2/8, v6 0/0" } },
    { desc: "same config again", setPools: [aPool("test", ["10.0.0.0/29"])], invalidated: [] },
    { desc: "sharing survives setPools", servicesOn: "10.0.0.1", want: ["default/a", "default/b", "default/f", "default/g"] },
    { desc: "release b", release: "default/b", want: true },
    { desc: "release f", release: "default/f", want: true },
    { desc: "release g", release: "default/g", want: true },
    { desc: "a, now alone, changes key", assign: sharer("a", "x", ["TCP/80"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
    { desc: "release a frees .1", release: "default/a", want: true },
    { desc: "counters after releases", counters: { test: "v4 1/8, v6 0/0" } },
    { desc: ".1 is free for anybody", assign: sharer("z", "", ["TCP/80"]), ips: ["10.0.0.1"], want: "test 10.0.0.1" },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// Automatic allocation, address-pool annotation.

const automatic: Scenario = {
  pools: [aPool("p", ["10.0.0.0/30"]), aPool("manual", ["10.0.1.0/30"], { autoAssign: false })],
  steps: [
    { desc: "s1 gets the lowest", allocate: v4("s1"), want: "p 10.0.0.0" },
    { desc: "s2", allocate: v4("s2"), want: "p 10.0.0.1" },
    { desc: "s3", allocate: v4("s3"), want: "p 10.0.0.2" },
    { desc: "s4", allocate: v4("s4"), want: "p 10.0.0.3" },
    { desc: "autoAssign: false pool is skipped", allocate: v4("s5"), want: "PoolExhausted" },
    { desc: "s1 keeps its IP", allocate: v4("s1"), want: "p 10.0.0.0" },
    { desc: "release s2", release: "default/s2", want: true },
    { desc: "s5 gets the freed, lowest IP", allocate: v4("s5"), want: "p 10.0.0.1" },
    { desc: "address-pool annotation on an autoAssign: false pool", fromPool: v4("s6"), pool: "manual", want: "manual 10.0.1.0" },
    { desc: "unknown pool", fromPool: v4("s7"), pool: "nope", want: "UnknownPool" },
    { desc: "moving to a full pool fails", fromPool: v4("s6"), pool: "p", want: "PoolExhausted" },
    { desc: "s6 still holds its IP", holds: { "default/s6": "manual 10.0.1.0" } },
    { desc: "release s3", release: "default/s3", want: true },
    { desc: "s6 moves to p", fromPool: v4("s6"), pool: "p", want: "p 10.0.0.2" },
    { desc: "s1 stays in its pool", fromPool: v4("s1"), pool: "p", want: "p 10.0.0.0" },
    { desc: "ports are re-checked when kept", allocate: v4("s1", { ports: ["TCP/443"] }), want: "p 10.0.0.0" },
    { desc: "counters", counters: { manual: "v4 0/4, v6 0/0", p: "v4 4/4, v6 0/0" } },
  ],
};

const specOrder: Scenario = {
  pools: [aPool("ordered", ["10.0.2.0/31", "10.0.1.0/31"]), aPool("range", ["10.0.3.254-10.0.4.1"], { avoidBuggyIPs: true, autoAssign: false })],
  steps: [
    { desc: "first CIDR of the spec first", allocate: v4("a"), want: "ordered 10.0.2.0" },
    { desc: "then its next address", allocate: v4("b"), want: "ordered 10.0.2.1" },
    { desc: "then the second CIDR", allocate: v4("c"), want: "ordered 10.0.1.0" },
    { desc: "range skips .255 and .0", fromPool: v4("d"), pool: "range", want: "range 10.0.3.254" },
    { desc: "next non-buggy", fromPool: v4("e"), pool: "range", want: "range 10.0.4.1" },
    { desc: "range exhausted", fromPool: v4("f"), pool: "range", want: "PoolExhausted" },
    { desc: "totals exclude buggy IPs", counters: { ordered: "v4 3/4, v6 0/0", range: "v4 2/2, v6 0/0" } },
  ],
};

const colocation: Scenario = {
  pools: [aPool("p", ["10.0.0.0/29"])],
  steps: [
    { desc: "x without key", allocate: v4("x"), want: "p 10.0.0.0" },
    { desc: "a with key k", allocate: sharer("a", "k", ["TCP/80"]), want: "p 10.0.0.1" },
    { desc: "y without key", allocate: v4("y"), want: "p 10.0.0.2" },
    { desc: "x leaves: .0 is free", release: "default/x", want: true },
    { desc: "b joins a on .1 rather than the lower free .0", allocate: sharer("b", "k", ["TCP/443"]), want: "p 10.0.0.1" },
    { desc: "c clashes on TCP/80: lowest free", allocate: sharer("c", "k", ["TCP/80"]), want: "p 10.0.0.0" },
    { desc: "d has another backend: lowest free", allocate: sharer("d", "k", ["TCP/80"], "app=z"), want: "p 10.0.0.3" },
    { desc: "e fits on the lowest shared IP", allocate: sharer("e", "k", ["TCP/8443"]), want: "p 10.0.0.0" },
    { desc: "f joins d's backend", allocate: sharer("f", "k", ["UDP/53"], "app=z"), want: "p 10.0.0.3" },
    { desc: "y's unshared IP is never offered", allocate: sharer("g", "", ["TCP/1"]), want: "p 10.0.0.4" },
    { desc: "counters", counters: { p: "v4 5/8, v6 0/0" } },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// serviceAllocation (reference §2.8).

const pinning: Scenario = {
  pools: [
    aPool("aaa-prio0", ["10.0.3.0/32"], { serviceAllocation: { namespaces: ["team"] } }),
    aPool("p-prio2", ["10.0.2.0/32"], { serviceAllocation: { namespaces: ["team"], priority: 2 } }),
    aPool("z-prio1", ["10.0.1.0/32"], { serviceAllocation: { namespaces: ["team"], priority: 1 } }),
    aPool("y-prio1", ["10.0.4.0/32"], { serviceAllocation: { serviceSelectors: [{ app: "web" }], priority: 1 } }),
    aPool("web-manual", ["10.0.5.0/32"], { serviceAllocation: { serviceSelectors: [{ app: "web" }] }, autoAssign: false }),
    aPool("both", ["10.0.6.0/32"], { serviceAllocation: { namespaces: ["team"], serviceSelectors: [{ tier: "db" }] } }),
    aPool("gen-b", ["10.0.7.0/32"]),
    aPool("gen-a", ["10.0.8.0/32"]),
  ],
  steps: [
    { desc: "unpinned service: general pools by name", allocate: v4("o1"), want: "gen-a 10.0.8.0" },
    { desc: "then the next general pool", allocate: v4("o2"), want: "gen-b 10.0.7.0" },
    { desc: "pinned pools are not for others", allocate: v4("o3"), want: "PoolExhausted" },
    { desc: "team + app=web: tie at priority 1 broken by name", allocate: v4("tw", { ns: "team", labels: { app: "web" } }), want: "y-prio1 10.0.4.0" },
    { desc: "team: priority 1", allocate: v4("t1", { ns: "team" }), want: "z-prio1 10.0.1.0" },
    { desc: "team: priority 2", allocate: v4("t2", { ns: "team" }), want: "p-prio2 10.0.2.0" },
    { desc: "team: priority 0 comes last", allocate: v4("t3", { ns: "team" }), want: "aaa-prio0 10.0.3.0" },
    { desc: "team: 'both' needs tier=db", allocate: v4("t4", { ns: "team" }), want: "PoolExhausted" },
    { desc: "team + tier=db", allocate: v4("db", { ns: "team", labels: { tier: "db" } }), want: "both 10.0.6.0" },
    { desc: "tier=db elsewhere is not pinned", allocate: v4("db2", { ns: "other", labels: { tier: "db" } }), want: "PoolExhausted" },
    { desc: "o1 leaves", release: "default/o1", want: true },
    { desc: "team falls back to the general pools", allocate: v4("t4", { ns: "team" }), want: "gen-a 10.0.8.0" },
    { desc: "autoAssign: false pinned pool is skipped", allocate: v4("w", { ns: "web", labels: { app: "web" } }), want: "PoolExhausted" },
    { desc: "but reachable by annotation", fromPool: v4("w", { ns: "web", labels: { app: "web" } }), pool: "web-manual", want: "web-manual 10.0.5.0" },
    { desc: "annotation to an incompatible pool", fromPool: v4("o3"), pool: "z-prio1", want: "IncompatiblePool" },
  ],
};

const namespaceSelectors: Scenario = {
  pools: [aPool("prod", ["10.0.0.0/31"], { serviceAllocation: { namespaceSelectors: [{ env: "prod" }] } }), aPool("gen", ["10.0.1.0/31"])],
  steps: [
    { desc: "labels unknown: not pinned", allocate: v4("a", { ns: "shop" }), want: "gen 10.0.1.0" },
    { desc: "current namespace labels match", allocate: v4("b", { ns: "shop", namespaceLabels: { env: "prod" } }), want: "prod 10.0.0.0" },
    { desc: "labels that do not match", allocate: v4("c", { ns: "dev", namespaceLabels: { env: "dev" } }), want: "gen 10.0.1.1" },
    { desc: "explicit IP in the pinned pool, wrong namespace", assign: v4("d", { ns: "dev" }), ips: ["10.0.0.1"], want: "IncompatiblePool" },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// IP families (reference §2.4).

const v6first = (name: string): ReturnType<typeof aService> => aService(name, { families: ["IPv6", "IPv4"], policy: "PreferDualStack" });

const families: Scenario = {
  pools: [aPool("v4only", ["10.0.0.0/31"]), aPool("dual", ["10.1.0.0/31", "fd00::/127"]), aPool("v6only", ["fd01::/127"])],
  steps: [
    { desc: "SingleStack IPv4: first pool by name", allocate: v4("s1"), want: "dual 10.1.0.0" },
    { desc: "RequireDualStack: both from one pool", allocate: dual("r1", "RequireDualStack"), want: "dual 10.1.0.1,fd00::" },
    { desc: "RequireDualStack: no pool has both left", allocate: dual("r2", "RequireDualStack"), want: "PoolExhausted" },
    { desc: "PreferDualStack, IPv6 primary: single IPv6", allocate: v6first("p1"), want: "dual fd00::1" },
    { desc: "PreferDualStack, IPv4 primary: single IPv4", allocate: dual("p2"), want: "v4only 10.0.0.0" },
    { desc: "no IPv6 in p2's pool", addFamily: dual("p2"), want: "PoolExhausted" },
    { desc: "r1 leaves", release: "default/r1", want: true },
    { desc: "still never from another pool", addFamily: dual("p2"), want: "PoolExhausted" },
    { desc: "p1 gets its IPv4 from its own pool, primary first", addFamily: v6first("p1"), want: "dual fd00::1,10.1.0.1" },
    { desc: "nothing more to add", addFamily: v6first("p1"), want: "dual fd00::1,10.1.0.1" },
    { desc: "addFamily without an allocation", addFamily: dual("p3"), want: "NotAllocated" },
    { desc: "PreferDualStack with one family", allocate: aService("p4", { families: ["IPv6"], policy: "PreferDualStack" }), want: "dual fd00::" },
    { desc: "SingleStack IPv6 when dual is full", allocate: v6("s2"), want: "v6only fd01::" },
    { desc: "RequireDualStack with one cluster IP family", allocate: aService("r3", { policy: "RequireDualStack" }), want: "FamilyMismatch" },
    { desc: "no cluster IPs", allocate: aService("r4", { families: [] }), want: "FamilyMismatch" },
    {
      desc: "PreferDualStack takes both when a pool has both",
      setPools: [
        aPool("v4only", ["10.0.0.0/31"]),
        aPool("dual", ["10.1.0.0/31", "fd00::/127"]),
        aPool("v6only", ["fd01::/127"]),
        aPool("big", ["10.2.0.0/24", "fd02::/120"]),
      ],
      invalidated: [],
    },
    { desc: "p5 dual from 'big'", allocate: dual("p5"), want: "big 10.2.0.0,fd02::" },
    { desc: "policy changed to SingleStack: kept IPs no longer fit", allocate: aService("p5", { families: ["IPv4", "IPv6"] }), want: "FamilyMismatch" },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// Config reload (reference §3.4, MetalLB's TestConfigReload).

const reload: Scenario = {
  pools: [aPool("p", ["10.0.0.0/29"]), aPool("q", ["fd00::/126"])],
  steps: [
    { desc: "s1 allocated", allocate: v4("s1"), want: "p 10.0.0.0" },
    { desc: "s2 assigned", assign: v4("s2"), ips: ["10.0.0.5"], want: "p 10.0.0.5" },
    { desc: "s3 assigned", assign: v4("s3"), ips: ["10.0.0.3"], want: "p 10.0.0.3" },
    { desc: "s6 IPv6", assign: v6("s6"), ips: ["fd00::2"], want: "q fd00::2" },
    { desc: "same config is a no-op", setPools: [aPool("p", ["10.0.0.0/29"]), aPool("q", ["fd00::/126"])], invalidated: [] },
    { desc: "expand", setPools: [aPool("p", ["10.0.0.0/28"]), aPool("q", ["fd00::/126"])], invalidated: [] },
    { desc: "nothing moved", holds: { "default/s1": "p 10.0.0.0", "default/s2": "p 10.0.0.5", "default/s3": "p 10.0.0.3" } },
    { desc: "new lowest skips held IPs", allocate: v4("s4"), want: "p 10.0.0.1" },
    { desc: "shrink, keeping every IP", setPools: [aPool("p", ["10.0.0.0/29"]), aPool("q", ["fd00::/126"])], invalidated: [] },
    { desc: "shrink below s2's IP", setPools: [aPool("p", ["10.0.0.0/30"]), aPool("q", ["fd00::/126"])], invalidated: ["default/s2"] },
    { desc: "s2 is unassigned", holds: { "default/s2": null, "default/s3": "p 10.0.0.3" } },
    { desc: "counters after shrink", counters: { p: "v4 3/4, v6 0/0", q: "v4 0/0, v6 1/4" } },
    { desc: "rename", setPools: [aPool("p2", ["10.0.0.0/30"]), aPool("q", ["fd00::/126"])], invalidated: [] },
    { desc: "re-homed under the new name", holds: { "default/s1": "p2 10.0.0.0", "default/s3": "p2 10.0.0.3" } },
    {
      desc: "split",
      setPools: [aPool("left", ["10.0.0.0/31"]), aPool("right", ["10.0.0.2/31"]), aPool("q", ["fd00::/126"])],
      invalidated: [],
    },
    { desc: "each in its half", holds: { "default/s1": "left 10.0.0.0", "default/s4": "left 10.0.0.1", "default/s3": "right 10.0.0.3" } },
    {
      desc: "enable avoidBuggyIPs",
      setPools: [aPool("left", ["10.0.0.0/31"], { avoidBuggyIPs: true }), aPool("right", ["10.0.0.2/31"]), aPool("q", ["fd00::/126"])],
      invalidated: ["default/s1"],
    },
    {
      desc: "IPv6 shrink",
      setPools: [aPool("left", ["10.0.0.0/31"], { avoidBuggyIPs: true }), aPool("right", ["10.0.0.2/31"]), aPool("q", ["fd00::/127"])],
      invalidated: ["default/s6"],
    },
    { desc: "counters", counters: { left: "v4 1/1, v6 0/0", q: "v4 0/0, v6 0/2", right: "v4 1/2, v6 0/0" } },
    { desc: "delete right", setPools: [aPool("left", ["10.0.0.0/31"], { avoidBuggyIPs: true }), aPool("q", ["fd00::/127"])], invalidated: ["default/s3"] },
    { desc: "delete all", setPools: [], invalidated: ["default/s4"] },
    { desc: "no pools, no counters", counters: {} },
    { desc: "nothing to allocate from", allocate: v4("s5"), want: "PoolExhausted" },
    { desc: "nothing allowed", assign: v4("s5"), ips: ["10.0.0.1"], want: "NotAllowedByConfig" },
    { desc: "pool back: s4's old IP is free", setPools: [aPool("p", ["10.0.0.0/30"])], invalidated: [] },
    { desc: "lowest again", allocate: v4("s5"), want: "p 10.0.0.0" },
  ],
};

describe("Allocator scenarios", () => {
  test.each<[string, Scenario]>([
    ["explicit assignment", assignment],
    ["sharing", sharing],
    ["automatic allocation", automatic],
    ["CIDR spec order and avoidBuggyIPs ranges", specOrder],
    ["colocation of shared services", colocation],
    ["serviceAllocation pinning", pinning],
    ["namespace selectors with current labels", namespaceSelectors],
    ["IP families", families],
    ["config reload", reload],
  ])("%s", (_name, scenario) => run(scenario));
});

describe("Allocator details", () => {
  test.each<[string, () => unknown, unknown]>([
    [
      "not allowed in config",
      () => {
        const a = new Allocator();
        a.setPools([aPool("p", ["10.0.0.0/30"])]);
        return a.assign(v4("s"), [ip("10.0.0.9")]);
      },
      { ok: false, error: { code: "NotAllowedByConfig", message: '"10.0.0.9" is not allowed in config' } },
    ],
    ["no available IPs", () => new Allocator().allocate(v4("s")), { ok: false, error: { code: "PoolExhausted", message: "no available IPs" } }],
    [
      "port in use",
      () => {
        const a = new Allocator();
        a.setPools([aPool("p", ["10.0.0.0/30"])]);
        a.assign(sharer("a", "k", ["TCP/80"]), [ip("10.0.0.1")]);
        return a.assign(sharer("b", "k", ["TCP/80"]), [ip("10.0.0.1")]);
      },
      { ok: false, error: { code: "PortConflict", message: 'port TCP/80 is already in use on "10.0.0.1"' } },
    ],
    ["unknown pool", () => new Allocator().allocateFromPool(v4("s"), "gold"), { ok: false, error: { code: "UnknownPool", message: 'unknown pool "gold"' } }],
  ])("message: %s", (_desc, f, want) => expect(f()).toEqual(want));

  test("setPools rejects overlapping pools and duplicate names", () => {
    const a = new Allocator();
    expect(() => a.setPools([aPool("a", ["10.0.0.0/24"]), aPool("b", ["10.0.0.128/25"])])).toThrow(/overlaps/);
    expect(() => a.setPools([aPool("a", ["10.0.0.0/24"]), aPool("a", ["10.0.1.0/24"])])).toThrow(/duplicate/);
  });

  test("allocations() and sharingOf() describe the records", () => {
    const a = new Allocator();
    a.setPools([aPool("p", ["10.0.0.0/30"])]);
    a.allocate(sharer("a", "k", ["TCP/80"], "app=x"));
    expect(a.sharingOf("default/a")).toEqual({ sharingKey: "k", backendKey: "app=x" });
    expect(a.sharingOf("default/zz")).toBeNull();
    expect(a.allocations()).toEqual([
      { key: "default/a", pool: "p", ips: [ip("10.0.0.0")], ports: [{ protocol: "TCP", port: 80 }], sharingKey: "k", backendKey: "app=x" },
    ]);
    expect(a.isAllocated("default/a")).toBe(true);
    expect(a.ipsOf("default/zz")).toEqual([]);
  });

  test("an IPv6 /64 pool allocates without enumerating it", () => {
    const a = new Allocator();
    a.setPools([aPool("big", ["fd00::/64"])]);
    for (let i = 0; i < 2000; i++) expect(a.allocate(v6(`s${i}`)).ok).toBe(true);
    expect(a.counters()).toEqual([{ pool: "big", ipv4Total: 0n, ipv6Total: 1n << 64n, ipv4InUse: 0n, ipv6InUse: 2000n }]);
  });
});
