import { describe, expect, test } from "@jest/globals";
import { parseConfig, blankTransientReferences } from "./parse-config.js";
import { formatProblem } from "./problems.js";
import {
  aBFDProfile,
  aBGPAdvertisement,
  aCommunity,
  aNamespace,
  aNode,
  aPeer,
  aPool,
  aSecret,
  anL2Advertisement,
  clusterResources,
  validConfig,
} from "./testdata/builders.js";
import type { ClusterResources } from "./types.js";
import { formatCidr } from "../net/cidr.js";
import { formatCommunity } from "../bgp/community.js";
import { formatLabelSelector } from "../labels/selector.js";

type Case = [desc: string, resources: Partial<ClusterResources>, problems: string[]];

/** Every problem, formatted as the CLI shows it. */
function problemsOf(parts: Partial<ClusterResources>): string[] {
  const result = parseConfig(clusterResources(parts));
  return result.ok ? [] : result.error.map(formatProblem);
}

const configOf = validConfig;

const TRANSIENT = " (transient: waiting for the referenced object)";

describe("C.1 pools: names, addresses, duplicates", () => {
  test.each<Case>([
    ["valid CIDR and range", { pools: [aPool("a", ["10.0.0.0/24", "10.0.1.1-10.0.1.10"])] }, []],
    ["empty addresses", { pools: [aPool("a", [])] }, ["IPAddressPool/a spec.addresses: pool has no prefixes defined"]],
    ["missing addresses", { pools: [aPool("a", null)] }, ["IPAddressPool/a spec.addresses: pool has no prefixes defined"]],
    ["invalid CIDR", { pools: [aPool("a", ["10.0.0.0/24", "10.0.0.300/24"])] }, ['IPAddressPool/a spec.addresses[1]: invalid CIDR "10.0.0.300/24"']],
    [
      "reversed range",
      { pools: [aPool("a", ["10.0.0.9-10.0.0.1"])] },
      ['IPAddressPool/a spec.addresses[0]: invalid IP range "10.0.0.9-10.0.0.1": start IP "10.0.0.9" is after the end IP "10.0.0.1"'],
    ],
    ["address not a string", { pools: [aPool("a", [42])] }, ["IPAddressPool/a spec.addresses[0]: must be a string, got number"]],
    [
      "duplicate pool name",
      { pools: [aPool("a", ["10.0.0.0/24"]), aPool("a", ["10.1.0.0/24"])] },
      ['IPAddressPool/a metadata.name: duplicate definition of pool "a"'],
    ],
    [
      "missing name",
      { pools: [{ metadata: {}, spec: { addresses: ["10.0.0.0/24"] } }] },
      ["IPAddressPool/(unnamed #0) metadata.name: missing IPAddressPool name"],
    ],
    [
      "wrong types",
      { pools: [aPool("a", ["10.0.0.0/24"], { autoAssign: "yes", avoidBuggyIPs: 1 })] },
      ["IPAddressPool/a spec.autoAssign: must be a boolean, got string", "IPAddressPool/a spec.avoidBuggyIPs: must be a boolean, got number"],
    ],
    ["not an object", { pools: ["pool"] }, ["IPAddressPool/(unnamed #0): must be an object, got string"]],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });

  test("pool model: CIDRs per family, defaults, ranges summarized", () => {
    const { pools } = configOf({
      pools: [aPool("b", ["fc00::/120", "10.0.0.1-10.0.0.2"]), aPool("a", ["10.1.0.0/30"], { autoAssign: false, avoidBuggyIPs: true })],
    });
    expect(pools.map((p) => [p.name, p.ipv4.map(formatCidr), p.ipv6.map(formatCidr), p.autoAssign, p.avoidBuggyIPs])).toEqual([
      ["a", ["10.1.0.0/30"], [], false, true],
      ["b", ["10.0.0.1/32", "10.0.0.2/32"], ["fc00::/120"], true, false],
    ]);
    expect(pools[1]?.ipv6[0]?.last).toBe((0xfc00n << 112n) | 0xffn);
  });
});

