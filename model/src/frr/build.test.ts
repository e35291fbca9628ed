import { describe, expect, test } from "@jest/globals";
import { planBgpAnnouncements, type BgpServiceView, type NodeView } from "../bgp/plan.js";
import { parseCommunity } from "../bgp/community.js";
import { parseConfig } from "../config/parse-config.js";
import { formatProblem } from "../config/problems.js";
import { aBFDProfile, aBGPAdvertisement, aPeer, aPool, clusterResources, deepFreeze } from "../config/testdata/builders.js";
import type { ClusterResources, Config } from "../config/types.js";
import { parseIP } from "../net/ip.js";
import { buildFrrConfig, compareInterfaceNames, frrCommunityText } from "./build.js";
import type { FrrConfig, FrrNeighbor } from "./types.js";

function configOf(parts: Partial<ClusterResources>): Config {
  const result = parseConfig(clusterResources({ pools: [aPool("pool-a", ["198.51.100.0/24", "2001:db8::/120"])], ...parts }));
  if (!result.ok) throw new Error(result.error.map(formatProblem).join("\n"));
  return deepFreeze(result.value);
}

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
      bgpPeers: [aPeer("p", { holdTime: "10s", connectTime: "7s", peerPort: 1179, ebgpMultiHop: true, localASN: 65000, enableGracefulRestart: true, bfdProfile: "fast", sourceAddress: "10.0.0.1" })],
    });
    expect(neighbor(cfg, "192.0.2.1")).toMatchObject({
      hasTimers: true, keepaliveSeconds: 3, holdSeconds: 10, hasConnectTime: true, connectSeconds: 7, hasPort: true, port: 1179,
      ebgpMultihop: true, hasLocalAs: true, localAs: 65000, gracefulRestart: true, bfd: true, hasBfdProfile: true, bfdProfile: "fast",
      hasUpdateSource: true, updateSource: "10.0.0.1", disableConnectedCheck: false,
    });
  });

  test("defaults: no timers, port 179 not rendered, no BFD", () => {
    expect(neighbor(build({ bgpPeers: [aPeer("p")] }), "192.0.2.1")).toMatchObject({ hasTimers: false, hasConnectTime: false, hasPort: false, bfd: false, hasLocalAs: false });
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

describe("filters", () => {
  test("LOCAL_PREF only for iBGP peers; communities for both", () => {
    const cfg = build(
      { bgpPeers: [aPeer("ebgp"), aPeer("ibgp", { peerAddress: "192.0.2.2", peerASN: 64500 })], bgpAdvertisements: [aBGPAdvertisement("adv", { localPref: 120, communities: ["1:1"] })] },
      [svc("ns/a", ["198.51.100.1"])],
    );
    const sets = (prefix: string): string[] => cfg.routeMaps.filter((m) => m.name.startsWith(prefix) && m.hasSet).map((m) => m.set);
    expect(sets("192.0.2.1-")).toEqual(["community 1:1 additive"]);
    expect(sets("192.0.2.2-")).toEqual(["local-preference 120", "community 1:1 additive"]);
  });

  test("families: a single-family neighbor gets only its family; an activated family without prefixes denies any", () => {
    const cfg = build({ bgpPeers: [aPeer("v4"), aPeer("dual", { peerAddress: "192.0.2.2", dualStackAddressFamily: true })], bgpAdvertisements: [aBGPAdvertisement("adv")] }, [svc("ns/a", ["2001:db8::1"])]);
    expect(cfg.ipPrefixLists.map((l) => [l.name, l.entries.map((e) => `${e.action} ${e.prefix}`)])).toEqual([
      ["192.0.2.1-allowed-ipv4", ["deny any"]],
      ["192.0.2.2-allowed-ipv4", ["deny any"]],
    ]);
    expect(cfg.ipv6PrefixLists.map((l) => [l.name, l.entries.map((e) => `${e.action} ${e.prefix}`)])).toEqual([["192.0.2.2-allowed-ipv6", ["permit 2001:db8::1/128"]]]);
    const afs = cfg.routers[0]?.addressFamilies.map((af) => [af.name, af.networks.map((n) => n.prefix), af.neighbors.map((n) => n.id)]);
    expect(afs).toEqual([
      ["ipv4 unicast", [], ["192.0.2.1", "192.0.2.2"]],
      ["ipv6 unicast", ["2001:db8::1/128"], ["192.0.2.2"]],
    ]);
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
    expect(cfg.bfdProfiles[1]).toMatchObject({ hasDetectMultiplier: false, hasReceiveInterval: false, hasTransmitInterval: false, hasEchoInterval: false, hasMinimumTtl: false });
    expect(cfg.bfdProfiles[0]).toMatchObject({ hasReceiveInterval: true, receiveInterval: 100, echoMode: true, passiveMode: true, hasMinimumTtl: true, minimumTtl: 10 });
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
