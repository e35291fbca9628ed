// iBGP end to end: LOCAL_PREF from a BGPAdvertisement reaches the router (it is only sent to iBGP peers), together
// with a large community; both nodes are next hops (maximum-paths ibgp).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, pool, waitForIPs } from "../testenv/src/objects.js";
import { NODE_ASN, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { waitFor } from "../testenv/src/proc.js";

interface PrefixJson {
  paths?: Array<{ locPrf?: number; largeCommunity?: { string: string }; peer?: { peerId: string }; valid?: boolean }>;
}

describe("iBGP: LOCAL_PREF and large communities on the router", () => {
  let bgp: BgpLab;

  beforeAll(async () => {
    bgp = await startBgpLab({ routerAsn: NODE_ASN });
    const kc = bgp.kc;
    await ensureNamespace(kc, "apps");
    await pool(kc, "ibgp", { addresses: ["10.220.0.0/24"] });
    await applyMetallb(kc, "BGPAdvertisement", "ibgp", { ipAddressPools: ["ibgp"], localPref: 150, communities: ["large:64512:1:2"] });
  }, 180_000);

  afterAll(async () => {
    await bgp?.stop();
  });

  test("the router sees LOCAL_PREF 150 and the large community on the paths from both nodes", async () => {
    await createService(bgp.kc, "apps", "web");
    await createEndpointSlice(bgp.kc, "apps", "web", bgp.nodes);
    const { ips } = await waitForIPs(bgp.kc, "apps", "web");
    const prefix = `${ips[0] ?? ""}/32`;
    const paths = await waitFor(
      "two valid paths",
      async () => {
        const p = (await bgp.lab.frr("router").vtyshJson<PrefixJson>(`show ip bgp ${prefix} json`)).paths ?? [];
        return p.filter((x) => x.valid === true).length === 2 ? p : undefined;
      },
      60_000,
      100,
    );
    expect(paths.map((p) => p.peer?.peerId).sort()).toEqual(bgp.nodes.map((n) => bgp.lab.host(n).ipv4).sort());
    for (const p of paths) {
      expect(p.locPrf).toBe(150);
      expect(p.largeCommunity?.string).toBe("64512:1:2");
    }
  });
});