describe("C.2 no CIDR overlap across and within pools", () => {
  test.each<Case>([
    ["disjoint pools", { pools: [aPool("a", ["10.0.0.0/24"]), aPool("b", ["10.0.1.0/24"])] }, []],
    ["v4 and v6 never overlap", { pools: [aPool("a", ["0.0.0.0/0"]), aPool("b", ["::/0"])] }, []],
    [
      "contained in another pool",
      { pools: [aPool("pool-b", ["10.0.0.0/16"]), aPool("pool-a", ["192.168.0.0/24", "10.0.0.0/24"])] },
      ['IPAddressPool/pool-b spec.addresses[0]: CIDR "10.0.0.0/16" in pool "pool-b" overlaps with already defined CIDR "10.0.0.0/24" in pool "pool-a"'],
    ],
    [
      "within the same pool",
      { pools: [aPool("a", ["10.0.0.0/24", "10.0.0.128/25"])] },
      ['IPAddressPool/a spec.addresses[1]: CIDR "10.0.0.128/25" in pool "a" overlaps with already defined CIDR "10.0.0.0/24" in the same pool'],
    ],
    [
      "range overlapping a CIDR",
      { pools: [aPool("a", ["10.0.0.0/30"]), aPool("b", ["10.0.0.3-10.0.0.9"])] },
      ['IPAddressPool/b spec.addresses[0]: CIDR "10.0.0.3/32" in pool "b" overlaps with already defined CIDR "10.0.0.0/30" in pool "a"'],
    ],
    [
      "host bits are masked before comparing",
      { pools: [aPool("a", ["10.0.0.5/24"]), aPool("b", ["10.0.0.0/24"])] },
      ['IPAddressPool/b spec.addresses[0]: CIDR "10.0.0.0/24" in pool "b" overlaps with already defined CIDR "10.0.0.0/24" in pool "a"'],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("C.3 serviceAllocation", () => {
  const ns = [aNamespace("dev", { team: "a" }), aNamespace("prod", { team: "b" }), aNamespace("test", { team: "a" })];
  test.each<Case>([
    [
      "duplicate namespace",
      { pools: [aPool("a", ["10.0.0.0/24"], { serviceAllocation: { namespaces: ["x", "x"] } })] },
      ['IPAddressPool/a spec.serviceAllocation.namespaces[1]: duplicate definition of namespace in namespaces field "x"'],
    ],
    [
      "duplicate namespaceSelectors",
      { pools: [aPool("a", ["10.0.0.0/24"], { serviceAllocation: { namespaceSelectors: [{ matchLabels: { team: "a" } }, { matchLabels: { team: "a" } }] } })] },
      ['IPAddressPool/a spec.serviceAllocation.namespaceSelectors[1]: duplicate definition of namespaceSelectors "team=a"'],
    ],
    [
      "invalid serviceSelector",
      { pools: [aPool("a", ["10.0.0.0/24"], { serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: "app", operator: "Has" }] }] } })] },
      ['IPAddressPool/a spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator: "Has" is not a valid label selector operator'],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });

  test("namespaces ∪ namespaceSelectors matches; priority only ⇒ every service", () => {
    const { pools } = configOf({
      namespaces: ns,
      pools: [
        aPool("a", ["10.0.0.0/24"], { serviceAllocation: { priority: 5, namespaces: ["zeta"], namespaceSelectors: [{ matchLabels: { team: "a" } }] } }),
        aPool("b", ["10.0.1.0/24"], { serviceAllocation: { priority: 1 } }),
        aPool("c", ["10.0.2.0/24"]),
      ],
    });
    expect(pools[0]?.serviceAllocation).toMatchObject({ priority: 5, namespaces: ["dev", "test", "zeta"], serviceSelectors: [] });
    expect(pools[1]?.serviceAllocation?.serviceSelectors.map(formatLabelSelector)).toEqual(["<everything>"]);
    expect(pools[2]?.serviceAllocation).toBeNull();
  });
});

describe("C.4 label selector lists", () => {
  test.each<Case>([
    [
      "duplicate nodeSelectors on a peer",
      { bgpPeers: [aPeer("p", { nodeSelectors: [{ matchLabels: { a: "b" } }, { matchLabels: { a: "b" } }] })] },
      ['BGPPeer/p spec.nodeSelectors[1]: duplicate definition of nodeSelectors "a=b"'],
    ],
    [
      "values order does not matter",
      {
        l2Advertisements: [
          anL2Advertisement("l2", {
            nodeSelectors: [
              { matchExpressions: [{ key: "k", operator: "In", values: ["x", "y"] }] },
              { matchExpressions: [{ key: "k", operator: "In", values: ["y", "x"] }] },
            ],
          }),
        ],
      },
      ['L2Advertisement/l2 spec.nodeSelectors[1]: duplicate definition of nodeSelectors "k in (x,y)"'],
    ],
    [
      "duplicate values inside an expression",
      {
        bgpAdvertisements: [
          aBGPAdvertisement("adv", { ipAddressPoolSelectors: [{ matchExpressions: [{ key: "k", operator: "NotIn", values: ["x", "x"] }] }] }),
        ],
      },
      ['BGPAdvertisement/adv spec.ipAddressPoolSelectors[0].matchExpressions[0].values: duplicate definition of match expression value in label selector "x"'],
    ],
    [
      "missing operator",
      { l2Advertisements: [anL2Advertisement("l2", { serviceSelectors: [{ matchExpressions: [{ key: "k" }] }] })] },
      ["L2Advertisement/l2 spec.serviceSelectors[0].matchExpressions[0].operator: missing operator in match expression"],
    ],
    [
      "bad key",
      { bgpPeers: [aPeer("p", { nodeSelectors: [{ matchLabels: { "a/b/c": "x" } }] })] },
      [
        "BGPPeer/p spec.nodeSelectors[0].matchLabels[\"a/b/c\"]: invalid label key \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("C.5 advertisement list duplicates and pool resolution", () => {
  test.each<Case>([
    [
      "L2 ipAddressPools duplicate",
      { l2Advertisements: [anL2Advertisement("l2", { ipAddressPools: ["a", "a"] })] },
      ['L2Advertisement/l2 spec.ipAddressPools[1]: duplicate definition of ipAddressPools "a"'],
    ],
    [
      "BGP communities, peers duplicates",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["1:1", "1:1"], peers: ["p", "p"] })] },
      [
        'BGPAdvertisement/adv spec.communities[1]: duplicate definition of community "1:1"',
        'BGPAdvertisement/adv spec.peers[1]: duplicate definition of peers "p"',
      ],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });

  test("pools from names ∪ selectors, unknown names ignored, none given ⇒ all pools", () => {
    const cfg = configOf({
      pools: [aPool("a", ["10.0.0.0/24"], {}, { tier: "gold" }), aPool("b", ["10.0.1.0/24"]), aPool("c", ["10.0.2.0/24"], {}, { tier: "silver" })],
      nodes: [aNode("n1", { rack: "1" }), aNode("n2", { rack: "2" })],
      l2Advertisements: [
        anL2Advertisement("all"),
        anL2Advertisement("some", {
          ipAddressPools: ["b", "nope"],
          ipAddressPoolSelectors: [{ matchLabels: { tier: "gold" } }],
          nodeSelectors: [{ matchLabels: { rack: "2" } }],
          interfaces: ["eth0"],
        }),
      ],
    });
    expect(cfg.l2Advertisements.map((a) => [a.name, a.pools, a.nodes, a.interfaces])).toEqual([
      ["all", ["a", "b", "c"], ["n1", "n2"], []],
      ["some", ["a", "b"], ["n2"], ["eth0"]],
    ]);
  });

  test("preferredNodeSelectors need a weight in 1..100", () => {
    expect(
      problemsOf({ l2Advertisements: [anL2Advertisement("l2", { preferredNodeSelectors: [{ weight: 0, preference: {} }, { preference: {} }] })] }),
    ).toEqual([
      "L2Advertisement/l2 spec.preferredNodeSelectors[0].weight: invalid value 0, must be in 1-100 range",
      "L2Advertisement/l2 spec.preferredNodeSelectors[1].weight: weight is required",
    ]);
  });
});

describe("C.6 aggregation length", () => {
  const pools = [aPool("v4", ["10.0.0.0/24", "10.0.1.0-10.0.1.63"]), aPool("v6", ["fc00::/64"])];
  test.each<Case>([
    ["defaults are fine", { pools, bgpAdvertisements: [aBGPAdvertisement("adv")] }, []],
    [
      "wider than the pool's widest prefix",
      { pools, bgpAdvertisements: [aBGPAdvertisement("adv", { ipAddressPools: ["v4"], aggregationLength: 24 })] },
      [
        'BGPAdvertisement/adv spec.aggregationLength: invalid aggregation length 24: prefix 26 in this pool is more specific than the aggregation length for addresses 10.0.1.0-10.0.1.63 (pool "v4")',
      ],
    ],
    ["range: widest CIDR counts", { pools, bgpAdvertisements: [aBGPAdvertisement("adv", { ipAddressPools: ["v4"], aggregationLength: 26 })] }, []],
    [
      "v6",
      { pools, bgpAdvertisements: [aBGPAdvertisement("adv", { aggregationLengthV6: 48 })] },
      [
        'BGPAdvertisement/adv spec.aggregationLengthV6: invalid aggregation length 48: prefix 64 in this pool is more specific than the aggregation length for addresses fc00::/64 (pool "v6")',
      ],
    ],
    [
      "too long",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { aggregationLength: 33, aggregationLengthV6: 129 })] },
      [
        "BGPAdvertisement/adv spec.aggregationLength: invalid aggregation length 33 for IPv4",
        "BGPAdvertisement/adv spec.aggregationLengthV6: invalid aggregation length 129 for IPv6",
      ],
    ],
    [
      "below CRD minimum",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { aggregationLength: 0 })] },
      ["BGPAdvertisement/adv spec.aggregationLength: invalid value 0, must be in 1-2147483647 range"],
    ],
    [
      "serviceSelectors with aggregation",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { aggregationLength: 30, serviceSelectors: [{ matchLabels: { a: "b" } }] })] },
      [
        "BGPAdvertisement/adv spec.serviceSelectors: serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)",
      ],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("C.7 localPref compatibility", () => {
  const pools = [aPool("a", ["10.0.0.0/24"])];
  const nodes = [aNode("n1", { rack: "1" }), aNode("n2", { rack: "2" })];
  const conflict =
    'BGPAdvertisement/y spec.localPref: invalid local preference 200: local preference 100 was already set for the same type of BGP update by BGPAdvertisement "x" on pool "a". Check existing BGP advertisements with common pools and aggregation lengths';
  test.each<Case>([
    ["same localPref", { pools, bgpAdvertisements: [aBGPAdvertisement("x", { localPref: 100 }), aBGPAdvertisement("y", { localPref: 100 })] }, []],
    [
      "different localPref, same everything",
      { pools, bgpAdvertisements: [aBGPAdvertisement("x", { localPref: 100 }), aBGPAdvertisement("y", { localPref: 200 })] },
      [conflict],
    ],
    [
      "no Nodes known: assumed to share nodes",
      {
        pools,
        bgpAdvertisements: [
          aBGPAdvertisement("x", { localPref: 100, nodeSelectors: [{ matchLabels: { rack: "1" } }] }),
          aBGPAdvertisement("y", { localPref: 200, nodeSelectors: [{ matchLabels: { rack: "2" } }] }),
        ],
      },
      [conflict],
    ],
    [
      "disjoint nodes",
      {
        pools,
        nodes,
        bgpAdvertisements: [
          aBGPAdvertisement("x", { localPref: 100, nodeSelectors: [{ matchLabels: { rack: "1" } }] }),
          aBGPAdvertisement("y", { localPref: 200, nodeSelectors: [{ matchLabels: { rack: "2" } }] }),
        ],
      },
      [],
    ],
    [
      "disjoint peers",
      { pools, bgpAdvertisements: [aBGPAdvertisement("x", { localPref: 100, peers: ["p1"] }), aBGPAdvertisement("y", { localPref: 200, peers: ["p2"] })] },
      [],
    ],
    [
      "one with all peers",
      { pools, bgpAdvertisements: [aBGPAdvertisement("x", { localPref: 100 }), aBGPAdvertisement("y", { localPref: 200, peers: ["p2"] })] },
      [conflict],
    ],
    [
      "different aggregation",
      { pools, bgpAdvertisements: [aBGPAdvertisement("x", { localPref: 100 }), aBGPAdvertisement("y", { localPref: 200, aggregationLength: 25 })] },
      [],
    ],
    [
      "serviceSelectors exempt",
      {
        pools,
        bgpAdvertisements: [
          aBGPAdvertisement("x", { localPref: 100 }),
          aBGPAdvertisement("y", { localPref: 200, serviceSelectors: [{ matchLabels: { a: "b" } }] }),
        ],
      },
      [],
    ],
    [
      "different pools",
      {
        pools: [...pools, aPool("b", ["10.0.1.0/24"])],
        bgpAdvertisements: [
          aBGPAdvertisement("x", { localPref: 100, ipAddressPools: ["a"] }),
          aBGPAdvertisement("y", { localPref: 200, ipAddressPools: ["b"] }),
        ],
      },
      [],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("C.8 communities", () => {
  test.each<Case>([
    [
      "legacy, large and alias",
      {
        communities: [aCommunity("c", { "no-export": "65535:65281" })],
        bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["no-export", "large:1:2:3", "1:1"] })],
      },
      [],
    ],
    [
      "bad legacy section",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["70000:1"] })] },
      [
        'BGPAdvertisement/adv spec.communities[0]: invalid community "70000:1" in BGP advertisement: invalid community value: invalid section "70000" of community "70000:1": must be a uint16',
      ],
    ],
    [
      "bad large format",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["large:1:2"] })] },
      [
        'BGPAdvertisement/adv spec.communities[0]: invalid community "large:1:2" in BGP advertisement: invalid community value "large:1:2": expected community to be of format large:<uint32>:<uint32>:<uint32>',
      ],
    ],
    [
      "unknown alias is transient",
      { bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["missing"] })] },
      [`BGPAdvertisement/adv spec.communities[0]: invalid community "missing" in BGP advertisement: no Community alias named "missing" exists${TRANSIENT}`],
    ],
    [
      "invalid alias value",
      { communities: [aCommunity("c", { bad: "1:99999" })] },
      [
        'Community/c spec.communities[0].value: parsing community "bad": invalid community value: invalid section "99999" of community "1:99999": must be a uint16',
      ],
    ],
    [
      "alias defined twice across objects",
      { communities: [aCommunity("c1", { x: "1:1" }), aCommunity("c2", { x: "1:2" })] },
      ['Community/c2 spec.communities[0].name: duplicate definition of community "x" (already defined in Community "c1")'],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });

  test("aliases resolved, deduplicated and sorted", () => {
    const cfg = configOf({
      communities: [aCommunity("c", { a: "1:1" })],
      bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["large:1:2:3", "a", "0001:1"] })],
    });
    expect(cfg.bgpAdvertisements[0]?.communities.map(formatCommunity)).toEqual(["1:1", "large:1:2:3"]);
    expect([...cfg.communities.keys()]).toEqual(["a"]);
  });
});

