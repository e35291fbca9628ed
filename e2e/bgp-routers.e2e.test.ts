// BGP mode against the three upstream router kinds MetalLB users run, each as a lab-router container
// (testcontainers over podman) in the router's namespace: FRR, BIRD 2 and GoBGP. For each, eBGP and iBGP: password
// sessions over IPv4 and IPv6 with both nodes, BFD (FRR and BIRD: GoBGP has none), a dual-stack Service's /32 and
// /128 from both nodes with its communities and large community (eBGP) or LOCAL_PREF and large community (iBGP), and
// the withdrawal when the Service goes. The operator and speakers run in this process against a real apiserver
// (testenv/src/bgp-lab.ts), each speaker driving its node's FRR.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { applyMetallb, createEndpointSlice, createService, deleteService, ensureNamespace, pool, waitForIPs } from "../testenv/src/objects.js";
import { NODE_ASN, ROUTER_ASN, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { ROUTER_KINDS, type RouterKind, type RouterPath, type UpstreamRouter } from "../testenv/src/routers.js";
import { waitFor } from "../testenv/src/proc.js";

interface Case {
  kind: RouterKind;
  session: "eBGP" | "iBGP";
}
const CASES: Case[] = ROUTER_KINDS.flatMap((kind) => (["eBGP", "iBGP"] as const).map((session) => ({ kind, session })));

describe.each(CASES)("$kind router, $session", ({ kind, session }) => {
  let bgp: BgpLab;
  let router: UpstreamRouter;
  const routerAsn = session === "iBGP" ? NODE_ASN : ROUTER_ASN;
  const nodeAddresses = (): string[] => bgp.nodes.flatMap((n) => [bgp.lab.host(n).ipv4, bgp.lab.host(n).ipv6]).sort();

  beforeAll(async () => {
    bgp = await startBgpLab({ router: kind, routerAsn });
    if (bgp.router === undefined) throw new Error("no router container");
    router = bgp.router;
    const kc = bgp.kc;
    // The lab's BGPPeer "router" is the router's IPv4 address; the IPv6 sessions need their own.
    await applyMetallb(kc, "BGPPeer", "router-v6", {
      myASN: NODE_ASN,
      peerASN: routerAsn,
      peerAddress: bgp.lab.host("router").ipv6,
      holdTime: "9s",
      keepaliveTime: "3s",
      connectTime: "1s",
      passwordSecret: { name: "router-pw" },
      bfdProfile: "fast",
    });
    await ensureNamespace(kc, "apps");
    await pool(kc, "dual", { addresses: ["10.230.0.0/24", "fd00:230::/120"] });
    const spec = session === "iBGP" ? { localPref: 150, communities: ["large:64512:1:2"] } : { communities: ["64500:100", "large:64512:1:2"] };
    await applyMetallb(kc, "BGPAdvertisement", "dual", { ipAddressPools: ["dual"], ...spec });
  }, 180_000);

  afterAll(async () => {
    await bgp?.stop();
  });

  test("password sessions over IPv4 and IPv6 with both nodes are Established", async () => {
    const sessions = await waitFor(
      "four sessions Established",
      async () => {
        const s = await router.sessions();
        return nodeAddresses().every((a) => s.get(a) === true) ? s : undefined;
      },
      60_000,
      250,
    );
    expect([...sessions.keys()].sort()).toEqual(nodeAddresses());
  });

  if (kind !== "gobgp") {
    test("BFD sessions are up with every node address", async () => {
      await waitFor(
        "BFD up",
        async () => {
          const b = await router.bfd();
          return nodeAddresses().every((a) => b.get(a) === true) ? b : undefined;
        },
        60_000,
        250,
      );
    });
  }

  test("a dual-stack Service's /32 and /128 arrive from both nodes with the advertisement's attributes, and go when it is deleted", async () => {
    await createService(bgp.kc, "apps", "web", { ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"] });
    await createEndpointSlice(bgp.kc, "apps", "web", bgp.nodes);
    const { ips } = await waitForIPs(bgp.kc, "apps", "web");
    expect(ips).toHaveLength(2);
    const prefixes = ips.map((ip) => (ip.includes(":") ? `${ip}/128` : `${ip}/32`));
    for (const prefix of prefixes) {
      const v6 = prefix.includes(":");
      const want = bgp.nodes.map((n) => (v6 ? bgp.lab.host(n).ipv6 : bgp.lab.host(n).ipv4)).sort();
      const paths = await waitFor(
        `${prefix} from both nodes`,
        async () => {
          const p = await router.paths(prefix);
          return p.map((x) => x.peer).join() === want.join() ? p : undefined;
        },
        60_000,
        250,
      );
      // LOCAL_PREF travels on iBGP sessions only (an eBGP router sets its own).
      const attrs = (p: RouterPath): object =>
        session === "iBGP"
          ? { communities: p.communities, large: p.largeCommunities, localPref: p.localPref }
          : { communities: p.communities, large: p.largeCommunities };
      const expected = session === "iBGP" ? { communities: [], large: ["64512:1:2"], localPref: 150 } : { communities: ["64500:100"], large: ["64512:1:2"] };
      for (const p of paths) expect({ prefix, peer: p.peer, ...attrs(p) }).toEqual({ prefix, peer: p.peer, ...expected });
      // The next hop is the node itself (its global address; BIRD may show the IPv6 link-local one).
      for (const p of paths) expect({ prefix, nextHop: v6 && p.nextHop.startsWith("fe80:") ? p.peer : p.nextHop }).toEqual({ prefix, nextHop: p.peer });
    }
    await deleteService(bgp.kc, "apps", "web");
    for (const prefix of prefixes) {
      await waitFor(`${prefix} withdrawn`, async () => ((await router.paths(prefix)).length === 0 ? true : undefined), 30_000, 250);
    }
  });
});
