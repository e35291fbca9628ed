import { describe, expect, test } from "@jest/globals";
import { aBGPAdvertisement, aPeer, aPool, deepFreeze, validConfig } from "../config/testdata/builders.js";
import { formatCidr } from "../net/cidr.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";
import { planAfterDrain } from "./after-drain.js";
import { planBgpAnnouncements, type BgpServiceView, type NodeBgpPlan } from "./plan.js";

const service = (key: string, addr: string, extra: Partial<BgpServiceView> = {}): BgpServiceView => ({
  key,
  ips: [ip(addr)],
  pool: "pool-a",
  labels: {},
  sharingKey: "",
  externalTrafficPolicy: "Cluster",
  nodesWithServingEndpoints: ["node1"],
  ...extra,
});

const gr = aPeer("gr", { peerAddress: "192.0.2.1", enableGracefulRestart: true });
const plain = aPeer("plain", { peerAddress: "192.0.2.2" });
const gr2 = aPeer("gr2", { peerAddress: "192.0.2.3", enableGracefulRestart: true });

/** prefix → peers, and the announced Services with their peers. */
function summary(plan: NodeBgpPlan): { prefixes: Record<string, string[]>; services: Record<string, string[]> } {
  return {
    prefixes: Object.fromEntries(plan.announcements.map((a) => [formatCidr(a.prefix), a.peers.map((p) => p.peer)])),
    services: Object.fromEntries(plan.services.flatMap((s) => (s.announced ? [[s.service, [...s.peers]]] : []))),
  };
}

describe("planAfterDrain: a stopping speaker withdraws from the peers without graceful restart only", () => {
  type Spec = ReturnType<typeof aPeer>;
  type Case = [desc: string, peers: Spec[], advertisements: Spec[], want: ReturnType<typeof summary>];
  test.each<Case>([
    ["no graceful restart peer: everything withdrawn (the empty plan)", [plain], [aBGPAdvertisement("all")], { prefixes: {}, services: {} }],
    [
      "only graceful restart peers: everything kept, the routers keep the routes through the restart",
      [gr, gr2],
      [aBGPAdvertisement("all")],
      { prefixes: { "198.51.100.10/32": ["gr", "gr2"], "198.51.100.11/32": ["gr", "gr2"] }, services: { "ns/a": ["gr", "gr2"], "ns/b": ["gr", "gr2"] } },
    ],
    [
      "mixed: withdrawn from the plain peer, kept for the graceful restart one",
      [gr, plain],
      [aBGPAdvertisement("all")],
      { prefixes: { "198.51.100.10/32": ["gr"], "198.51.100.11/32": ["gr"] }, services: { "ns/a": ["gr"], "ns/b": ["gr"] } },
    ],
    [
      "a Service advertised to the plain peer only is withdrawn entirely, its outcome dropped",
      [gr, plain],
      [
        aBGPAdvertisement("to-gr", { peers: ["gr"], serviceSelectors: [{ matchLabels: { app: "a" } }] }),
        aBGPAdvertisement("to-plain", { peers: ["plain"], serviceSelectors: [{ matchLabels: { app: "b" } }] }),
      ],
      { prefixes: { "198.51.100.10/32": ["gr"] }, services: { "ns/a": ["gr"] } },
    ],
  ])("%s", (_d, peers, advertisements, want) => {
    const config = validConfig({ pools: [aPool("pool-a", ["198.51.100.0/24"])], bgpPeers: peers, bgpAdvertisements: advertisements });
    const node = { name: "node1", labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false };
    const services = [service("ns/a", "198.51.100.10", { labels: { app: "a" } }), service("ns/b", "198.51.100.11", { labels: { app: "b" } })];
    const plan = deepFreeze(planBgpAnnouncements(config, services, [node], "node1"));
    const after = planAfterDrain(plan);
    expect(summary(after)).toEqual(want);
    // The sessions stay (a removed neighbor would be torn down with a Cease, which drops the routes at its router).
    expect(after.sessions).toBe(plan.sessions);
  });

  test("what is kept is the plan's own announcement to that peer (LOCAL_PREF, communities unchanged)", () => {
    const config = validConfig({
      pools: [aPool("pool-a", ["198.51.100.0/24"])],
      bgpPeers: [gr, plain],
      bgpAdvertisements: [aBGPAdvertisement("all", { localPref: 150, communities: ["65000:1"] })],
    });
    const node = { name: "node1", labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false };
    const plan = deepFreeze(planBgpAnnouncements(config, [service("ns/a", "198.51.100.10")], [node], "node1"));
    const before = plan.announcements[0]?.peers.find((p) => p.peer === "gr");
    expect(before).toBeDefined();
    expect(planAfterDrain(plan).announcements[0]?.peers).toEqual([before]);
  });
});
