import { describe, expect, test } from "@jest/globals";
import { aBGPAdvertisement, aCommunity, aNode, aPeer, aPool, deepFreeze, validConfig } from "../config/testdata/builders.js";
import type { ClusterResources } from "../config/types.js";
import { formatCidr } from "../net/cidr.js";
import { formatIP } from "../net/ip.js";
import { formatCommunity } from "./community.js";
import { nodeRouterID, planBgpAnnouncements, type BgpServiceView, type BgpSkipReason, type NodeBgpPlan, type NodeView } from "./plan.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";

const configOf = validConfig;

const node1: NodeView = { name: "node1", labels: { zone: "a" }, networkUnavailable: false, excludedFromLoadBalancers: false };
const node2: NodeView = { name: "node2", labels: { zone: "b" }, networkUnavailable: false, excludedFromLoadBalancers: false };

function service(key: string, ips: string[], extra: Partial<BgpServiceView> = {}): BgpServiceView {
  return {
    key,
    ips: ips.map(ip),
    pool: "pool-a",
    labels: {},
    sharingKey: "",
    externalTrafficPolicy: "Cluster",
    nodesWithServingEndpoints: ["node1"],
    ...extra,
  };
}

const pools = [aPool("pool-a", ["198.51.100.0/24", "2001:db8::/120"]), aPool("pool-b", ["198.51.101.0/24"])];

/** prefix → "peer[lp=N communities]" lines, for compact assertions. */
function summary(plan: NodeBgpPlan): Record<string, string[]> {
  return Object.fromEntries(
    plan.announcements.map((a) => [
      formatCidr(a.prefix),
      a.peers.map(
        (p) => `${p.peer}${p.localPref !== 0 ? ` lp=${p.localPref}` : ""}${p.communities.length > 0 ? ` ${p.communities.map(formatCommunity).join(",")}` : ""}`,
      ),
    ]),
  );
}

function reasonOf(plan: NodeBgpPlan, key: string): BgpSkipReason | "announced" | undefined {
  const o = plan.services.find((s) => s.service === key);
  return o === undefined ? undefined : o.announced ? "announced" : o.reason;
}

describe("planBgpAnnouncements: whether a service is announced (MetalLB ShouldAnnounce)", () => {
  type Case = [desc: string, parts: Partial<ClusterResources>, svc: Partial<BgpServiceView>, node: Partial<NodeView>, want: BgpSkipReason | "announced"];
  const peer = aPeer("peer-a");
  test.each<Case>([
    ["announced with the defaults", { bgpAdvertisements: [aBGPAdvertisement("adv")] }, {}, {}, "announced"],
    ["no advertisement selects the pool", { bgpAdvertisements: [aBGPAdvertisement("adv", { ipAddressPools: ["pool-b"] })] }, {}, {}, "noMatchingAdvertisement"],
    [
      "the advertisement selects other nodes",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { nodeSelectors: [{ matchLabels: { zone: "b" } }] })] },
      {},
      {},
      "notOwner",
    ],
    [
      "service selectors do not match",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { serviceSelectors: [{ matchLabels: { app: "x" } }] })] },
      {},
      {},
      "noMatchingAdvertisement",
    ],
    [
      "service selectors match",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { serviceSelectors: [{ matchLabels: { app: "x" } }] })] },
      { labels: { app: "x" } },
      {},
      "announced",
    ],
    [
      "two matching advertisements disagree on localPref",
      {
        bgpAdvertisements: [
          aBGPAdvertisement("adv1", { localPref: 100, serviceSelectors: [{ matchLabels: { app: "x" } }] }),
          aBGPAdvertisement("adv2", { localPref: 200, serviceSelectors: [{ matchLabels: { tier: "y" } }] }),
        ],
      },
      { labels: { app: "x", tier: "y" } },
      {},
      "conflictingLocalPref",
    ],
    [
      "different localPref for different peers is fine",
      {
        bgpPeers: [peer, aPeer("peer-b", { peerAddress: "192.0.2.2" })],
        bgpAdvertisements: [
          aBGPAdvertisement("adv1", { localPref: 100, peers: ["peer-a"], serviceSelectors: [{ matchLabels: { app: "x" } }] }),
          aBGPAdvertisement("adv2", { localPref: 200, peers: ["peer-b"], serviceSelectors: [{ matchLabels: { app: "x" } }] }),
        ],
      },
      { labels: { app: "x" } },
      {},
      "announced",
    ],
    ["node network unavailable", { bgpAdvertisements: [aBGPAdvertisement("adv")] }, {}, { networkUnavailable: true }, "nodeNetworkUnavailable"],
    ["node excluded from load balancers", { bgpAdvertisements: [aBGPAdvertisement("adv")] }, {}, { excludedFromLoadBalancers: true }, "nodeExcluded"],
    ["Cluster without any serving endpoint", { bgpAdvertisements: [aBGPAdvertisement("adv")] }, { nodesWithServingEndpoints: [] }, {}, "noEndpoints"],
    [
      "Cluster with endpoints on another node only",
      { bgpAdvertisements: [aBGPAdvertisement("adv")] },
      { nodesWithServingEndpoints: ["node2"] },
      {},
      "announced",
    ],
    [
      "Local without a local endpoint",
      { bgpAdvertisements: [aBGPAdvertisement("adv")] },
      { externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["node2"] },
      {},
      "noLocalEndpoints",
    ],
    ["Local with a local endpoint", { bgpAdvertisements: [aBGPAdvertisement("adv")] }, { externalTrafficPolicy: "Local" }, {}, "announced"],
    ["no IP assigned", { bgpAdvertisements: [aBGPAdvertisement("adv")] }, { ips: [] }, {}, "noIPs"],
  ])("%s", (_d, parts, svc, node, want) => {
    const config = configOf({ pools, bgpPeers: [peer], ...parts });
    const plan = planBgpAnnouncements(config, [service("ns/svc", ["198.51.100.10"], svc)], [{ ...node1, ...node }, node2], "node1");
    expect(reasonOf(plan, "ns/svc")).toBe(want);
    if (want !== "announced") expect(plan.announcements).toEqual([]);
  });
});

