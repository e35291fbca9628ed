// Issue 17 item 6: graceful restart with BFD keeps a node's routes at its routers through a bgpd restart. node1 peers
// with an FRR router and a BIRD 2 router, both sessions with BFD (100 ms × 3) and `enableGracefulRestart`, so the
// speaker renders `neighbor X bfd check-control-plane-failure`. bgpd is killed on node1 (its zebra and bfdd keep
// running, the kernel closes its TCP sessions, its BFD sessions go away with their client) and started again empty
// a few seconds later; the speaker notices and re-applies. Meanwhile the Service's /32 stays at both routers, as a
// stale route of a restarting peer, until the session is back: the FRR router as configured by the lab (graceful
// restart helper, FRR's default; the node's closed TCP session reaches it before BFD's down, so it is already in
// helper mode), BIRD with `graceful restart on` and `bfd graceful` (a BFD down handled as a restart).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { apply, createEndpointSlice, createService, METALLB_NS, waitForIPs, appsWithAdvertisedPublicPool } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { NODE_ASN, ROUTER_ASN, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { BirdRouter } from "../testenv/src/bird.js";
import type { NetLab } from "../testenv/src/netlab.js";
import { sleep, waitFor } from "../testenv/src/proc.js";

const NODE = "node1";
const BIRD_ASN = 64501;
/** How long bgpd stays dead: far beyond BFD's 300 ms detection, under the 9 s hold time. */
const DOWN_MS = 6_000;

