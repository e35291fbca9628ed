import { createHash } from "node:crypto";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { anL2Advertisement, aPool, deepFreeze, validConfig } from "../config/testdata/builders.js";
import type { ClusterResources, Config } from "../config/types.js";
import { formatIP } from "../net/ip.js";
import { electionHash, planL2Announcements, type L2Plan, type L2PlanSkipReason, type L2ServiceView, type NodeView } from "./plan.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";

const configOf = (parts: Partial<ClusterResources>): Config =>
  validConfig({ pools: [aPool("pool-a", ["198.51.100.0/24", "2001:db8::/120"]), aPool("pool-b", ["203.0.113.0/24"])], ...parts });

const aNodeView = (name: string, labels: Record<string, string> = {}, extra: Partial<NodeView> = {}): NodeView => ({
  name,
  labels,
  networkUnavailable: false,
  excludedFromLoadBalancers: false,
  ...extra,
});

const NODES: readonly NodeView[] = deepFreeze([
  aNodeView("node1", { zone: "a", rack: "r1" }),
  aNodeView("node2", { zone: "a", rack: "r2" }),
  aNodeView("node3", { zone: "b", rack: "r1" }),
  aNodeView("node4", { zone: "b", rack: "r2" }),
]);
const ALL = ["node1", "node2", "node3", "node4"];

function service(key: string, ips: string[], extra: Partial<L2ServiceView> = {}): L2ServiceView {
  return deepFreeze({
    key,
    ips: ips.map(ip),
    pool: "pool-a",
    labels: {},
    sharingKey: "",
    externalTrafficPolicy: "Cluster",
    nodesWithServingEndpoints: ["node1"],
    ...extra,
  });
}

/** The reference order, computed with node:crypto (an independent SHA-256): MetalLB's sortL2Candidates with no scores. */
function hashOrder(nodes: readonly string[], firstIP: string): string[] {
  const digest = (n: string): string => createHash("sha256").update(`${n}#${firstIP}`).digest("hex");
  return [...nodes].sort((a, b) => (digest(a) < digest(b) ? -1 : digest(a) > digest(b) ? 1 : 0));
}

const candidatesOf = (plan: L2Plan, text: string): string[] | undefined => plan.ips.find((e) => formatIP(e.ip) === text)?.candidates.map((c) => c.node);

function outcomeOf(plan: L2Plan, key: string): L2PlanSkipReason | "announced" | undefined {
  const o = plan.services.find((s) => s.service === key);
  return o === undefined ? undefined : o.announced ? "announced" : o.reason;
}