describe("planBgpAnnouncements: sessions", () => {
  test("peers selecting the node, sorted by name; sessions stay on an excluded node", () => {
    const config = configOf({
      pools,
      bgpPeers: [
        aPeer("z-all"),
        aPeer("b-zone-a", { peerAddress: "192.0.2.2", nodeSelectors: [{ matchLabels: { zone: "a" } }] }),
        aPeer("a-zone-b", { peerAddress: "192.0.2.3", nodeSelectors: [{ matchLabels: { zone: "b" } }] }),
      ],
    });
    const excluded = { ...node1, excludedFromLoadBalancers: true };
    expect(planBgpAnnouncements(config, [], [excluded, node2], "node1").sessions.map((p) => p.name)).toEqual(["b-zone-a", "z-all"]);
    expect(planBgpAnnouncements(config, [], [node1, node2], "node2").sessions.map((p) => p.name)).toEqual(["a-zone-b", "z-all"]);
  });

  test("an unknown node is an unlabelled, available node", () => {
    const config = configOf({
      pools,
      bgpPeers: [aPeer("all"), aPeer("zoned", { peerAddress: "192.0.2.2", nodeSelectors: [{ matchLabels: { zone: "a" } }] })],
      bgpAdvertisements: [aBGPAdvertisement("adv")],
    });
    const plan = planBgpAnnouncements(config, [service("ns/svc", ["198.51.100.10"], { nodesWithServingEndpoints: ["ghost"] })], [], "ghost");
    expect(plan.sessions.map((p) => p.name)).toEqual(["all"]);
    expect(reasonOf(plan, "ns/svc")).toBe("announced");
  });
});

