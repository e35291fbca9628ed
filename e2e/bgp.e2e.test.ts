// BGP mode end to end: a real kube-apiserver, the operator, one speaker per node (in this process, each driving its
// node's FRR in a network namespace) and an upstream FRR router. EndpointSlices are created by the test (there is
// no controller-manager). The lab and the pools are shared; each test creates its own Services (and removes them,
// and undoes any configuration change, when it ends), so any test passes alone or in any order.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import {
  apply,
  createEndpointSlice,
  createService,
  deleteService,
  ensureNamespace,
  type KubeObject,
  METALLB_NS,
  pool,
  waitForIPs,
} from "../testenv/src/objects.js";
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
    return (t.routes[prefix] ?? [])
      .filter((p) => p.valid)
      .map((p) => p.peerId)
      .sort();
  };
  const connections = async (): Promise<Record<string, number>> => {
    const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
    return Object.fromEntries(["node1", "node2"].map((n) => [n, all[lab.host(n).ipv4]?.connectionsEstablished ?? -1]));
  };
  const communities = async (prefix: string): Promise<string[]> => {
    const detail = await lab.frr("router").vtyshJson<{ paths?: Array<{ community?: { string: string } }> }>(`show ip bgp ${prefix} json`);
    return (detail.paths ?? []).map((p) => p.community?.string ?? "");
  };
  const nodePaths = (...nodes: string[]): string[] => nodes.map((n) => lab.host(n).ipv4).sort();
  const sessionsEstablished = (): Promise<true> =>
    waitFor(
      "router sessions Established",
      async () => {
        const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
        return ["node1", "node2"].every((n) => all[lab.host(n).ipv4]?.bgpState === "Established") ? true : undefined;
      },
      30_000,
      100,
    );
  /** Services this test created: deleted when it ends, so the next test starts from the shared setup only. */
  const created: string[] = [];

  /**
   * A LoadBalancer Service in "apps" with endpoints on `nodes`, its IP assigned and its /32 on the router from exactly
   * the nodes that should announce it; returns the prefix. Local: externalTrafficPolicy Local (only endpoint nodes).
   */
  const announcedService = async (name: string, nodes: string[], opts: { local?: boolean } = {}): Promise<string> => {
    await createService(kc, "apps", name);
    created.push(name);
    if (opts.local === true)
      await kubeRequest(kc, "PATCH", `/api/v1/namespaces/apps/services/${name}`, { spec: { externalTrafficPolicy: "Local" } }, "application/merge-patch+json");
    await createEndpointSlice(kc, "apps", name, nodes);
    const { ips } = await waitForIPs(kc, "apps", name);
    const prefix = `${ips[0] ?? ""}/32`;
    const want = nodePaths(...nodes).join();
    await waitFor(
      `${name}'s paths via ${nodes.join(", ")} on the router`,
      async () => ((await routerPaths(prefix)).join() === want ? true : undefined),
      30_000,
      50,
    );
    return prefix;
  };

  const publicAdvertisement = (community: string): KubeObject => ({
    apiVersion: "metallb.io/v1beta1",
    kind: "BGPAdvertisement",
    metadata: { name: "public", namespace: METALLB_NS },
    spec: { ipAddressPools: ["public"], communities: [community] },
  });

  beforeAll(async () => {
    bgp = await startBgpLab({ log: jsonLogger({ write: (l) => logs.push(l), level: "debug" }) });
    kc = bgp.kc;
    lab = bgp.lab;
    await ensureNamespace(kc, "apps");
    await pool(kc, "public", { addresses: ["10.200.0.0/24"] });
    await pool(kc, "internal", { addresses: ["10.201.0.0/24"], autoAssign: false });
    await apply(kc, publicAdvertisement("64500:100"), "bgpadvertisements");
  }, 180_000);

  afterEach(async () => {
    for (const name of created.splice(0)) await deleteService(kc, "apps", name);
  });

  afterAll(async () => {
    await bgp?.stop();
    if (process.env.E2E_DUMP_LOGS === "1") process.stderr.write(logs.join(""));
  });

  test("password-protected sessions with BFD come up on both nodes", async () => {
    await sessionsEstablished();
    const bfd = await waitFor(
      "BFD up with 100 ms intervals",
      async () => {
        const peers = await lab
          .frr("router")
          .vtyshJson<Array<{ peer: string; status: string; "receive-interval": number; "transmit-interval": number; "remote-receive-interval": number }>>(
            "show bfd peers json",
          );
        return peers.length === 2 && peers.every((p) => p.status === "up") ? peers : undefined;
      },
      30_000,
      100,
    );
    for (const p of bfd) expect([p["receive-interval"], p["transmit-interval"], p["remote-receive-interval"]]).toEqual([100, 100, 100]);
  });

  test("a Service's IP is in the router's table via both nodes, with its community", async () => {
    const prefix = await announcedService("web", ["node1", "node2"]);
    expect(await routerPaths(prefix)).toEqual(nodePaths("node1", "node2"));
    expect(await communities(prefix)).toEqual(["64500:100", "64500:100"]);
    const route = await waitFor(
      "ECMP kernel route",
      async () => {
        const out = await lab.exec("router", "ip", ["route", "show", prefix]);
        return (out.stdout.match(/nexthop via/g) ?? []).length === 2 ? out.stdout : undefined;
      },
      10_000,
      50,
    );
    expect(route).toContain(lab.host("node1").ipv4);
  });

  test("externalTrafficPolicy Local: only the node with an endpoint announces", async () => {
    const prefix = await announcedService("local-only", ["node2"], { local: true });
    expect(await routerPaths(prefix)).toEqual(nodePaths("node2"));
  });

  test("an unrelated Service change resets no session; deleting a Service withdraws its route", async () => {
    const prefix = await announcedService("withdrawn", ["node1", "node2"]);
    await sessionsEstablished();
    const before = await connections();
    await createService(kc, "apps", "internal", { annotations: { "metallb.io/address-pool": "internal" } });
    created.push("internal");
    await waitForIPs(kc, "apps", "internal");
    await kubeRequest(kc, "PATCH", "/api/v1/namespaces/apps/services/withdrawn", { metadata: { labels: { touched: "yes" } } }, "application/merge-patch+json");
    await deleteService(kc, "apps", "withdrawn");
    created.splice(created.indexOf("withdrawn"), 1);
    await waitFor("route withdrawn", async () => ((await routerPaths(prefix)).length === 0 ? true : undefined), 30_000, 50);
    expect(await connections()).toEqual(before);
  });

  test("a BGPAdvertisement's new community reaches the router at once, without a reset (its prefixes change class)", async () => {
    const prefix = await announcedService("community", ["node2"], { local: true });
    await sessionsEstablished();
    await waitFor("the route via node2 with 64500:100", async () => ((await communities(prefix)).join() === "64500:100" ? true : undefined), 30_000, 50);
    const before = await connections();
    try {
      const t0 = Date.now();
      await apply(kc, publicAdvertisement("64500:300"), "bgpadvertisements");
      // The `network` lines move to the new class's route-map: bgpd re-announces at once, well before its 5 s
      // route-map delay timer would have applied a changed `set community` line.
      await waitFor("the route with 64500:300", async () => ((await communities(prefix)).join() === "64500:300" ? true : undefined), 4_500, 50);
      logs.push(`community change reached the router in ${Date.now() - t0} ms\n`);
      expect(await connections()).toEqual(before);
    } finally {
      await apply(kc, publicAdvertisement("64500:100"), "bgpadvertisements");
    }
    await waitFor("the route with 64500:100 again", async () => ((await communities(prefix)).join() === "64500:100" ? true : undefined), 30_000, 50);
  });

  test("a bgpd restarted empty is noticed (chokidar on FRR's pid files) and gets its configuration back", async () => {
    const prefix = await announcedService("restarted", ["node2"], { local: true });
    await lab.frr("node2").restartDaemon("bgpd");
    await waitFor(
      "the route back via node2 after the restart",
      async () => {
        const running = await lab.frr("node2").vtysh("show running-config");
        const paths = await routerPaths(prefix);
        return running.includes(`network ${prefix}`) && paths.length === 1 ? true : undefined;
      },
      60_000,
      100,
    );
  });

  test("status: NodeConfig shows the sessions, ServiceBGPStatus names the peers, metrics say the session is up", async () => {
    await announcedService("status", ["node2"], { local: true });
    const nc = await waitFor(
      "NodeConfig status with an established session",
      async () => {
        const res = await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/node2`);
        const st = (res.body as { status?: { bgp?: { result?: string; sessionsEstablished?: number } } }).status?.bgp;
        return st?.result === "Applied" && st.sessionsEstablished === 1 ? st : undefined;
      },
      30_000,
      100,
    );
    expect(nc.result).toBe("Applied");
    const sbs = await waitFor(
      "ServiceBGPStatus for the Service on node2",
      async () => {
        const res = await kubeRequest(kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/servicebgpstatuses`);
        const items = (res.body as { items: Array<{ status?: { node?: string; serviceName?: string; peers?: string[] } }> }).items;
        return items.find((i) => i.status?.serviceName === "status" && i.status.node === "node2");
      },
      15_000,
      100,
    );
    expect(sbs.status?.peers).toEqual(["router"]);
    expect(JSON.stringify(nc)).not.toContain(PASSWORD);
    // The metrics come from the last FRR state read (every 500 ms): wait until it has caught up. This test's Service
    // is the only one left (earlier tests delete theirs), so node2 announces exactly one prefix.
    const metrics = await waitFor(
      "node2's metrics: BGP and BFD sessions up, one prefix announced",
      async () => {
        const m = (await bgp.registries.get("node2")?.metrics()) ?? "";
        const up = /metallb_bgp_session_up\{[^}]*\} 1\n/.test(m) && /metallb_bfd_session_up\{[^}]*\} 1\n/.test(m);
        return up && /metallb_bgp_announced_prefixes_total\{peer="[^"]+",vrf="default"\} 1\n/.test(m) ? m : undefined;
      },
      15_000,
      100,
    );
    expect(metrics).toContain(`metallb_bgp_session_up{peer="${lab.host("router").ipv4}:179",vrf="default"} 1`);
    expect(metrics).toMatch(new RegExp(`metallb_bfd_session_up\\{peer="${lab.host("router").ipv4.replace(/\./g, "\\.")}",vrf="default"\\} 1`));
  });
});