describe("C.9 BFD profiles", () => {
  test.each<Case>([
    [
      "valid",
      {
        bfdProfiles: [
          aBFDProfile("b", { receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 2, echoInterval: 50, minimumTtl: 254, echoMode: true }),
        ],
      },
      [],
    ],
    [
      "out of range",
      { bfdProfiles: [aBFDProfile("b", { receiveInterval: 9, detectMultiplier: 256, minimumTtl: 0 })] },
      [
        "BFDProfile/b spec.receiveInterval: invalid value 9, must be in 10-60000 range",
        "BFDProfile/b spec.detectMultiplier: invalid value 256, must be in 2-255 range",
        "BFDProfile/b spec.minimumTtl: invalid value 0, must be in 1-254 range",
      ],
    ],
    ["duplicate name", { bfdProfiles: [aBFDProfile("b"), aBFDProfile("b")] }, ['BFDProfile/b metadata.name: duplicate definition of bfd profile "b"']],
    [
      "missing profile is transient",
      { bgpPeers: [aPeer("p", { bfdProfile: "nope" })] },
      [`BGPPeer/p spec.bfdProfile: peer p referencing non existing bfd profile nope${TRANSIENT}`],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("C.10 peers", () => {
  test.each<Case>([
    ["minimal valid", { bgpPeers: [aPeer("p")] }, []],
    ["missing local ASN", { bgpPeers: [aPeer("p", { myASN: 0 })] }, ["BGPPeer/p spec.myASN: missing local ASN"]],
    ["missing peer ASN", { bgpPeers: [aPeer("p", { peerASN: undefined })] }, ["BGPPeer/p spec.peerASN: missing peer ASN and dynamicASN"]],
    ["both ASN and dynamic", { bgpPeers: [aPeer("p", { dynamicASN: "external" })] }, ["BGPPeer/p spec.dynamicASN: both peer ASN and dynamicASN specified"]],
    [
      "bad dynamicASN",
      { bgpPeers: [aPeer("p", { peerASN: 0, dynamicASN: "sideways" })] },
      ['BGPPeer/p spec.dynamicASN: invalid dynamicASN sideways: must be "internal" or "external"'],
    ],
    [
      "multihop iBGP",
      { bgpPeers: [aPeer("p", { peerASN: 64500, ebgpMultiHop: true })] },
      ["BGPPeer/p spec.ebgpMultiHop: invalid ebgp-multihop parameter set for an ibgp peer"],
    ],
    [
      "multihop dynamic internal",
      { bgpPeers: [aPeer("p", { peerASN: 0, dynamicASN: "internal", ebgpMultiHop: true })] },
      ["BGPPeer/p spec.ebgpMultiHop: invalid ebgp-multihop parameter set for an ibgp peer"],
    ],
    ["no address", { bgpPeers: [aPeer("p", { peerAddress: "" })] }, ["BGPPeer/p spec.peerAddress: peer has no Address or Interface specified"]],
    ["address and interface", { bgpPeers: [aPeer("p", { interface: "eth0" })] }, ["BGPPeer/p spec.interface: peer has both Address and Interface specified"]],
    [
      "bad addresses",
      { bgpPeers: [aPeer("p", { peerAddress: "1.2.3", routerID: "x", sourceAddress: "10.0.0.256" })] },
      [
        'BGPPeer/p spec.peerAddress: invalid BGPPeer address "1.2.3"',
        'BGPPeer/p spec.routerID: invalid router ID "x"',
        'BGPPeer/p spec.sourceAddress: invalid source IP "10.0.0.256"',
      ],
    ],
    ["hold time below 3s", { bgpPeers: [aPeer("p", { holdTime: "2s" })] }, ['BGPPeer/p spec.holdTime: invalid hold time "2s": must be 0 or >=3s']],
    [
      "keepalive above hold",
      { bgpPeers: [aPeer("p", { holdTime: "3s", keepaliveTime: "4s" })] },
      ['BGPPeer/p spec.keepaliveTime: invalid keepaliveTime "4s", must be lower than holdTime "3s"'],
    ],
    ["bad duration", { bgpPeers: [aPeer("p", { holdTime: "90" })] }, ['BGPPeer/p spec.holdTime: time: missing unit in duration "90"']],
    [
      "connectTime fractional",
      { bgpPeers: [aPeer("p", { connectTime: "1500ms" })] },
      ["BGPPeer/p spec.connectTime: connect time should contain a whole number of seconds"],
    ],
    [
      "connectTime too long",
      { bgpPeers: [aPeer("p", { connectTime: "65536s" })] },
      ["BGPPeer/p spec.connectTime: connect time should be between 1 seconds to 65535"],
    ],
    ["port range", { bgpPeers: [aPeer("p", { peerPort: 0 })] }, ["BGPPeer/p spec.peerPort: invalid value 0, must be in 1-16384 range"]],
    ["ASN type", { bgpPeers: [aPeer("p", { myASN: "64500" })] }, ["BGPPeer/p spec.myASN: must be an integer, got string"]],
    [
      "password and secret",
      { bgpPeers: [aPeer("p", { password: "x", passwordSecret: { name: "s" } })] },
      ["BGPPeer/p spec.passwordSecret: can not have both password and secret ref set in peer config"],
    ],
    [
      "missing secret is transient",
      { bgpPeers: [aPeer("p", { passwordSecret: { name: "s" } })] },
      [`BGPPeer/p spec.passwordSecret.name: secret ref not found for peer config: Secret "s" does not exist${TRANSIENT}`],
    ],
    [
      "secret of wrong type",
      { secrets: [aSecret("s", "Opaque", { password: "hunter2" })], bgpPeers: [aPeer("p", { passwordSecret: { name: "s" } })] },
      ['BGPPeer/p spec.passwordSecret.name: secret type mismatch on "metallb-system/s", type "kubernetes.io/basic-auth" is expected'],
    ],
    [
      "secret without password key",
      { secrets: [aSecret("s", "kubernetes.io/basic-auth", { username: "u" })], bgpPeers: [aPeer("p", { passwordSecret: { name: "s" } })] },
      ['BGPPeer/p spec.passwordSecret.name: password not specified in the secret "metallb-system/s"'],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });

  test("the password never appears in problems", () => {
    const peer = aPeer("p", { passwordSecret: { name: "s" }, holdTime: "1s" });
    const all = problemsOf({ secrets: [aSecret("s", "kubernetes.io/basic-auth", { password: "hunter2" })], bgpPeers: [peer] }).join("\n");
    expect(all).not.toContain("hunter2");
    expect(all).not.toContain(btoa("hunter2"));
  });

  test.each<[string, Record<string, unknown>, number | null, number | null]>([
    ["neither", {}, null, null],
    ["hold only", { holdTime: "90s" }, 90_000, 30_000],
    ["keepalive only", { keepaliveTime: "10s" }, 30_000, 10_000],
    ["both", { holdTime: "9s", keepaliveTime: "1s" }, 9000, 1000],
    ["zero hold", { holdTime: "0s" }, 0, 0],
  ])("timers: %s", (_d, spec, hold, keepalive) => {
    const [peer] = configOf({ bgpPeers: [aPeer("p", spec)] }).peers;
    expect([peer?.holdTimeMs, peer?.keepaliveTimeMs]).toEqual([hold, keepalive]);
  });

  test("peer model: defaults, secret password, nodes", () => {
    const cfg = configOf({
      nodes: [aNode("n1", { bgp: "yes" }), aNode("n2")],
      secrets: [aSecret("s", "kubernetes.io/basic-auth", { password: "hunter2" })],
      bfdProfiles: [aBFDProfile("fast")],
      bgpPeers: [
        aPeer("p", {
          passwordSecret: { name: "s", namespace: "metallb-system" },
          bfdProfile: "fast",
          nodeSelectors: [{ matchLabels: { bgp: "yes" } }],
          connectTime: "5s",
          routerID: "10.0.0.1",
          vrf: "red",
        }),
      ],
    });
    expect(cfg.peers[0]).toMatchObject({
      name: "p",
      myASN: 64500,
      peerASN: 64501,
      dynamicASN: null,
      port: 179,
      password: "hunter2",
      passwordSecretName: "s",
      bfdProfile: "fast",
      connectTimeMs: 5000,
      nodes: ["n1"],
      vrf: "red",
      interface: null,
      ebgpMultiHop: false,
    });
  });
});

describe("C.13 FRR: peers selecting a common node", () => {
  const nodes = [aNode("n1", { rack: "1" }), aNode("n2", { rack: "2" })];
  const rack = (r: string): Record<string, unknown> => ({ nodeSelectors: [{ matchLabels: { rack: r } }] });
  test.each<Case>([
    [
      "distinct peers, same router ID",
      { bgpPeers: [aPeer("a", { routerID: "10.0.0.1" }), aPeer("b", { peerAddress: "192.0.2.2", routerID: "10.0.0.1" })] },
      [],
    ],
    [
      "different router IDs",
      { bgpPeers: [aPeer("a", { routerID: "10.0.0.1" }), aPeer("b", { peerAddress: "192.0.2.2", routerID: "10.0.0.2" })] },
      [
        'BGPPeer/b spec.routerID: peer b has RouterID "10.0.0.2" different from "10.0.0.1" of peer a, in FRR mode all RouterID must be equal for BGPPeers selecting the same node',
      ],
    ],
    [
      "different router IDs on disjoint nodes",
      { nodes, bgpPeers: [aPeer("a", { routerID: "10.0.0.1", ...rack("1") }), aPeer("b", { peerAddress: "192.0.2.2", routerID: "10.0.0.2", ...rack("2") })] },
      [],
    ],
    [
      "duplicate neighbor",
      { bgpPeers: [aPeer("a"), aPeer("b")] },
      ["BGPPeer/b spec.peerAddress: peer b already exists as peer a (192.0.2.1-), FRR mode doesn't support duplicate BGPPeers selecting the same node"],
    ],
    ["same neighbor in another VRF", { bgpPeers: [aPeer("a"), aPeer("b", { vrf: "red" })] }, []],
    ["same neighbor on disjoint nodes", { nodes, bgpPeers: [aPeer("a", rack("1")), aPeer("b", rack("2"))] }, []],
    [
      "different myASN",
      { bgpPeers: [aPeer("a"), aPeer("b", { peerAddress: "192.0.2.2", myASN: 64999 })] },
      ["BGPPeer/b spec.myASN: peer b has myAsn 64999 different from 64500 of peer a, in FRR mode all myAsn must be equal for the same VRF"],
    ],
    ["different myASN in another VRF", { bgpPeers: [aPeer("a"), aPeer("b", { peerAddress: "192.0.2.2", myASN: 64999, vrf: "red" })] }, []],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("C.14 BFD echo with IPv6 pools", () => {
  const echo = aBFDProfile("echo", { echoMode: true });
  test.each<Case>([
    [
      "IPv4 pool is fine",
      {
        pools: [aPool("a", ["10.0.0.0/24"])],
        bfdProfiles: [echo],
        bgpPeers: [aPeer("p", { bfdProfile: "echo" })],
        bgpAdvertisements: [aBGPAdvertisement("adv")],
      },
      [],
    ],
    [
      "IPv6 pool to an echo peer",
      {
        pools: [aPool("a", ["fc00::/120"])],
        bfdProfiles: [echo],
        bgpPeers: [aPeer("p", { bfdProfile: "echo" })],
        bgpAdvertisements: [aBGPAdvertisement("adv")],
      },
      [
        'BGPAdvertisement/adv spec: pool a has bgpadvertisement adv which references peer p which has bfd echo enabled (BFD profile "echo"), which is not possible with IPv6 addresses',
      ],
    ],
    [
      "advertised only to other peers",
      {
        pools: [aPool("a", ["fc00::/120"])],
        bfdProfiles: [echo],
        bgpPeers: [aPeer("p", { bfdProfile: "echo" })],
        bgpAdvertisements: [aBGPAdvertisement("adv", { peers: ["q"] })],
      },
      [],
    ],
  ])("%s", (_d, parts, expected) => {
    expect(problemsOf(parts)).toEqual(expected);
  });
});

describe("Nodes: labels for the selectors, status.addresses as plain data", () => {
  test("addresses in the Node's order, Nodes by name; malformed entries are skipped, never reported", () => {
    const malformed = {
      ...aNode("node0"),
      status: { addresses: [{ type: "InternalIP", address: 10 }, { type: "InternalIP" }, "10.0.0.1", null, { type: "InternalIP", address: "10.0.0.9" }] },
    };
    const cfg = configOf({
      nodes: [
        aNode("node2", {}, [
          ["Hostname", "node2"],
          ["InternalIP", "10.0.0.2"],
        ]),
        aNode("node1", { zone: "a" }, [
          ["InternalIP", "fd00::1"],
          ["InternalIP", "10.0.0.1"],
          ["ExternalIP", "203.0.113.1"],
        ]),
        malformed,
        aNode("bare"),
        { ...aNode("no-list"), status: { addresses: "10.0.0.3" } },
      ],
    });
    expect(cfg.nodes).toEqual([
      { name: "bare", addresses: [] },
      { name: "no-list", addresses: [] },
      { name: "node0", addresses: [{ type: "InternalIP", address: "10.0.0.9" }] },
      {
        name: "node1",
        addresses: [
          { type: "InternalIP", address: "fd00::1" },
          { type: "InternalIP", address: "10.0.0.1" },
          { type: "ExternalIP", address: "203.0.113.1" },
        ],
      },
      {
        name: "node2",
        addresses: [
          { type: "Hostname", address: "node2" },
          { type: "InternalIP", address: "10.0.0.2" },
        ],
      },
    ]);
  });

  test("a Node without a name is reported as before and left out", () => {
    expect(problemsOf({ nodes: [{ metadata: {}, status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }] } }] })).toEqual([
      "Node/(unnamed #0) metadata.name: missing Node name",
    ]);
  });
});

describe("collecting, ordering, transient references", () => {
  test("all problems are collected in name order, independent of input order", () => {
    const parts = { pools: [aPool("z", []), aPool("a", ["bad"]), aPool("m", ["10.0.0.0/8"])], bgpPeers: [aPeer("p", { myASN: 0 })] };
    const expected = [
      "BGPPeer/p spec.myASN: missing local ASN",
      'IPAddressPool/a spec.addresses[0]: invalid CIDR "bad"',
      "IPAddressPool/z spec.addresses: pool has no prefixes defined",
    ];
    expect(problemsOf(parts)).toEqual(expected);
    expect(problemsOf({ ...parts, pools: [...parts.pools].reverse() })).toEqual(expected);
  });

  test("namespace option", () => {
    const other = { ...aPool("a", ["10.0.0.0/24"]), metadata: { name: "a", namespace: "default" } };
    const r = parseConfig(clusterResources({ pools: [other] }), { namespace: "metallb-system" });
    expect(r.ok ? [] : r.error.map(formatProblem)).toEqual(["IPAddressPool/a metadata.namespace: resource must be created in metallb-system namespace"]);
  });

  test("blankTransientReferences removes only what may be transient, without mutating the input", () => {
    const resources = clusterResources({
      bgpPeers: [aPeer("p", { bfdProfile: "nope", passwordSecret: { name: "s" } })],
      bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["alias", "1:1", "large:1:2:3"] })],
    });
    expect(parseConfig(resources).ok).toBe(false);
    const blanked = blankTransientReferences(resources);
    expect(parseConfig(blanked).ok).toBe(true);
    expect((blanked.bgpAdvertisements[0] as { spec: { communities: string[] } }).spec.communities).toEqual(["1:1", "large:1:2:3"]);
    expect((resources.bgpPeers[0] as { spec: { bfdProfile: string } }).spec.bfdProfile).toBe("nope");
  });

  test.each<[string, Partial<ClusterResources>]>([
    ["null items", { pools: [null], bgpPeers: [null], nodes: [null] }],
    ["spec is a list", { pools: [{ metadata: { name: "a" }, spec: [] }] }],
    ["labels not a map", { pools: [{ metadata: { name: "a", labels: "x" }, spec: { addresses: ["10.0.0.0/24"] } }] }],
  ])("malformed objects are reported, not thrown: %s", (_d, parts) => {
    expect(parseConfig(clusterResources(parts)).ok).toBe(false);
  });
});

describe("leaveNodeProblemsToSpeakers: the operator's parse (MetalLB's controller never validates peers)", () => {
  const cases: Case[] = [
    ["missing BFD profile", { bgpPeers: [aPeer("p", { bfdProfile: "nope" })] }, []],
    ["missing password Secret", { bgpPeers: [aPeer("p", { passwordSecret: { name: "s" } })] }, []],
    ["Secret of the wrong type", { secrets: [aSecret("s", "Opaque", { password: "hunter2" })], bgpPeers: [aPeer("p", { passwordSecret: { name: "s" } })] }, []],
    [
      "duplicate peers selecting one node",
      { nodes: [aNode("n1")], bgpPeers: [aPeer("a", { peerAddress: "10.0.0.9" }), aPeer("b", { peerAddress: "10.0.0.9" })] },
      [],
    ],
    // Problems of the peer itself stay the operator's.
    [
      "password and secret",
      { bgpPeers: [aPeer("p", { password: "x", passwordSecret: { name: "s" } })] },
      ["BGPPeer/p spec.passwordSecret: can not have both password and secret ref set in peer config"],
    ],
  ];
  test.each(cases)("%s", (_d, parts, want) => {
    const result = parseConfig(clusterResources(parts), { leaveNodeProblemsToSpeakers: true });
    expect(result.ok ? [] : result.error.map(formatProblem)).toEqual(want);
    // Without the option every one of these is a problem.
    expect(problemsOf(parts).length).toBeGreaterThan(0);
  });

  test("the peer keeps its references for the speakers to resolve", () => {
    const result = parseConfig(clusterResources({ bgpPeers: [aPeer("p", { bfdProfile: "nope", passwordSecret: { name: "s" } })] }), {
      leaveNodeProblemsToSpeakers: true,
    });
    if (!result.ok) throw new Error(result.error.map(formatProblem).join("\n"));
    const p = result.value.peers.find((x) => x.name === "p");
    expect(p).toMatchObject({ bfdProfile: "nope", passwordSecretName: "s", password: "" });
  });
});
