import { describe, expect, test } from "@jest/globals";
import { planServiceAnnouncement } from "../announce/plan.js";
import { aBGPAdvertisement, aNode, aPeer, aPool, anL2Advertisement, validConfig } from "../config/testdata/builders.js";
import { parseIP, type IPAddress } from "../net/ip.js";
import { announceVerdict, verdictMessage, type AnnounceVerdict, type NodeAvailability } from "./verdict.js";

const ip = (t: string): IPAddress => {
  const r = parseIP(t);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

const NODES = Array.from({ length: 50 }, (_, i) => aNode(`n${String(i).padStart(2, "0")}`));

function verdictWith(
  parts: Parameters<typeof validConfig>[0],
  lookup: (n: string) => NodeAvailability | undefined,
  etp: "Cluster" | "Local" = "Cluster",
  serving = ["n07"],
): AnnounceVerdict {
  const config = validConfig({ pools: [aPool("lan", ["10.0.0.0/30"])], nodes: NODES, ...parts });
  const half = planServiceAnnouncement(config, {
    key: "default/web",
    ips: [ip("10.0.0.1")],
    pool: "lan",
    labels: {},
    sharingKey: "",
    externalTrafficPolicy: etp,
    nodesWithServingEndpoints: serving,
  });
  return announceVerdict(config, half, "lan", lookup);
}

describe("announceVerdict", () => {
  test("stops at the first node that announces: a Service event does not walk every node", () => {
    const asked: string[] = [];
    const v = verdictWith({ l2Advertisements: [anL2Advertisement("l2")] }, (n) => {
      asked.push(n);
      return { excludedFromLoadBalancers: n === "n00", networkUnavailable: false };
    });
    expect(v).toEqual({ announced: true, l2: ["l2"], bgp: [] });
    expect(asked).toEqual(["n00", "n01"]);
  });

  test("externalTrafficPolicy Local: only a node with a serving endpoint announces", () => {
    const v = verdictWith({ l2Advertisements: [anL2Advertisement("l2")] }, () => undefined, "Local", ["n07"]);
    expect(v.announced).toBe(true);
    const excluded = verdictWith(
      { l2Advertisements: [anL2Advertisement("l2")] },
      (n) => ({ excludedFromLoadBalancers: n === "n07", networkUnavailable: false }),
      "Local",
      ["n07"],
    );
    expect(excluded).toMatchObject({ announced: false, reason: "noLocalEndpoints" });
  });

  test("a BGPAdvertisement limited to peers without a session on any node", () => {
    const v = verdictWith(
      {
        bgpAdvertisements: [aBGPAdvertisement("bgp", { peers: ["other"] })],
        bgpPeers: [aPeer("router"), aPeer("other", { nodeSelectors: [{ matchLabels: { role: "edge" } }] })],
      },
      () => undefined,
    );
    expect(v).toMatchObject({ announced: false, reason: "noPeerSession" });
    expect(verdictMessage(v)).toMatch(/^no BGPPeer selected by BGPAdvertisement "bgp" has a session on n00, n01, n02, n03, n04 and 45 more$/);
  });

  test("the Announced message names every advertisement that announces", () => {
    const v = verdictWith(
      { l2Advertisements: [anL2Advertisement("l2")], bgpAdvertisements: [aBGPAdvertisement("bgp")], bgpPeers: [aPeer("router")] },
      () => undefined,
    );
    expect(verdictMessage(v)).toBe('announced through L2Advertisement "l2", BGPAdvertisement "bgp"');
  });
});