describe("graceful restart with BFD: a node's bgpd restart keeps its routes at the routers", () => {
  let bgp: BgpLab;
  let kc: k8s.KubeConfig;
  let lab: NetLab;
  let bird: BirdRouter;
  let prefix = "";

  const frrRouterHas = async (): Promise<boolean> => {
    const t = await lab.frr("router").vtyshJson<{ routes?: Record<string, Array<{ valid?: boolean; peerId?: string }>> }>("show ip bgp json");
    return (t.routes?.[prefix] ?? []).some((p) => p.valid === true && p.peerId === lab.host(NODE).ipv4);
  };
  const birdHas = async (): Promise<boolean> => (await bird.routes()).some((r) => r.prefix === prefix && r.from.includes(NODE));
  const routerBfdUp = async (): Promise<boolean> =>
    (await lab.frr("router").vtyshJson<Array<{ peer: string; status: string }>>("show bfd peers json")).some(
      (p) => p.peer === lab.host(NODE).ipv4 && p.status === "up",
    );
  const sessionsUp = async (): Promise<boolean> => {
    const n = (await lab.frr("router").vtyshJson<Record<string, { bgpState?: string }>>("show bgp neighbors json"))[lab.host(NODE).ipv4];
    return n?.bgpState === "Established" && (await bird.protocolState(NODE))?.includes("Established") === true;
  };
  const peer = (name: string, address: string, peerASN: number, extra: Record<string, unknown> = {}): Promise<void> =>
    apply(
      kc,
      {
        apiVersion: "metallb.io/v1beta2",
        kind: "BGPPeer",
        metadata: { name, namespace: METALLB_NS },
        spec: {
          myASN: NODE_ASN,
          peerASN,
          peerAddress: address,
          holdTime: "9s",
          keepaliveTime: "3s",
          connectTime: "1s",
          bfdProfile: "fast",
          enableGracefulRestart: true,
          ...extra,
        },
      },
      "bgppeers",
    );

  /**
   * Kills node1's bgpd, samples both routers every 100 ms while it is down, starts it again; returns what was seen.
   */
  const killBgpd = async (): Promise<{ frr: boolean[]; bird: boolean[]; bfdWentDown: boolean }> => {
    const seen = { frr: [] as boolean[], bird: [] as boolean[], bfdWentDown: false };
    await lab.frr(NODE).killDaemon("bgpd");
    const until = Date.now() + DOWN_MS;
    while (Date.now() < until) {
      const [f, b, up] = await Promise.all([frrRouterHas(), birdHas(), routerBfdUp()]);
      seen.frr.push(f);
      seen.bird.push(b);
      if (!up) seen.bfdWentDown = true;
      await sleep(100);
    }
    await lab.frr(NODE).startDaemon("bgpd");
    return seen;
  };

  beforeAll(async () => {
    bgp = await startBgpLab({ nodes: [NODE], extraHosts: [{ name: "bird", index: 2 }] });
    kc = bgp.kc;
    lab = bgp.lab;
    bird = await BirdRouter.start(lab, "bird", join(lab.dir, "bird"), {
      routerId: lab.host("bird").ipv4,
      asn: BIRD_ASN,
      neighbors: [{ name: NODE, address: lab.host(NODE).ipv4, asn: NODE_ASN }],
      bfd: true,
      gracefulRestart: true,
    });
    // enableGracefulRestart cannot be changed on an existing BGPPeer: the lab's peer is replaced by one with it.
    const del = await kubeRequest(kc, "DELETE", `/apis/metallb.io/v1beta2/namespaces/${METALLB_NS}/bgppeers/router`);
    expect(del.status).toBeLessThan(300);
    // Gone from node1's FRR before the new peer comes: bgpd puts a neighbor's graceful restart capability in its OPEN,
    // so a neighbor that gets `graceful-restart` added in place only advertises it after its next session reset.
    await waitFor(
      "the old neighbor removed from node1's FRR",
      async () => (!(await lab.frr(NODE).vtysh("show running-config")).includes(`neighbor ${lab.host("router").ipv4} remote-as`) ? true : undefined),
      30_000,
      100,
    );
    await peer("router-gr", lab.host("router").ipv4, ROUTER_ASN, { passwordSecret: { name: "router-pw" } });
    await peer("bird", lab.host("bird").ipv4, BIRD_ASN);
    await appsWithAdvertisedPublicPool(kc);
    if (process.env.E2E_DUMP_LOGS === "1")
      await lab.frr("router").vtysh("configure terminal", "debug bgp neighbor-events", "debug bgp graceful-restart", "debug bfd peer", "debug bgp bfd");
    await createService(kc, "apps", "web");
    await createEndpointSlice(kc, "apps", "web", [NODE]);
    prefix = `${(await waitForIPs(kc, "apps", "web")).ips[0] ?? ""}/32`;
    await waitFor(
      "sessions up and the route at both routers",
      async () => ((await sessionsUp()) && (await frrRouterHas()) && (await birdHas()) ? true : undefined),
      60_000,
      200,
    );
  }, 240_000);

  afterAll(async () => {
    if (process.env.E2E_DUMP_LOGS === "1" && lab !== undefined) {
      const { readFileSync } = await import("node:fs");
      process.stderr.write(readFileSync(join(lab.dir, "frr-router", "frr.log"), "utf8"));
    }
    await bird?.stop();
    await bgp?.stop();
  });

  test("the speaker renders bfd check-control-plane-failure for both graceful-restart peers", async () => {
    const running = await lab.frr(NODE).vtysh("show running-config");
    for (const r of ["router", "bird"]) expect(running).toContain(`neighbor ${lab.host(r).ipv4} bfd check-control-plane-failure`);
  });

  test("bgpd killed on the node: the route stays at the FRR router and at BIRD until bgpd is back", async () => {
    // node1 advertises graceful restart in Restart mode with its forwarding state (not only as a helper): the speaker
    // reset the just-configured session once for that (FrrApplier.resetForGracefulRestart).
    const gr = await lab
      .frr("router")
      .vtyshJson<Record<string, { remoteGrMode?: string; ipv4Unicast?: { fBit?: boolean } }>>(
        `show bgp ipv4 neighbors ${lab.host(NODE).ipv4} graceful-restart json`,
      );
    expect(gr[lab.host(NODE).ipv4]).toMatchObject({ remoteGrMode: "Restart", ipv4Unicast: { fBit: true } });
    const seen = await killBgpd();
    process.stderr.write(`bgpd down ${DOWN_MS} ms, route at the routers (samples): ${JSON.stringify(seen)}\n`);
    // BFD did go down: what kept the route is graceful restart, not a BFD session that never noticed.
    expect(seen.bfdWentDown).toBe(true);
    expect(seen.frr.length).toBeGreaterThanOrEqual(3);
    expect(seen.frr.every((x) => x)).toBe(true);
    expect(seen.bird.every((x) => x)).toBe(true);
    await waitFor("sessions back after bgpd restarted", async () => ((await sessionsUp()) ? true : undefined), 30_000, 200);
    expect(await frrRouterHas()).toBe(true);
    expect(await birdHas()).toBe(true);
  }, 90_000);
});
