import { describe, expect, test } from "@jest/globals";
import { planBgpAnnouncements, type BgpServiceView, type NodeBgpPlan, type NodeView, type PrefixAnnouncement } from "../bgp/plan.js";
import { parseCommunity } from "../bgp/community.js";
import { aBFDProfile, aBGPAdvertisement, aNode, aPeer, aPool, validConfig } from "../config/testdata/builders.js";
import type { ClusterResources, Config } from "../config/types.js";
import { cidrOf } from "../net/cidr.js";
import { parseIP } from "../net/ip.js";
import { buildFrrConfig, classifyPrefixes, compareInterfaceNames, frrCommunityText } from "./build.js";
import type { FrrConfig, FrrNeighbor } from "./types.js";

const configOf = (parts: Partial<ClusterResources>): Config => validConfig({ pools: [aPool("pool-a", ["198.51.100.0/24", "2001:db8::/120"])], ...parts });

const node1: NodeView = { name: "node1", labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false };

function svc(key: string, ips: string[]): BgpServiceView {
  return {
    key,
    ips: ips.map((t) => {
      const r = parseIP(t);
      if (!r.ok) throw new Error(r.error);
      return r.value;
    }),
    pool: "pool-a",
    labels: {},
    sharingKey: "",
    externalTrafficPolicy: "Cluster",
    nodesWithServingEndpoints: ["node1"],
  };
}

function build(parts: Partial<ClusterResources>, services: BgpServiceView[] = []): FrrConfig {
  const config = configOf(parts);
  return buildFrrConfig(planBgpAnnouncements(config, services, [node1], "node1"), config.bfdProfiles, { logLevel: "info" });
}

function neighbor(cfg: FrrConfig, id: string): FrrNeighbor {
  const n = cfg.routers.flatMap((r) => r.neighbors).find((x) => x.id === id);
  if (n === undefined) throw new Error(`no neighbor ${id}`);
  return n;
}

describe("FRR ordering and canonical text", () => {
  test("interface names sort like FRR's if_cmp_name_func", () => {
    expect(["eth10", "eth2", "eth1", "bond0", "eth1a"].sort(compareInterfaceNames)).toEqual(["bond0", "eth1", "eth1a", "eth2", "eth10"]);
  });

  test.each([
    ["65535:65281", "no-export"],
    ["65535:65282", "no-advertise"],
    ["65535:65283", "local-AS"],
    ["65535:0", "graceful-shutdown"],
    ["65535:666", "blackhole"],
    ["0:0", "internet"],
    ["64512:100", "64512:100"],
    ["large:1:2:3", "1:2:3"],
  ])("community %s is written %s", (text, want) => {
    const c = parseCommunity(text);
    if (!c.ok) throw new Error(c.error.message);
    expect(frrCommunityText(c.value)).toBe(want);
  });

  test("neighbors: interfaces first, then IPv4 and IPv6 numerically; default VRF router first", () => {
    const cfg = build({
      bgpPeers: [
        aPeer("v6", { peerAddress: "fd00::2" }),
        aPeer("v4-10", { peerAddress: "10.0.0.10" }),
        aPeer("v4-9", { peerAddress: "10.0.0.9" }),
        aPeer("if", { peerAddress: undefined, interface: "eth0" }),
        aPeer("red", { peerAddress: "10.0.0.1", vrf: "red" }),
      ],
    });
    expect(cfg.routers.map((r) => [r.vrf, r.neighbors.map((n) => n.id)])).toEqual([
      ["", ["eth0", "10.0.0.9", "10.0.0.10", "fd00::2"]],
      ["red", ["10.0.0.1"]],
    ]);
    expect(cfg.routeMaps.filter((m) => m.name.startsWith("10.0.0.1-")).map((m) => m.name)).toEqual(["10.0.0.1-red-in", "10.0.0.1-red-out"]);
  });
});