describe("planL2Announcements: whether a service is announced", () => {
  type Case = [desc: string, parts: Partial<ClusterResources>, svc: Partial<L2ServiceView>, nodes: readonly NodeView[], want: L2PlanSkipReason | "announced"];
  const adv = anL2Advertisement("adv");
  test.each<Case>([
    ["announced with one default advertisement", { l2Advertisements: [adv] }, {}, NODES, "announced"],
    ["no IP assigned yet", { l2Advertisements: [adv] }, { ips: [] }, NODES, "noIPs"],
    ["no L2 advertisement at all", {}, {}, NODES, "noMatchingAdvertisement"],
    [
      "the advertisement selects another pool",
      { l2Advertisements: [anL2Advertisement("adv", { ipAddressPools: ["pool-b"] })] },
      {},
      NODES,
      "noMatchingAdvertisement",
    ],
    [
      "service selectors do not match",
      { l2Advertisements: [anL2Advertisement("adv", { serviceSelectors: [{ matchLabels: { app: "x" } }] })] },
      {},
      NODES,
      "noMatchingAdvertisement",
    ],
    [
      "service selectors match",
      { l2Advertisements: [anL2Advertisement("adv", { serviceSelectors: [{ matchLabels: { app: "x" } }] })] },
      { labels: { app: "x" } },
      NODES,
      "announced",
    ],
    [
      "shared IP and a matching advertisement with service selectors",
      { l2Advertisements: [adv, anL2Advertisement("adv-x", { serviceSelectors: [{ matchLabels: { app: "x" } }] })] },
      { labels: { app: "x" }, sharingKey: "k" },
      NODES,
      "sharedIPWithServiceSelector",
    ],
    [
      "shared IP and an advertisement with service selectors that does not match",
      { l2Advertisements: [adv, anL2Advertisement("adv-x", { serviceSelectors: [{ matchLabels: { app: "x" } }] })] },
      { sharingKey: "k" },
      NODES,
      "announced",
    ],
    ["Cluster without any serving endpoint", { l2Advertisements: [adv] }, { nodesWithServingEndpoints: [] }, NODES, "noServingEndpoints"],
    ["Cluster with an endpoint on a non-candidate node", { l2Advertisements: [adv] }, { nodesWithServingEndpoints: ["elsewhere"] }, NODES, "announced"],
    [
      "node selectors match no node",
      { l2Advertisements: [anL2Advertisement("adv", { nodeSelectors: [{ matchLabels: { zone: "c" } }] })] },
      {},
      NODES,
      "noEligibleNodes",
    ],
    [
      "every node excluded or unavailable",
      { l2Advertisements: [adv] },
      {},
      [aNodeView("node1", {}, { excludedFromLoadBalancers: true }), aNodeView("node2", {}, { networkUnavailable: true })],
      "noEligibleNodes",
    ],
    ["no speaker nodes at all", { l2Advertisements: [adv] }, {}, [], "noEligibleNodes"],
    ["Local without any endpoint", { l2Advertisements: [adv] }, { externalTrafficPolicy: "Local", nodesWithServingEndpoints: [] }, NODES, "noLocalEndpoints"],
    [
      "Local with endpoints only on non-selected nodes",
      { l2Advertisements: [anL2Advertisement("adv", { nodeSelectors: [{ matchLabels: { zone: "b" } }] })] },
      { externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node1", "node2"] },
      NODES,
      "noLocalEndpoints",
    ],
    [
      "Local with an endpoint on a candidate",
      { l2Advertisements: [adv] },
      { externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node2"] },
      NODES,
      "announced",
    ],
  ])("%s", (_desc, parts, svc, nodes, want) => {
    const plan = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.1"], svc)], deepFreeze(nodes));
    expect(outcomeOf(plan, "ns/svc")).toBe(want);
    expect(plan.ips.length).toBe(want === "announced" ? 1 : 0);
  });
});

describe("planL2Announcements: candidates", () => {
  type Case = [desc: string, parts: Partial<ClusterResources>, svc: Partial<L2ServiceView>, nodes: readonly NodeView[], want: string[]];
  const adv = anL2Advertisement("adv");
  test.each<Case>([
    ["empty nodeSelectors: every node", { l2Advertisements: [adv] }, {}, NODES, ALL],
    [
      "nodeSelectors pick nodes",
      { l2Advertisements: [anL2Advertisement("adv", { nodeSelectors: [{ matchLabels: { zone: "a" } }] })] },
      {},
      NODES,
      ["node1", "node2"],
    ],
    [
      "union over the matching advertisements",
      {
        l2Advertisements: [
          anL2Advertisement("adv-1", { nodeSelectors: [{ matchLabels: { zone: "a", rack: "r1" } }] }),
          anL2Advertisement("adv-2", { nodeSelectors: [{ matchLabels: { zone: "b", rack: "r2" } }] }),
        ],
      },
      {},
      NODES,
      ["node1", "node4"],
    ],
    [
      "an advertisement of another pool does not add nodes",
      {
        l2Advertisements: [
          anL2Advertisement("adv-1", { nodeSelectors: [{ matchLabels: { zone: "a" } }] }),
          anL2Advertisement("adv-2", { ipAddressPools: ["pool-b"] }),
        ],
      },
      {},
      NODES,
      ["node1", "node2"],
    ],
    [
      "an advertisement whose serviceSelectors do not match does not add nodes",
      {
        l2Advertisements: [
          anL2Advertisement("adv-1", { nodeSelectors: [{ matchLabels: { zone: "a" } }] }),
          anL2Advertisement("adv-2", { serviceSelectors: [{ matchLabels: { app: "other" } }] }),
        ],
      },
      {},
      NODES,
      ["node1", "node2"],
    ],
    [
      "network-unavailable and excluded nodes are dropped",
      { l2Advertisements: [adv] },
      {},
      [
        aNodeView("node1", {}, { networkUnavailable: true }),
        aNodeView("node2"),
        aNodeView("node3", {}, { excludedFromLoadBalancers: true }),
        aNodeView("node4"),
      ],
      ["node2", "node4"],
    ],
    [
      "Local: only nodes with a serving endpoint",
      { l2Advertisements: [adv] },
      { externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node3", "node1", "ghost"] },
      NODES,
      ["node1", "node3"],
    ],
    ["Cluster: endpoints do not restrict candidates", { l2Advertisements: [adv] }, { nodesWithServingEndpoints: ["node3"] }, NODES, ALL],
  ])("%s", (_desc, parts, svc, nodes, want) => {
    const plan = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.1"], svc)], deepFreeze(nodes));
    expect(candidatesOf(plan, "198.51.100.1")).toEqual(hashOrder(want, "198.51.100.1"));
  });
});

describe("planL2Announcements: candidate order", () => {
  test("without preferences: sha256(node#ip) ascending, as MetalLB", () => {
    const many = Array.from({ length: 12 }, (_, i) => aNodeView(`worker-${i}`));
    const plan = planL2Announcements(configOf({ l2Advertisements: [anL2Advertisement("adv")] }), [service("ns/svc", ["198.51.100.7"])], many);
    expect(candidatesOf(plan, "198.51.100.7")).toEqual(
      hashOrder(
        many.map((n) => n.name),
        "198.51.100.7",
      ),
    );
  });

  test("electionHash matches node:crypto, with the IP in canonical form", () => {
    expect(Buffer.from(electionHash("node1", ip("2001:0db8:0:0:0:0:0:0001"))).toString("hex")).toBe(
      createHash("sha256").update("node1#2001:db8::1").digest("hex"),
    );
  });

  test("different IPs spread over the nodes", () => {
    const svcs = Array.from({ length: 40 }, (_, i) => service(`ns/s${i}`, [`198.51.100.${i + 1}`]));
    const plan = planL2Announcements(configOf({ l2Advertisements: [anL2Advertisement("adv")] }), svcs, NODES);
    const firsts = new Set(plan.ips.map((e) => e.candidates[0]?.node));
    expect(firsts.size).toBe(4);
  });

  test("preferred nodes first, by the sum of matching weights across advertisements, then by hash", () => {
    const parts: Partial<ClusterResources> = {
      l2Advertisements: [
        anL2Advertisement("adv-1", {
          preferredNodeSelectors: [
            { weight: 10, preference: { matchLabels: { zone: "b" } } },
            { weight: 5, preference: { matchLabels: { rack: "r2" } } },
          ],
        }),
        anL2Advertisement("adv-2", { preferredNodeSelectors: [{ weight: 3, preference: { matchLabels: { rack: "r1" } } }] }),
      ],
    };
    const plan = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.1"])], NODES);
    const entry = plan.ips[0];
    // node4: 10 + 5 = 15, node3: 10 + 3 = 13, node2: 5, node1: 3
    expect(entry?.candidates.map((c) => [c.node, c.score])).toEqual([
      ["node4", 15],
      ["node3", 13],
      ["node2", 5],
      ["node1", 3],
    ]);
  });

  test("cordoned (draining) nodes rank after the others whatever their preference, and stay candidates", () => {
    const parts: Partial<ClusterResources> = {
      l2Advertisements: [anL2Advertisement("adv", { preferredNodeSelectors: [{ weight: 10, preference: { matchLabels: { zone: "b" } } }] })],
    };
    const nodes = deepFreeze([
      aNodeView("node1", { zone: "a" }),
      aNodeView("node2", { zone: "a" }),
      aNodeView("node3", { zone: "b" }, { draining: true }),
      aNodeView("node4", { zone: "b" }),
    ]);
    const plan = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.1"])], nodes);
    expect(plan.ips[0]?.candidates.map((c) => c.node)).toEqual(["node4", ...hashOrder(["node1", "node2"], "198.51.100.1"), "node3"]);
    const only = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.1"])], deepFreeze([aNodeView("node3", {}, { draining: true })]));
    expect(only.ips[0]?.candidates.map((c) => c.node)).toEqual(["node3"]);
  });

  test("an advertisement's preferences only score the nodes it selects", () => {
    const parts: Partial<ClusterResources> = {
      l2Advertisements: [
        anL2Advertisement("adv-a", {
          nodeSelectors: [{ matchLabels: { zone: "a" } }],
          preferredNodeSelectors: [{ weight: 7, preference: { matchLabels: { rack: "r1" } } }],
        }),
        anL2Advertisement("adv-b", { nodeSelectors: [{ matchLabels: { zone: "b" } }] }),
      ],
    };
    const plan = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.1"])], NODES);
    expect(Object.fromEntries((plan.ips[0]?.candidates ?? []).map((c) => [c.node, c.score]))).toEqual({ node1: 7, node2: 0, node3: 0, node4: 0 });
  });

  test("equal scores fall back to the hash order", () => {
    const parts: Partial<ClusterResources> = {
      l2Advertisements: [anL2Advertisement("adv", { preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { zone: "b" } } }] })],
    };
    const plan = planL2Announcements(configOf(parts), [service("ns/svc", ["198.51.100.9"])], NODES);
    expect(candidatesOf(plan, "198.51.100.9")).toEqual([...hashOrder(["node3", "node4"], "198.51.100.9"), ...hashOrder(["node1", "node2"], "198.51.100.9")]);
  });

  test("dual-stack: both IPs are ordered by the first IP, so they land on the same node", () => {
    const plan = planL2Announcements(configOf({ l2Advertisements: [anL2Advertisement("adv")] }), [service("ns/svc", ["198.51.100.1", "2001:db8::1"])], NODES);
    const want = hashOrder(ALL, "198.51.100.1");
    expect(candidatesOf(plan, "198.51.100.1")).toEqual(want);
    expect(candidatesOf(plan, "2001:db8::1")).toEqual(want);
    expect(hashOrder(ALL, "2001:db8::1")).not.toEqual(want); // would differ if hashed by its own IP
  });

  test("IPv6-first dual-stack hashes the IPv6 address", () => {
    const plan = planL2Announcements(configOf({ l2Advertisements: [anL2Advertisement("adv")] }), [service("ns/svc", ["2001:db8::1", "198.51.100.1"])], NODES);
    expect(candidatesOf(plan, "198.51.100.1")).toEqual(hashOrder(ALL, "2001:db8::1"));
  });
});

