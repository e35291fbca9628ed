// The BGP router ID and Service IPs on local interfaces, with real FRR 8.4.
//
// kube-proxy in IPVS mode puts every LoadBalancer IP on the kube-ipvs0 dummy interface of every node (the demo and
// the labs put them on `lo`). Without `bgp router-id`, zebra picks the highest loopback address, else the highest
// interface address, so a new Service IP above the node's address becomes zebra's router ID. FRR 8.4's bgpd
// defers that change while a session of the instance is Established (bgp_router_id_zebra_bump: only when
// established_peers is 0) and adopts it the moment the instance has no Established session (any flap, a bgpd
// restart, a reboot): the node then speaks BGP with a Service IP as its identifier, the same one on every node
// holding that IP. (Applied while a session is Established, e.g. by configuration, a router-id change resets every
// session of the instance: CEASE, configuration change.) The first block shows that with plain FRR; the second that
// the rendered configuration (router ID = the node's InternalIP) keeps the identifier and the sessions.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, METALLB_NS, pool, waitForIPs } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { jsonLogger } from "../shell/src/logger.js";
import { startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { NetLab } from "../testenv/src/netlab.js";
import { waitFor } from "../testenv/src/proc.js";

interface NeighborJson {
  bgpState?: string;
  connectionsEstablished?: number;
  connectionsDropped?: number;
  remoteRouterId?: string;
}

/** A Service IP above every lab address (10.111.0.x), as kube-proxy IPVS would add for a new Service. */
const HIGH_VIP = "10.250.0.1";
/** The pool of the second block's Service: its IP is above the nodes' addresses too. */
const HIGH_POOL = "10.250.0.0/24";
/** How long a session reset or router ID change has to show: bgpd reacts to zebra's router-id update at once. */
const SETTLE_MS = 4_000;
const NODES = ["node1", "node2"];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function neighbors(lab: NetLab): Promise<Record<string, NeighborJson>> {
  const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
  return Object.fromEntries(NODES.map((n) => [n, all[lab.host(n).ipv4] ?? {}]));
}

const allEstablished = (ns: Record<string, NeighborJson>): boolean => NODES.every((n) => ns[n]?.bgpState === "Established");
/** The router clears every session; resolves with the neighbors once all are Established again (a new connection). */
async function clearAndReestablish(lab: NetLab, before: Record<string, NeighborJson>): Promise<Record<string, NeighborJson>> {
  await lab.frr("router").vtysh("clear bgp *");
  return waitFor(
    "sessions re-established",
    async () => {
      const ns = await neighbors(lab);
      return allEstablished(ns) && NODES.every((n) => (ns[n]?.connectionsEstablished ?? 0) > (before[n]?.connectionsEstablished ?? 0)) ? ns : undefined;
    },
    30_000,
    100,
  );
}

const field = <K extends keyof NeighborJson>(ns: Record<string, NeighborJson>, k: K): Record<string, NeighborJson[K] | undefined> =>
  Object.fromEntries(NODES.map((n) => [n, ns[n]?.[k]]));

describe("plain FRR without bgp router-id (the configuration rendered before the fix)", () => {
  let lab: NetLab;

  beforeAll(async () => {
    lab = await NetLab.create([{ name: "router", index: 1 }, ...NODES.map((name, i) => ({ name, index: 11 + i }))]);
    const router = lab.host("router");
    const conf = (self: string, asn: number, peers: ReadonlyArray<[string, number]>, routerId: string | null): string =>
      [
        "frr defaults traditional",
        `log file ${lab.dir}/frr-${self}/frr.log`,
        `router bgp ${asn}`,
        ...(routerId === null ? [] : [` bgp router-id ${routerId}`]),
        " no bgp ebgp-requires-policy",
        ...peers.flatMap(([ip, peerAsn]) => [` neighbor ${ip} remote-as ${peerAsn}`, ` neighbor ${ip} timers 3 9`, ` neighbor ${ip} timers connect 1`]),
        "",
      ].join("\n");
    await lab.startFrr(
      "router",
      conf(
        "router",
        64500,
        NODES.map((n) => [lab.host(n).ipv4, 64512]),
        router.ipv4,
      ),
    );
    for (const n of NODES) await lab.startFrr(n, conf(n, 64512, [[router.ipv4, 64500]], null));
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  test("a Service IP on the nodes' lo becomes their router ID at the next flap: the same identifier on both nodes", async () => {
    await waitFor("sessions Established", async () => (allEstablished(await neighbors(lab)) ? true : undefined), 30_000, 100);
    await sleep(1_000);
    const before = await neighbors(lab);
    expect(field(before, "remoteRouterId")).toEqual(Object.fromEntries(NODES.map((n) => [n, lab.host(n).ipv4])));
    for (const n of NODES) await lab.exec(n, "ip", ["addr", "add", `${HIGH_VIP}/32`, "dev", "lo"]);
    await sleep(SETTLE_MS);
    // FRR 8.4 defers zebra's new router ID while the session is Established: no reset, the old identifier.
    const settled = await neighbors(lab);
    expect(field(settled, "connectionsEstablished")).toEqual(field(before, "connectionsEstablished"));
    expect(field(settled, "remoteRouterId")).toEqual(field(before, "remoteRouterId"));
    // Any flap (here the router clears the sessions) leaves the nodes' instances without an Established session:
    // bgpd adopts zebra's router ID, the Service IP, and the sessions come back with it, on both nodes.
    const after = await clearAndReestablish(lab, before);
    expect(field(after, "remoteRouterId")).toEqual(Object.fromEntries(NODES.map((n) => [n, HIGH_VIP])));
  });
});

describe("the rendered configuration: bgp router-id is the node's InternalIP (operator and speakers, startBgpLab)", () => {
  let bgp: BgpLab;
  let lab: NetLab;
  const logs: string[] = [];

  beforeAll(async () => {
    bgp = await startBgpLab({ nodes: NODES, log: jsonLogger({ write: (l) => logs.push(l), level: "debug" }) });
    lab = bgp.lab;
    const kc = bgp.kc;
    await ensureNamespace(kc, "apps");
    await pool(kc, "high", { addresses: [HIGH_POOL] });
    await applyMetallb(kc, "BGPAdvertisement", "high", { ipAddressPools: ["high"] });
  }, 180_000);

  afterAll(async () => {
    await bgp?.stop();
    if (process.env.E2E_DUMP_LOGS === "1") process.stderr.write(logs.join(""));
  });

  test("each node's FRR runs with bgp router-id = its InternalIP, published in its NodeConfig", async () => {
    for (const n of NODES) {
      const ip = lab.host(n).ipv4;
      await waitFor(
        `${n}'s running-config with its router ID`,
        async () => ((await lab.frr(n).vtysh("show running-config")).includes(`\n bgp router-id ${ip}\n`) ? true : undefined),
        30_000,
        100,
      );
      const nc = await kubeRequest(bgp.kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/${n}`);
      const sessions = (nc.body as { spec?: { bgp?: { sessions?: Array<{ routerID: string | null }> } } }).spec?.bgp?.sessions ?? [];
      expect(sessions.map((x) => x.routerID)).toEqual([ip]);
    }
    const ns = await waitFor(
      "sessions Established",
      async () => {
        const got = await neighbors(lab);
        return allEstablished(got) ? got : undefined;
      },
      30_000,
      100,
    );
    expect(field(ns, "remoteRouterId")).toEqual(Object.fromEntries(NODES.map((n) => [n, lab.host(n).ipv4])));
  });

  test("a new Service's IP on the nodes' lo (as kube-proxy IPVS adds it) resets no session; the identifier survives a flap", async () => {
    const kc = bgp.kc;
    await createService(kc, "apps", "web");
    await createEndpointSlice(kc, "apps", "web", NODES);
    const vip = (await waitForIPs(kc, "apps", "web")).ips[0] ?? "";
    expect(vip.startsWith("10.250.0.")).toBe(true);
    await waitFor(
      "the Service's route via both nodes",
      async () => {
        const t = await lab.frr("router").vtyshJson<{ routes: Record<string, Array<{ valid: boolean }>> }>("show ip bgp json");
        return (t.routes[`${vip}/32`] ?? []).filter((p) => p.valid).length === NODES.length ? true : undefined;
      },
      30_000,
      50,
    );
    await sleep(1_000);
    const before = await neighbors(lab);
    expect(allEstablished(before)).toBe(true);
    for (const n of NODES) await lab.exec(n, "ip", ["addr", "add", `${vip}/32`, "dev", "lo"]);
    await sleep(SETTLE_MS);
    const settled = await neighbors(lab);
    expect(field(settled, "connectionsEstablished")).toEqual(field(before, "connectionsEstablished"));
    expect(field(settled, "connectionsDropped")).toEqual(field(before, "connectionsDropped"));
    expect(field(settled, "remoteRouterId")).toEqual(Object.fromEntries(NODES.map((n) => [n, lab.host(n).ipv4])));
    // Where plain FRR moves to the Service IP (first block), the configured router ID stays: after a flap the
    // nodes come back with their own, distinct identifiers.
    const after = await clearAndReestablish(lab, before);
    expect(field(after, "remoteRouterId")).toEqual(Object.fromEntries(NODES.map((n) => [n, lab.host(n).ipv4])));
  });
});