describe("neighbor session fields", () => {
  test("timers in whole seconds, non-default port, multihop, local-as, graceful restart, BFD", () => {
    const cfg = build({
      bfdProfiles: [aBFDProfile("fast")],
      bgpPeers: [
        aPeer("p", {
          holdTime: "10s",
          connectTime: "7s",
          peerPort: 1179,
          ebgpMultiHop: true,
          localASN: 65000,
          enableGracefulRestart: true,
          bfdProfile: "fast",
          sourceAddress: "10.0.0.1",
        }),
      ],
    });
    expect(neighbor(cfg, "192.0.2.1")).toMatchObject({
      hasTimers: true,
      keepaliveSeconds: 3,
      holdSeconds: 10,
      hasConnectTime: true,
      connectSeconds: 7,
      hasPort: true,
      port: 1179,
      ebgpMultihop: true,
      hasLocalAs: true,
      localAs: 65000,
      gracefulRestart: true,
      bfd: true,
      hasBfdProfile: true,
      bfdProfile: "fast",
      bfdCheckControlPlaneFailure: true,
      hasUpdateSource: true,
      updateSource: "10.0.0.1",
      disableConnectedCheck: false,
    });
  });

  test.each([
    ["graceful restart and BFD", { enableGracefulRestart: true, bfdProfile: "fast" }, true],
    ["graceful restart without BFD", { enableGracefulRestart: true }, false],
    ["BFD without graceful restart", { bfdProfile: "fast" }, false],
  ])("bfd check-control-plane-failure: %s", (_name, spec, want) => {
    const n = neighbor(build({ bgpPeers: [aPeer("p", spec)], bfdProfiles: [aBFDProfile("fast")] }), "192.0.2.1");
    expect(n.bfdCheckControlPlaneFailure).toBe(want);
  });

  test("defaults: no timers, port 179 not rendered, no BFD", () => {
    expect(neighbor(build({ bgpPeers: [aPeer("p")] }), "192.0.2.1")).toMatchObject({
      hasTimers: false,
      hasConnectTime: false,
      hasPort: false,
      bfd: false,
      hasLocalAs: false,
    });
  });

  test.each([
    ["single-hop IPv6 eBGP", { peerAddress: "fd00::1" }, true],
    ["multihop IPv6 eBGP", { peerAddress: "fd00::1", ebgpMultiHop: true }, false],
    ["IPv6 iBGP", { peerAddress: "fd00::1", peerASN: 64500 }, false],
    ["IPv4 eBGP", { peerAddress: "192.0.2.1" }, false],
    ["dynamic external over IPv6", { peerAddress: "fd00::1", peerASN: undefined, dynamicASN: "external" }, true],
  ])("disable-connected-check for %s: %s", (_d, spec, want) => {
    const cfg = build({ bgpPeers: [aPeer("p", spec)] });
    expect(cfg.routers[0]?.neighbors[0]?.disableConnectedCheck).toBe(want);
  });

  test("the password is never in the model, only a flag and the key to look it up", () => {
    const cfg = build({ bgpPeers: [aPeer("p", { password: "hunter2" })] });
    expect(neighbor(cfg, "192.0.2.1")).toMatchObject({ hasPassword: true, passwordKey: "p" });
    expect(JSON.stringify(cfg)).not.toContain("hunter2");
  });
});

describe("bgp router-id: the BGPPeers', else the node's InternalIP", () => {
  const routers = (cfg: FrrConfig): string[] => cfg.routers.map((r) => `${r.asn}${r.hasVrf ? ` vrf ${r.vrf}` : ""}: ${r.hasRouterId ? r.routerId : "-"}`);
  const internal = (ip: string): Record<string, unknown> =>
    aNode("node1", {}, [
      ["InternalIP", ip],
      ["Hostname", "node1"],
    ]);
  test.each<[desc: string, parts: Partial<ClusterResources>, want: string[]]>([
    ["no routerID: the node's InternalIP", { bgpPeers: [aPeer("p")], nodes: [internal("10.111.0.11")] }, ["64500: 10.111.0.11"]],
    ["an explicit routerID wins", { bgpPeers: [aPeer("p", { routerID: "192.0.2.100" })], nodes: [internal("10.111.0.11")] }, ["64500: 192.0.2.100"]],
    ["no InternalIP: no line (FRR picks one)", { bgpPeers: [aPeer("p")], nodes: [aNode("node1", {}, [["ExternalIP", "203.0.113.5"]])] }, ["64500: -"]],
    [
      "IPv6-only node: no line (its BGPPeers must set routerID)",
      { bgpPeers: [aPeer("p", { peerAddress: "fd00::1" })], nodes: [internal("fd00::11")] },
      ["64500: -"],
    ],
    ["no Nodes known: no line", { bgpPeers: [aPeer("p")] }, ["64500: -"]],
    [
      "every VRF instance",
      { bgpPeers: [aPeer("p"), aPeer("q", { peerAddress: "192.0.2.2", vrf: "red" })], nodes: [internal("10.111.0.11")] },
      ["64500: 10.111.0.11", "64500 vrf red: 10.111.0.11"],
    ],
  ])("%s", (_d, parts, want) => {
    expect(routers(build(parts))).toEqual(want);
  });
});