describe("planL2Announcements: shared IPs", () => {
  const parts: Partial<ClusterResources> = { l2Advertisements: [anL2Advertisement("adv")] };

  test("services sharing an IP get one entry and one candidate list", () => {
    const svcs = [
      service("ns/b", ["198.51.100.5"], { sharingKey: "k" }),
      service("ns/a", ["198.51.100.5"], { sharingKey: "k", nodesWithServingEndpoints: ["node4"] }),
    ];
    const plan = planL2Announcements(configOf(parts), svcs, NODES);
    expect(plan.ips).toHaveLength(1);
    expect(plan.ips[0]?.services).toEqual(["ns/a", "ns/b"]);
    expect(candidatesOf(plan, "198.51.100.5")).toEqual(hashOrder(ALL, "198.51.100.5"));
  });

  test("a dual-stack service sharing its IPv4 with a single-stack one keeps both on one node", () => {
    const svcs = [service("ns/ds", ["198.51.100.5", "2001:db8::5"], { sharingKey: "k" }), service("ns/v4", ["198.51.100.5"], { sharingKey: "k" })];
    const plan = planL2Announcements(configOf(parts), svcs, NODES);
    expect(candidatesOf(plan, "2001:db8::5")).toEqual(candidatesOf(plan, "198.51.100.5"));
  });

  test("ETP Local services sharing an IP prefer nodes serving all of them", () => {
    const svcs = [
      service("ns/a", ["198.51.100.5"], { sharingKey: "k", externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node1", "node2", "node3"] }),
      service("ns/b", ["198.51.100.5"], { sharingKey: "k", externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node2", "node4"] }),
    ];
    const plan = planL2Announcements(configOf(parts), svcs, NODES);
    expect(candidatesOf(plan, "198.51.100.5")).toEqual(["node2", ...hashOrder(["node1", "node3", "node4"], "198.51.100.5")]);
  });
});

describe("planL2Announcements: interfaces", () => {
  type Case = [desc: string, advs: unknown[], want: Record<string, string[]>];
  test.each<Case>([
    ["no interfaces listed: all", [anL2Advertisement("adv")], { node1: [], node3: [] }],
    ["listed interfaces", [anL2Advertisement("adv", { interfaces: ["eth1", "eth0"] })], { node1: ["eth0", "eth1"], node3: ["eth0", "eth1"] }],
    [
      "union of the advertisements selecting the node",
      [
        anL2Advertisement("adv-1", { interfaces: ["eth0"] }),
        anL2Advertisement("adv-2", { interfaces: ["bond0", "eth0"], nodeSelectors: [{ matchLabels: { zone: "b" } }] }),
      ],
      { node1: ["eth0"], node3: ["bond0", "eth0"] },
    ],
    [
      "one selecting advertisement without interfaces: all",
      [anL2Advertisement("adv-1", { interfaces: ["eth0"] }), anL2Advertisement("adv-2", { nodeSelectors: [{ matchLabels: { zone: "b" } }] })],
      { node1: ["eth0"], node3: [] },
    ],
  ])("%s", (_desc, advs, want) => {
    const plan = planL2Announcements(configOf({ l2Advertisements: advs }), [service("ns/svc", ["198.51.100.1"])], NODES);
    const got = Object.fromEntries((plan.ips[0]?.candidates ?? []).filter((c) => c.node in want).map((c) => [c.node, c.interfaces]));
    expect(got).toEqual(want);
  });
});

describe("planL2Announcements: byNode", () => {
  test("every candidate gets the entry with the full order and its own interfaces", () => {
    const parts: Partial<ClusterResources> = {
      l2Advertisements: [
        anL2Advertisement("adv-a", { ipAddressPools: ["pool-a"], interfaces: ["eth0"], nodeSelectors: [{ matchLabels: { zone: "a" } }] }),
        anL2Advertisement("adv-b", { ipAddressPools: ["pool-b"], nodeSelectors: [{ matchLabels: { rack: "r1" } }] }),
      ],
    };
    const svcs = [
      service("ns/a", ["198.51.100.1"]),
      service("ns/b", ["203.0.113.1"], { pool: "pool-b" }),
      service("ns/none", ["198.51.100.2"], { nodesWithServingEndpoints: [] }),
    ];
    const plan = planL2Announcements(configOf(parts), svcs, NODES);
    const summary = Object.fromEntries(
      [...plan.byNode.entries()].map(([node, entries]) => [
        node,
        entries.map((e) => `${formatIP(e.ip)} ${e.services.join(",")} [${e.interfaces.join(",")}] ${e.candidates.join(">")}`),
      ]),
    );
    const a = hashOrder(["node1", "node2"], "198.51.100.1").join(">");
    const b = hashOrder(["node1", "node3"], "203.0.113.1").join(">");
    expect(summary).toEqual({
      node1: [`198.51.100.1 ns/a [eth0] ${a}`, `203.0.113.1 ns/b [] ${b}`],
      node2: [`198.51.100.1 ns/a [eth0] ${a}`],
      node3: [`203.0.113.1 ns/b [] ${b}`],
    });
    expect([...plan.byNode.keys()]).toEqual(["node1", "node2", "node3"]);
    expect(plan.services.map((s) => s.service)).toEqual(["ns/a", "ns/b", "ns/none"]);
  });
});

test("the plan does not depend on the order of services and nodes", () => {
  const config = configOf({
    l2Advertisements: [anL2Advertisement("adv", { preferredNodeSelectors: [{ weight: 1, preference: { matchLabels: { rack: "r1" } } }] })],
  });
  const svcs = [
    service("ns/a", ["198.51.100.1", "2001:db8::1"]),
    service("ns/b", ["198.51.100.2"], { sharingKey: "k" }),
    service("ns/c", ["198.51.100.2"], { sharingKey: "k" }),
    service("ns/d", ["198.51.100.3"], { externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node2", "node3"] }),
  ];
  const reference = planL2Announcements(config, svcs, NODES);
  fc.assert(
    fc.property(fc.shuffledSubarray(svcs, { minLength: svcs.length }), fc.shuffledSubarray([...NODES], { minLength: NODES.length }), (s, n) => {
      const plan = planL2Announcements(config, s, n);
      expect(plan.ips).toEqual(reference.ips);
      expect([...plan.byNode.entries()]).toEqual([...reference.byNode.entries()]);
      expect(plan.services).toEqual(reference.services);
    }),
    { numRuns: 50 },
  );
});
