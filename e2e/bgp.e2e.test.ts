// BGP mode end to end: a real kube-apiserver, the operator, one speaker per node (in this process, each driving its
// node's FRR in a network namespace) and an upstream FRR router. EndpointSlices are created by the test (there is
// no controller-manager).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { apply, createEndpointSlice, createService, deleteService, ensureNamespace, type KubeObject, METALLB_NS, pool, waitForIPs } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { jsonLogger } from "../shell/src/logger.js";
import { BGP_LAB_PASSWORD, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import type { NetLab } from "../testenv/src/netlab.js";
import { waitFor } from "../testenv/src/proc.js";

const PASSWORD = BGP_LAB_PASSWORD;

interface RouteJson {
  routes: Record<string, Array<{ peerId: string; valid: boolean }>>;
}
interface NeighborJson {
  bgpState?: string;
  connectionsEstablished?: number;
}

describe("BGP mode end to end", () => {
  let bgp: BgpLab;
  let kc: k8s.KubeConfig;
  let lab: NetLab;
  const logs: string[] = [];

  const routerPaths = async (prefix: string): Promise<string[]> => {
    const t = await lab.frr("router").vtyshJson<RouteJson>("show ip bgp json");
    return (t.routes[prefix] ?? []).filter((p) => p.valid).map((p) => p.peerId).sort();
  };
  const connections = async (): Promise<Record<string, number>> => {
    const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
    return Object.fromEntries(["node1", "node2"].map((n) => [n, all[lab.host(n).ipv4]?.connectionsEstablished ?? -1]));
  };
  const endpoints = (svc: string, nodes: string[]): Promise<void> => createEndpointSlice(kc, "apps", svc, nodes);

  beforeAll(async () => {
    bgp = await startBgpLab({ log: jsonLogger({ write: (l) => logs.push(l), level: "debug" }) });
    kc = bgp.kc;
    lab = bgp.lab;
    await ensureNamespace(kc, "apps");
    await pool(kc, "public", { addresses: ["10.200.0.0/24"] });
    await pool(kc, "internal", { addresses: ["10.201.0.0/24"], autoAssign: false });
    await apply(kc, { apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: { name: "public", namespace: METALLB_NS }, spec: { ipAddressPools: ["public"], communities: ["64500:100"] } }, "bgpadvertisements");
  }, 180_000);

  afterAll(async () => {
    await bgp?.stop();
    if (process.env.E2E_DUMP_LOGS === "1") process.stderr.write(logs.join(""));
  });

  test("password-protected sessions with BFD come up on both nodes", async () => {
    await waitFor(
      "router sessions Established",
      async () => {
        const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
        return ["node1", "node2"].every((n) => all[lab.host(n).ipv4]?.bgpState === "Established") ? true : undefined;
      },
      30_000,
      100,
    );
    const bfd = await waitFor(
      "BFD up with 100 ms intervals",
      async () => {
        const peers = await lab.frr("router").vtyshJson<Array<{ peer: string; status: string; "receive-interval": number; "transmit-interval": number; "remote-receive-interval": number }>>("show bfd peers json");
        return peers.length === 2 && peers.every((p) => p.status === "up") ? peers : undefined;
      },
      30_000,
      100,
    );
    for (const p of bfd) expect([p["receive-interval"], p["transmit-interval"], p["remote-receive-interval"]]).toEqual([100, 100, 100]);
  });

  test("a Service's IP is in the router's table via both nodes, with its community", async () => {
    await createService(kc, "apps", "web");
    await endpoints("web", ["node1", "node2"]);
    const { ips } = await waitForIPs(kc, "apps", "web");
    const prefix = `${ips[0] ?? ""}/32`;
    const paths = await waitFor("both paths on the router", async () => ((await routerPaths(prefix)).length === 2 ? routerPaths(prefix) : undefined), 30_000, 50);
    expect(paths).toEqual([lab.host("node1").ipv4, lab.host("node2").ipv4]);
    const detail = await lab.frr("router").vtyshJson<{ paths: Array<{ community?: { string: string } }> }>(`show ip bgp ${prefix} json`);
    expect(detail.paths.map((p) => p.community?.string)).toEqual(["64500:100", "64500:100"]);
    const route = await waitFor("ECMP kernel route", async () => {
      const out = await lab.exec("router", "ip", ["route", "show", prefix]);
      return (out.stdout.match(/nexthop via/g) ?? []).length === 2 ? out.stdout : undefined;
    }, 10_000, 50);
    expect(route).toContain(lab.host("node1").ipv4);
  });

  test("externalTrafficPolicy Local: only the node with an endpoint announces", async () => {
    await createService(kc, "apps", "local-only");
    await kubeRequest(kc, "PATCH", "/api/v1/namespaces/apps/services/local-only", { spec: { externalTrafficPolicy: "Local" } }, "application/merge-patch+json");
    await endpoints("local-only", ["node2"]);
    const { ips } = await waitForIPs(kc, "apps", "local-only");
    const prefix = `${ips[0] ?? ""}/32`;
    await waitFor("only node2's path", async () => {
      const p = await routerPaths(prefix);
      return p.length === 1 && p[0] === lab.host("node2").ipv4 ? true : undefined;
    }, 30_000, 50);
  });

  test("an unrelated Service change resets no session; deleting a Service withdraws its route", async () => {
    const before = await connections();
    await createService(kc, "apps", "internal", { annotations: { "metallb.io/address-pool": "internal" } });
    await waitForIPs(kc, "apps", "internal");
    await kubeRequest(kc, "PATCH", "/api/v1/namespaces/apps/services/web", { metadata: { labels: { touched: "yes" } } }, "application/merge-patch+json");
    const { ips } = await waitForIPs(kc, "apps", "web");
    const prefix = `${ips[0] ?? ""}/32`;
    await deleteService(kc, "apps", "web");
    await waitFor("route withdrawn", async () => ((await routerPaths(prefix)).length === 0 ? true : undefined), 30_000, 50);
    expect(await connections()).toEqual(before);
  });

  test("a BGPAdvertisement's new community reaches the router at once, without a reset (its prefixes change class)", async () => {
    const { ips } = await waitForIPs(kc, "apps", "local-only");
    const prefix = `${ips[0] ?? ""}/32`;
    const before = await connections();
    const communities = async (): Promise<string[]> => {
      const detail = await lab.frr("router").vtyshJson<{ paths?: Array<{ community?: { string: string } }> }>(`show ip bgp ${prefix} json`);
      return (detail.paths ?? []).map((p) => p.community?.string ?? "");
    };
    await waitFor("the route via node2 with 64500:100", async () => ((await communities()).join() === "64500:100" ? true : undefined), 30_000, 50);
    const advertisement = (community: string): KubeObject => ({
      apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: { name: "public", namespace: METALLB_NS }, spec: { ipAddressPools: ["public"], communities: [community] },
    });
    const t0 = Date.now();
    await apply(kc, advertisement("64500:300"), "bgpadvertisements");
    // The `network` lines move to the new class's route-map: bgpd re-announces at once, well before its 5 s
    // route-map delay timer would have applied a changed `set community` line.
    await waitFor("the route with 64500:300", async () => ((await communities()).join() === "64500:300" ? true : undefined), 4_500, 50);
    logs.push(`community change reached the router in ${Date.now() - t0} ms\n`);
    expect(await connections()).toEqual(before);
    await apply(kc, advertisement("64500:100"), "bgpadvertisements");
    await waitFor("the route with 64500:100 again", async () => ((await communities()).join() === "64500:100" ? true : undefined), 30_000, 50);
  });

  test("a bgpd restarted empty is noticed (chokidar on FRR's pid files) and gets its configuration back", async () => {
    const { ips } = await waitForIPs(kc, "apps", "local-only");
    const prefix = `${ips[0] ?? ""}/32`;
    await waitFor("node2's path", async () => ((await routerPaths(prefix)).length === 1 ? true : undefined), 30_000, 50);
    await lab.frr("node2").restartDaemon("bgpd");
    await waitFor("the route back via node2 after the restart", async () => {
      const running = await lab.frr("node2").vtysh("show running-config");
      const paths = await routerPaths(prefix);
      return running.includes(`network ${prefix}`) && paths.length === 1 ? true : undefined;
    }, 60_000, 100);
  });

  test("status: NodeConfig shows the sessions, ServiceBGPStatus names the peers, metrics say the session is up", async () => {
    const nc = await waitFor(
      "NodeConfig status with an established session",
      async () => {
        const res = await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/node2`);
        const st = (res.body as { status?: { bgp?: { result?: string; sessionsEstablished?: number } } }).status?.bgp;
        return st?.result === "Applied" && st.sessionsEstablished === 1 ? st : undefined;
      },
      15_000,
      100,
    );
    expect(nc.result).toBe("Applied");
    const sbs = await waitFor(
      "ServiceBGPStatus for local-only on node2",
      async () => {
        const res = await kubeRequest(kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/servicebgpstatuses`);
        const items = (res.body as { items: Array<{ status?: { node?: string; serviceName?: string; peers?: string[] } }> }).items;
        return items.find((i) => i.status?.serviceName === "local-only" && i.status.node === "node2");
      },
      15_000,
      100,
    );
    expect(sbs.status?.peers).toEqual(["router"]);
    expect(JSON.stringify(nc)).not.toContain(PASSWORD);
    // The metrics come from the last FRR state read (every 500 ms): wait until it has caught up.
    const metrics = await waitFor(
      "node2's metrics: session up, one prefix announced",
      async () => {
        const m = (await bgp.registries.get("node2")?.metrics()) ?? "";
        return /metallb_bgp_announced_prefixes_total\{peer="[^"]+",vrf="default"\} 1\n/.test(m) ? m : undefined;
      },
      10_000,
      100,
    );
    expect(metrics).toContain(`metallb_bgp_session_up{peer="${lab.host("router").ipv4}:179",vrf="default"} 1`);
    expect(metrics).toMatch(new RegExp(`metallb_bfd_session_up\\{peer="${lab.host("router").ipv4.replace(/\./g, "\\.")}",vrf="default"\\} 1`));
  });
});