const outEntries = (cfg: FrrConfig, routeMap: string): string[] =>
  cfg.routeMaps
    .filter((m) => m.name === routeMap)
    .map((m) => [`${m.action} ${m.seq}`, ...(m.hasMatchTag ? [`match tag ${m.matchTag}`] : []), ...m.sets.map((x) => `set ${x}`)].join(" | "));

const networkLines = (cfg: FrrConfig): string[][] =>
  cfg.routers.flatMap((r) => r.addressFamilies.map((af) => [af.name, ...af.networks.map((n) => `${n.prefix} ${n.routeMap}`)]));

/** The id of the only class, checking there is exactly one. */
function onlyClassId(cfg: FrrConfig): number {
  const classes = cfg.routeMaps.filter((m) => m.name.startsWith("class-"));
  expect(classes.length).toBe(1);
  return Number(classes[0]?.name.slice("class-".length));
}

describe("outbound policy: prefix classes and route tags", () => {
  test("LOCAL_PREF only for iBGP peers; communities for both; sets in FRR's order", () => {
    const cfg = build(
      {
        bgpPeers: [aPeer("ebgp"), aPeer("ibgp", { peerAddress: "192.0.2.2", peerASN: 64500 })],
        bgpAdvertisements: [aBGPAdvertisement("adv", { localPref: 120, communities: ["large:1:2:3", "65535:65281", "1:1"] })],
      },
      [svc("ns/a", ["198.51.100.1"])],
    );
    const id = onlyClassId(cfg);
    expect(cfg.routeMaps.find((m) => m.name === `class-${id}`)).toMatchObject({ action: "permit", seq: 10, hasMatchTag: false, sets: [`tag ${id}`] });
    expect(outEntries(cfg, "192.0.2.1-out")).toEqual([
      `permit ${id} | match tag ${id} | set community 1:1 no-export additive | set large-community 1:2:3 additive`,
      "deny 65535",
    ]);
    expect(outEntries(cfg, "192.0.2.2-out")).toEqual([
      `permit ${id} | match tag ${id} | set community 1:1 no-export additive | set large-community 1:2:3 additive | set local-preference 120`,
      "deny 65535",
    ]);
    expect(outEntries(cfg, "192.0.2.1-in")).toEqual(["deny 10"]);
  });

  test("families: a single-family neighbor gets only its family's classes; a neighbor without prefixes denies everything", () => {
    const cfg = build(
      { bgpPeers: [aPeer("v4"), aPeer("dual", { peerAddress: "192.0.2.2", dualStackAddressFamily: true })], bgpAdvertisements: [aBGPAdvertisement("adv")] },
      [svc("ns/a", ["2001:db8::1"])],
    );
    const id = onlyClassId(cfg);
    expect(outEntries(cfg, "192.0.2.1-out")).toEqual(["deny 65535"]);
    expect(outEntries(cfg, "192.0.2.2-out")).toEqual([`permit ${id} | match tag ${id}`, "deny 65535"]);
    expect(networkLines(cfg)).toEqual([["ipv4 unicast"], ["ipv6 unicast", `2001:db8::1/128 class-${id}`]]);
    expect(cfg.routers[0]?.addressFamilies.map((af) => af.neighbors.map((n) => n.id))).toEqual([["192.0.2.1", "192.0.2.2"], ["192.0.2.2"]]);
  });

  test("a class holds every prefix treated alike, IPv4 and IPv6 alike; one route tag per class", () => {
    const cfg = build(
      { bgpPeers: [aPeer("dual", { dualStackAddressFamily: true })], bgpAdvertisements: [aBGPAdvertisement("adv", { communities: ["1:1"] })] },
      [svc("ns/a", ["198.51.100.1", "2001:db8::1"]), svc("ns/b", ["198.51.100.2"])],
    );
    const id = onlyClassId(cfg);
    expect(networkLines(cfg)).toEqual([
      ["ipv4 unicast", `198.51.100.1/32 class-${id}`, `198.51.100.2/32 class-${id}`],
      ["ipv6 unicast", `2001:db8::1/128 class-${id}`],
    ]);
  });

  const peers = [aPeer("a"), aPeer("b", { peerAddress: "192.0.2.2" })];
  const advs = [
    aBGPAdvertisement("to-a", { peers: ["a"], serviceSelectors: [{ matchLabels: { to: "a" } }] }),
    aBGPAdvertisement("to-both", { communities: ["1:1"], serviceSelectors: [{ matchLabels: { to: "both" } }] }),
    aBGPAdvertisement("to-both-plain", { serviceSelectors: [{ matchLabels: { to: "both-plain" } }] }),
  ];
  const labelled = (key: string, ip: string, to: string): BgpServiceView => ({ ...svc(key, [ip]), labels: { to } });
  const classIds = (services: BgpServiceView[]): Map<string, string> =>
    new Map(
      build({ bgpPeers: peers, bgpAdvertisements: advs }, services).routers.flatMap((r) =>
        r.addressFamilies.flatMap((af) => af.networks.map((n) => [n.prefix, n.routeMap])),
      ),
    );

  test.each([
    ["different peers", "to-a", "to-both-plain", false],
    ["same peers, different communities", "to-both", "to-both-plain", false],
    ["same advertisement", "to-both", "to-both", true],
  ])("classes: %s → same class: %s", (_d, x, y, same) => {
    const ids = classIds([labelled("ns/x", "198.51.100.1", x.replace(/^to-/, "")), labelled("ns/y", "198.51.100.2", y.replace(/^to-/, ""))]);
    expect(ids.get("198.51.100.1/32") === ids.get("198.51.100.2/32")).toBe(same);
  });

  test("class ids do not move when other Services and classes come and go, nor with the input order", () => {
    const base = [labelled("ns/x", "198.51.100.1", "a"), labelled("ns/y", "198.51.100.2", "both")];
    const before = classIds(base);
    const more = classIds([labelled("ns/z", "198.51.100.3", "both-plain"), ...base, labelled("ns/w", "198.51.100.4", "a")].reverse());
    expect(more.get("198.51.100.1/32")).toBe(before.get("198.51.100.1/32"));
    expect(more.get("198.51.100.2/32")).toBe(before.get("198.51.100.2/32"));
    expect(more.get("198.51.100.4/32")).toBe(before.get("198.51.100.1/32"));
    expect(new Set(more.values()).size).toBe(3);
  });

  test("the -out entry of a class is its id: route-maps stay sorted by sequence, ending with the final deny", () => {
    const cfg = build({ bgpPeers: peers, bgpAdvertisements: advs }, [
      labelled("ns/x", "198.51.100.1", "a"),
      labelled("ns/y", "198.51.100.2", "both"),
      labelled("ns/z", "198.51.100.3", "both-plain"),
    ]);
    for (const name of ["192.0.2.1-out", "192.0.2.2-out"]) {
      const entries = cfg.routeMaps.filter((m) => m.name === name);
      expect(entries.map((m) => m.seq)).toEqual([...entries.map((m) => m.seq)].sort((a, b) => a - b));
      expect(entries.filter((m) => m.action === "permit").every((m) => m.matchTag === m.seq && m.seq >= 1 && m.seq <= 65534)).toBe(true);
      expect(entries.at(-1)).toMatchObject({ action: "deny", seq: 65535, hasMatchTag: false, sets: [] });
    }
    expect(cfg.routeMaps.filter((m) => m.name === "192.0.2.1-out").length).toBe(4);
    expect(cfg.routeMaps.filter((m) => m.name === "192.0.2.2-out").length).toBe(3);
  });
});

