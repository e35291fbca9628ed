// Smoke test of the network lab with real FRR: a node announces a prefix over eBGP, the router's BGP session
// reaches Established and its kernel table gets the route via the node.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { NetLab } from "../testenv/src/netlab.js";
import { waitFor } from "../testenv/src/proc.js";

const VIP = "10.111.100.1";

interface NeighborJson {
  bgpState?: string;
  remoteAs?: number;
}
interface RouteJson {
  dst: string;
  gateway?: string;
  protocol?: string;
  nexthops?: Array<{ gateway: string }>;
}

describe("BGP smoke: router and node FRR in namespaces", () => {
  let lab: NetLab;

  beforeAll(async () => {
    lab = await NetLab.create([
      { name: "router", index: 1 },
      { name: "node1", index: 11 },
    ]);
    await lab.enableForwarding("router");
    const router = lab.host("router");
    const node = lab.host("node1");
    await lab.startFrr(
      "router",
      [
        "frr defaults traditional",
        `log file ${lab.dir}/frr-router/frr.log`,
        "router bgp 64500",
        ` bgp router-id ${router.ipv4}`,
        " no bgp ebgp-requires-policy",
        ` neighbor ${node.ipv4} remote-as 64512`,
        ` neighbor ${node.ipv4} timers 3 9`,
        ` neighbor ${node.ipv4} timers connect 1`,
        " address-family ipv4 unicast",
        "  maximum-paths 8",
        " exit-address-family",
        "",
      ].join("\n"),
    );
    await lab.startFrr(
      "node1",
      [
        "frr defaults traditional",
        `log file ${lab.dir}/frr-node1/frr.log`,
        "router bgp 64512",
        ` bgp router-id ${node.ipv4}`,
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " coalesce-time 50",
        ` neighbor ${router.ipv4} remote-as 64500`,
        ` neighbor ${router.ipv4} timers 3 9`,
        ` neighbor ${router.ipv4} timers connect 1`,
        " address-family ipv4 unicast",
        `  network ${VIP}/32`,
        " exit-address-family",
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  test("the session reaches Established on the router", async () => {
    const node = lab.host("node1");
    const neighbor = await waitFor(
      "router's session to node1 Established",
      async () => {
        const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
        const n = all[node.ipv4];
        return n?.bgpState === "Established" ? n : undefined;
      },
      20_000,
      100,
    );
    expect(neighbor.remoteAs).toBe(64512);
  });

  test("the router's BGP table and kernel table get the node's prefix via the node", async () => {
    const node = lab.host("node1");
    const routes = await waitFor(
      "kernel route to the VIP on the router",
      async () => {
        const out = await lab.exec("router", "ip", ["-j", "route", "show", `${VIP}/32`]);
        const r = JSON.parse(out.stdout) as RouteJson[];
        return r.length > 0 ? r : undefined;
      },
      20_000,
      50,
    );
    expect(routes[0]?.protocol).toBe("bgp");
    expect(routes[0]?.gateway).toBe(node.ipv4);

    const table = await lab.frr("router").vtyshJson<{ routes: Record<string, Array<{ peerId: string; valid: boolean }>> }>("show ip bgp json");
    const paths = table.routes[`${VIP}/32`] ?? [];
    expect(paths.map((p) => p.peerId)).toEqual([node.ipv4]);
    expect(paths[0]?.valid).toBe(true);
  });
});