describe("planBgpAnnouncements: router ID (the node's InternalIP when no BGPPeer sets one)", () => {
  type Addresses = ReadonlyArray<readonly [string, string]>;
  test.each<[desc: string, addresses: Addresses | undefined, want: string | null]>([
    [
      "the InternalIP",
      [
        ["InternalIP", "10.0.0.1"],
        ["Hostname", "node1"],
      ],
      "10.0.0.1",
    ],
    [
      "the first IPv4 InternalIP (dual stack, IPv6 listed first)",
      [
        ["InternalIP", "fd00::1"],
        ["InternalIP", "10.0.0.1"],
        ["InternalIP", "10.0.0.2"],
      ],
      "10.0.0.1",
    ],
    [
      "never an ExternalIP",
      [
        ["ExternalIP", "203.0.113.1"],
        ["InternalIP", "10.0.0.1"],
      ],
      "10.0.0.1",
    ],
    [
      "none without an InternalIP",
      [
        ["ExternalIP", "203.0.113.1"],
        ["Hostname", "node1"],
      ],
      null,
    ],
    ["none on an IPv6-only node", [["InternalIP", "fd00::1"]], null],
    [
      "malformed and 0.0.0.0 addresses are skipped",
      [
        ["InternalIP", "node1.example"],
        ["InternalIP", "0.0.0.0"],
        ["InternalIP", "10.0.0.3"],
      ],
      "10.0.0.3",
    ],
    ["none without status.addresses", undefined, null],
  ])("%s", (_d, addresses, want) => {
    const config = configOf({
      pools,
      bgpPeers: [aPeer("peer-a")],
      nodes: [aNode("node1", { zone: "a" }, addresses), aNode("node2", { zone: "b" }, [["InternalIP", "10.9.9.9"]])],
    });
    const id = nodeRouterID(config.nodes.find((n) => n.name === "node1"));
    expect(id === null ? null : formatIP(id)).toBe(want);
    const routerIDs = planBgpAnnouncements(config, [], [node1, node2], "node1").sessions.map((p) => (p.routerID === null ? null : formatIP(p.routerID)));
    expect(routerIDs).toEqual([want]);
  });

  test.each<[desc: string, peers: Record<string, unknown>[], want: Record<string, string | null>]>([
    ["a BGPPeer's routerID is kept", [aPeer("peer-a", { routerID: "192.0.2.100" })], { "peer-a": "192.0.2.100" }],
    [
      "every VRF instance without one gets the node's",
      [aPeer("peer-a"), aPeer("peer-red", { peerAddress: "192.0.2.2", vrf: "red" })],
      { "peer-a": "10.0.0.1", "peer-red": "10.0.0.1" },
    ],
    [
      "BGPPeers sharing an explicit routerID keep it in every VRF",
      [aPeer("peer-a", { routerID: "192.0.2.100" }), aPeer("peer-red", { peerAddress: "192.0.2.2", vrf: "red", routerID: "192.0.2.100" })],
      { "peer-a": "192.0.2.100", "peer-red": "192.0.2.100" },
    ],
  ])("%s", (_d, bgpPeers, want) => {
    const config = configOf({ pools, bgpPeers, nodes: [aNode("node1", { zone: "a" }, [["InternalIP", "10.0.0.1"]])] });
    const plan = planBgpAnnouncements(config, [], [node1], "node1");
    expect(Object.fromEntries(plan.sessions.map((p) => [p.name, p.routerID === null ? null : formatIP(p.routerID)]))).toEqual(want);
    // The configuration's BGPPeers stay as they are (deep-frozen: a mutation would throw).
    expect(config.peers.map((p) => (p.routerID === null ? null : formatIP(p.routerID)))).toEqual(
      bgpPeers.map((p) => (p as { spec: { routerID?: string } }).spec.routerID ?? null),
    );
  });

  test("a node the configuration's Nodes do not list gets no router ID", () => {
    const config = configOf({ pools, bgpPeers: [aPeer("peer-a")], nodes: [aNode("node2", {}, [["InternalIP", "10.0.0.2"]])] });
    expect(planBgpAnnouncements(config, [], [node1], "node1").sessions.map((p) => p.routerID)).toEqual([null]);
  });
});