describe("classifyPrefixes", () => {
  const peer = configOf({ bgpPeers: [aPeer("p")] }).peers;
  const announcement = (i: number, community: number): PrefixAnnouncement => {
    const c = parseCommunity(`1:${community}`);
    const ip = parseIP(`198.51.100.${i}`);
    if (!c.ok || !ip.ok) throw new Error("bad test input");
    return { prefix: cidrOf(ip.value, 32), services: [`ns/s${i}`], advertisements: ["adv"], peers: [{ peer: "p", localPref: 0, communities: [c.value] }] };
  };

  test("colliding signatures take the next free id, in signature order, whatever the input order", () => {
    // Find two treatments (community 1:x vs 1:y) whose signatures hash to the same id.
    const seen = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let x = 0; pair === undefined && x < 5000; x++) {
      const id = classifyPrefixes(peer, [announcement(1, x)])[0]?.id ?? 0;
      const other = seen.get(id);
      if (other !== undefined) pair = [other, x];
      seen.set(id, x);
    }
    if (pair === undefined) throw new Error("no collision found");
    const [x, y] = pair;
    const alone = classifyPrefixes(peer, [announcement(1, x)])[0]?.id ?? 0;
    const both = classifyPrefixes(peer, [announcement(2, y), announcement(1, x)]);
    const [first, second] = [`p community 1:${x}`, `p community 1:${y}`].sort() as [string, string];
    expect(both.find((c) => c.signature === first)?.id).toBe(alone);
    expect(both.find((c) => c.signature === second)?.id).toBe((alone % 65534) + 1);
  });

  test("prefixes no session receives are in no class", () => {
    const a = { ...announcement(1, 1), peers: [{ peer: "gone", localPref: 0, communities: [] }] };
    expect(classifyPrefixes(peer, [a])).toEqual([]);
  });
});

