// A quiet cluster means zero writes: once a BGP Service is announced and the sessions are up, nothing the operator or
// the speakers own changes while nothing else does, although the speakers keep reading FRR's state (every 500 ms
// here) and the operator keeps its watches. Checked on the real apiserver by resourceVersion: any write bumps it.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, METALLB_NS, pool, waitForIPs } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { jsonLogger } from "../shell/src/logger.js";
import { startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { sleep, waitFor } from "../testenv/src/proc.js";

const QUIET_MS = 6_000;

describe("steady state", () => {
  let bgp: BgpLab;
  const logs: string[] = [];

  beforeAll(async () => {
    bgp = await startBgpLab({ log: jsonLogger({ write: (l) => logs.push(l), level: "debug" }) });
  }, 180_000);

  afterAll(async () => {
    await bgp?.stop();
    if (process.env.E2E_DUMP_LOGS === "1") process.stderr.write(logs.join(""));
  });

  test("nothing is written while nothing changes", async () => {
    const kc = bgp.kc;
    await ensureNamespace(kc, "apps");
    await pool(kc, "public", { addresses: ["10.210.0.0/24"] });
    await applyMetallb(kc, "BGPAdvertisement", "public", { ipAddressPools: ["public"] });
    await createService(kc, "apps", "web");
    await createEndpointSlice(kc, "apps", "web", ["node1", "node2"]);
    const { ips } = await waitForIPs(kc, "apps", "web");
    const prefix = `${ips[0] ?? ""}/32`;
    await waitFor(
      "the route at the router via both nodes",
      async () => {
        const t = await bgp.lab.frr("router").vtyshJson<{ routes: Record<string, Array<{ valid: boolean }>> }>("show ip bgp json");
        return (t.routes[prefix] ?? []).filter((p) => p.valid).length === 2 ? true : undefined;
      },
      30_000,
      100,
    );
    const statuses = async (): Promise<Array<{ status?: { bgp?: { result?: string; sessionsEstablished?: number } } }>> =>
      (
        (await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs`)).body as {
          items: Array<{ status?: { bgp?: { result?: string; sessionsEstablished?: number } } }>;
        }
      ).items;
    await waitFor(
      "both NodeConfigs Applied with their session up",
      async () => ((await statuses()).every((o) => o.status?.bgp?.result === "Applied" && o.status.bgp.sessionsEstablished === 1) ? true : undefined),
      30_000,
      100,
    );
    // Let the last transitions (ServiceBGPStatus, pool counters) land.
    await sleep(2_000);

    const collections = [
      `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs`,
      `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/announcementshards`,
      `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/servicebgpstatuses`,
      `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools`,
      `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates`,
      "/api/v1/namespaces/apps/services",
      "/api/v1/namespaces/apps/events",
    ];
    const versions = async (): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const path of collections) {
        const items = ((await kubeRequest(kc, "GET", path)).body as { items: Array<{ metadata: { name: string; resourceVersion: string } }> }).items;
        for (const o of items) out[`${path}/${o.metadata.name}`] = o.metadata.resourceVersion;
      }
      return out;
    };
    const before = await versions();
    expect(Object.keys(before).some((k) => k.includes("/servicebgpstatuses/"))).toBe(true);
    // The speakers' own ConfigurationStates are among what must stay unwritten.
    for (const n of ["node1", "node2"])
      expect(Object.keys(before)).toContain(`/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates/speaker-${n}`);
    await sleep(QUIET_MS);
    expect(await versions()).toEqual(before);
  }, 120_000);
});