describe("planBgpAnnouncements: prefixes, peers, communities, LOCAL_PREF", () => {
  test("aggregation masks each family with its own length", () => {
    const config = configOf({
      pools,
      bgpPeers: [aPeer("peer-a")],
      bgpAdvertisements: [aBGPAdvertisement("adv", { aggregationLength: 24, aggregationLengthV6: 120 })],
    });
    const plan = planBgpAnnouncements(config, [service("ns/a", ["198.51.100.10", "2001:db8::10"]), service("ns/b", ["198.51.100.200"])], [node1], "node1");
    expect(summary(plan)).toEqual({ "198.51.100.0/24": ["peer-a"], "2001:db8::/120": ["peer-a"] });
    expect(plan.announcements[0]?.services).toEqual(["ns/a", "ns/b"]);
  });

  test("peers restrict an advertisement; communities of several advertisements merge per peer, sorted, aliases resolved", () => {
    const config = configOf({
      pools,
      communities: [aCommunity("c", { "no-export": "65535:65281", big: "large:1:2:3" })],
      bgpPeers: [aPeer("peer-a"), aPeer("peer-b", { peerAddress: "192.0.2.2" })],
      bgpAdvertisements: [
        aBGPAdvertisement("adv-all", { communities: ["big", "64512:7"] }),
        aBGPAdvertisement("adv-b", { peers: ["peer-b", "not-on-this-node"], communities: ["no-export", "64512:7"] }),
      ],
    });
    const plan = planBgpAnnouncements(config, [service("ns/a", ["198.51.100.10"])], [node1], "node1");
    expect(summary(plan)).toEqual({
      "198.51.100.10/32": ["peer-a 64512:7,large:1:2:3", "peer-b 64512:7,65535:65281,large:1:2:3"],
    });
    expect(plan.services).toEqual([{ service: "ns/a", announced: true, peers: ["peer-a", "peer-b"], advertisements: ["adv-all", "adv-b"] }]);
  });

  test("services sharing an IP make one prefix: communities unioned, highest LOCAL_PREF wins", () => {
    const config = configOf({
      pools,
      bgpPeers: [aPeer("peer-a", { peerASN: 64500 })],
      bgpAdvertisements: [
        aBGPAdvertisement("adv-web", { localPref: 100, communities: ["1:1"], serviceSelectors: [{ matchLabels: { app: "web" } }] }),
        aBGPAdvertisement("adv-dns", { localPref: 300, communities: ["2:2"], serviceSelectors: [{ matchLabels: { app: "dns" } }] }),
      ],
    });
    const services = [
      service("ns/web", ["198.51.100.10"], { labels: { app: "web" }, sharingKey: "k" }),
      service("ns/dns", ["198.51.100.10"], { labels: { app: "dns" }, sharingKey: "k" }),
    ];
    const plan = planBgpAnnouncements(config, services, [node1], "node1");
    expect(summary(plan)).toEqual({ "198.51.100.10/32": ["peer-a lp=300 1:1,2:2"] });
    expect(plan.announcements[0]?.services).toEqual(["ns/dns", "ns/web"]);
  });

  test("a prefix is planned even when no session of the node receives it", () => {
    const config = configOf({ pools, bgpPeers: [aPeer("peer-a")], bgpAdvertisements: [aBGPAdvertisement("adv", { peers: ["elsewhere"] })] });
    const plan = planBgpAnnouncements(config, [service("ns/a", ["198.51.100.10"])], [node1], "node1");
    expect(summary(plan)).toEqual({ "198.51.100.10/32": [] });
    expect(plan.services).toEqual([{ service: "ns/a", announced: true, peers: [], advertisements: ["adv"] }]);
  });

  test("deterministic: the order of services and nodes does not matter; inputs are not mutated", () => {
    const config = configOf({ pools, bgpPeers: [aPeer("peer-a")], bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["3:3", "1:1"] })] });
    const services = deepFreeze([
      service("ns/b", ["2001:db8::5", "198.51.100.20"]),
      service("ns/a", ["198.51.100.3"]),
      service("ns/c", ["198.51.101.1"], { pool: "pool-b" }),
    ]);
    const nodes = deepFreeze([node2, node1]);
    const one = planBgpAnnouncements(config, services, nodes, "node1");
    const two = planBgpAnnouncements(config, [...services].reverse(), [...nodes].reverse(), "node1");
    expect(two).toEqual(one);
    expect(one.announcements.map((a) => formatCidr(a.prefix))).toEqual(["198.51.100.3/32", "198.51.100.20/32", "198.51.101.1/32", "2001:db8::5/128"]);
    expect(one.services.map((s) => s.service)).toEqual(["ns/a", "ns/b", "ns/c"]);
  });
});