describe("BFD profiles and logging", () => {
  test("values equal to FRR's defaults are not rendered; profiles sorted by name", () => {
    const cfg = build({
      bfdProfiles: [
        aBFDProfile("z", { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3, echoInterval: 50, minimumTtl: 254 }),
        aBFDProfile("a", { receiveInterval: 100, echoMode: true, passiveMode: true, minimumTtl: 10 }),
      ],
    });
    expect(cfg.bfdProfiles.map((p) => p.name)).toEqual(["a", "z"]);
    expect(cfg.bfdProfiles[1]).toMatchObject({
      hasDetectMultiplier: false,
      hasReceiveInterval: false,
      hasTransmitInterval: false,
      hasEchoInterval: false,
      hasMinimumTtl: false,
    });
    expect(cfg.bfdProfiles[0]).toMatchObject({
      hasReceiveInterval: true,
      receiveInterval: 100,
      echoMode: true,
      passiveMode: true,
      hasMinimumTtl: true,
      minimumTtl: 10,
    });
  });

  test.each([
    ["debug", { hasLevel: false, level: "", debug: true }],
    ["info", { hasLevel: true, level: "informational", debug: false }],
    ["warn", { hasLevel: true, level: "warnings", debug: false }],
    ["error", { hasLevel: true, level: "errors", debug: false }],
    ["none", { hasLevel: true, level: "emergencies", debug: false }],
  ] as const)("log level %s", (logLevel, want) => {
    const config = configOf({});
    expect(buildFrrConfig(planBgpAnnouncements(config, [], [node1], "node1"), [], { logLevel }).log).toEqual(want);
  });
});

describe("graceful shutdown (RFC 8326): a draining node keeps its prefixes, every router says bgp graceful-shutdown", () => {
  const peers = { bgpPeers: [aPeer("p"), aPeer("v", { vrf: "red" })], bgpAdvertisements: [aBGPAdvertisement("a")] };
  const plan = (draining: boolean): NodeBgpPlan => {
    const config = configOf(peers);
    return planBgpAnnouncements(config, [svc("ns/web", ["198.51.100.10"])], [{ ...node1, draining }], "node1");
  };
  test.each<[desc: string, draining: boolean, forced: boolean | undefined, want: boolean]>([
    ["a node in service: no", false, undefined, false],
    ["a cordoned node (NodeConfig draining): yes", true, undefined, true],
    ["the speaker stopping (option), node in service: yes", false, true, true],
    ["both: yes", true, true, true],
    ["option false does not undo a cordon", true, false, true],
  ])("%s", (_desc, draining, forced, want) => {
    const cfg = buildFrrConfig(plan(draining), [], { logLevel: "info", ...(forced === undefined ? {} : { gracefulShutdown: forced }) });
    expect(cfg.routers.map((r) => r.gracefulShutdown)).toEqual([want, want]);
    // Make before break: the prefix stays while draining (originated in each router, the default and the VRF one).
    expect(cfg.routers.map((r) => r.addressFamilies.flatMap((af) => af.networks.map((n) => n.prefix)))).toEqual([["198.51.100.10/32"], ["198.51.100.10/32"]]);
  });
});
