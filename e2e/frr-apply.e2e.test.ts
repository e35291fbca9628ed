// The speaker's FRR applier (speaker/src/frr/applier.ts: pure diff + one `vtysh -f` batch) against real FRR 8.4.
//  1. A router and a node with an eBGP session: the node moves through configurations rendered by the real pipeline
//     (prefixes added/removed by the hundred, route-map changes, a neighbor, timers, a BFD profile). After every step
//     FRR's running config equals the wanted one, the router's BGP table has exactly the wanted prefixes, and the
//     session was not reset by changes that do not touch it.
//  2. Every golden configuration, applied one after the other on one FRR, then back to nothing.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diffFrrConfig, significantLines } from "../model/src/frr/diff.js";
import { jsonLogger } from "../shell/src/logger.js";
import { FrrApplier } from "../speaker/src/frr/applier.js";
import type { FrrInstance } from "../testenv/src/frr.js";
import { NetLab } from "../testenv/src/netlab.js";
import { waitFor } from "../testenv/src/proc.js";
import { renderCase, type GoldenCase } from "../frr-templates/testdata/run-case.js";

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "frr-templates", "testdata", "golden");
const log = jsonLogger({ write: () => undefined });

interface Scenario {
  services: number;
  communities?: string[];
  bfd?: boolean;
  timers?: [keepalive: string, hold: string];
  secondPeer?: boolean;
}

const serviceIp = (i: number): string => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;

/** A node configuration through the real pipeline (parseConfig → plan → buildFrrConfig → renderFrrConfig). */
function nodeConfig(s: Scenario): string {
  const [keepaliveTime, holdTime] = s.timers ?? ["3s", "9s"];
  const peer = (name: string, address: string): Record<string, unknown> => ({
    kind: "BGPPeer",
    metadata: { name, namespace: "metallb-system" },
    spec: { myASN: 64512, peerASN: 64500, peerAddress: address, keepaliveTime, holdTime, connectTime: "1s", ...(s.bfd === true ? { bfdProfile: "fast" } : {}) },
  });
  const c: GoldenCase = {
    description: "frr-apply e2e",
    node: "node1",
    nodes: [{ name: "node1", labels: { "kubernetes.io/hostname": "node1" } }],
    resources: [
      { kind: "IPAddressPool", metadata: { name: "pool-a", namespace: "metallb-system" }, spec: { addresses: ["198.18.0.0/16"] } },
      peer("peer-a", "10.111.0.1"),
      ...(s.secondPeer === true ? [peer("peer-b", "10.111.0.2")] : []),
      {
        kind: "BGPAdvertisement",
        metadata: { name: "adv-a", namespace: "metallb-system" },
        spec: s.communities !== undefined ? { communities: s.communities } : {},
      },
      ...(s.bfd === true
        ? [
            {
              kind: "BFDProfile",
              metadata: { name: "fast", namespace: "metallb-system" },
              spec: { receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3 },
            },
          ]
        : []),
    ],
    services: Array.from({ length: s.services }, (_, i) => ({ key: `default/svc-${i}`, ips: [serviceIp(i)], pool: "pool-a" })),
  };
  return renderCase(c);
}

interface NeighborJson {
  bgpState?: string;
  connectionsEstablished?: number;
}
interface BgpTableJson {
  routes?: Record<string, Array<{ peerId?: string; valid?: boolean }>>;
}

describe("FRR applier: a node's FRR follows its rendered configuration without session resets", () => {
  let lab: NetLab;
  let node: FrrInstance;
  let router: FrrInstance;
  let applier: FrrApplier;
  const nodeIp = "10.111.0.11";

  const established = async (): Promise<number> => {
    const all = await router.vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
    const n = all[nodeIp];
    return n?.bgpState === "Established" ? (n.connectionsEstablished ?? 0) : -1;
  };

  const routerPrefixes = async (): Promise<string[]> => {
    const table = await router.vtyshJson<BgpTableJson>("show ip bgp json");
    return Object.entries(table.routes ?? {})
      .filter(([, paths]) => paths.some((p) => p.peerId === nodeIp && p.valid === true))
      .map(([prefix]) => prefix)
      .sort();
  };

  beforeAll(async () => {
    lab = await NetLab.create([
      { name: "router", index: 1 },
      { name: "node1", index: 11 },
    ]);
    await lab.enableForwarding("router");
    await lab.enableForwarding("node1");
    router = await lab.startFrr(
      "router",
      [
        "frr defaults traditional",
        "router bgp 64500",
        " bgp router-id 10.111.0.1",
        " no bgp ebgp-requires-policy",
        ` neighbor ${nodeIp} remote-as 64512`,
        ` neighbor ${nodeIp} timers 3 9`,
        ` neighbor ${nodeIp} timers connect 1`,
        "exit",
        "",
      ].join("\n"),
    );
    node = await lab.startFrr("node1", nodeConfig({ services: 3 }));
    applier = new FrrApplier({ vtyshArgs: ["--vty_socket", node.dir, "--config_dir", node.dir], log, configPath: join(node.dir, "frr.conf") });
    await waitFor("session Established", async () => ((await established()) > 0 ? true : undefined), 30_000, 100);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  /** Applies a scenario and checks FRR, the router's table and (optionally) that the session was not reset. */
  async function step(s: Scenario, keepsSession: boolean): Promise<void> {
    const wanted = nodeConfig(s);
    const before = await established();
    const r = await applier.apply(wanted);
    expect(r).toMatchObject({ ok: true });
    const running = await node.vtysh("show running-config");
    expect(diffFrrConfig(running, wanted)).toMatchObject({ empty: true });
    expect([...significantLines(running)].sort()).toEqual([...significantLines(wanted)].sort());
    const expected = Array.from({ length: s.services }, (_, i) => `${serviceIp(i)}/32`).sort();
    await waitFor(
      "router's table = wanted prefixes",
      async () => {
        await waitFor("session Established", async () => ((await established()) > 0 ? true : undefined), 30_000, 100);
        const got = await routerPrefixes();
        return got.join(",") === expected.join(",") ? true : undefined;
      },
      60_000,
      200,
    );
    if (keepsSession) expect(await established()).toBe(before);
  }

  test("the initial configuration (as FRR booted with it) needs no batch", async () => {
    const r = await applier.apply(nodeConfig({ services: 3 }));
    expect(r).toMatchObject({ ok: true, changed: false });
    await waitFor("router has the 3 prefixes", async () => ((await routerPrefixes()).length === 3 ? true : undefined), 30_000, 100);
  });

  test("add 300 prefixes at once, then remove them: no session reset", async () => {
    await step({ services: 303 }, true);
    await step({ services: 3 }, true);
  });

  test("add and remove single prefixes", async () => {
    await step({ services: 5 }, true);
    await step({ services: 4 }, true);
  });

  test("communities: route-map set added, changed, removed without a reset", async () => {
    await step({ services: 4, communities: ["64512:100"] }, true);
    await step({ services: 4, communities: ["64512:200", "65535:65281", "large:64512:1:2"] }, true);
    await step({ services: 4 }, true);
  });

  test("add and remove a neighbor", async () => {
    await step({ services: 4, secondPeer: true }, true);
    await step({ services: 4 }, true);
  });

  test("add and remove a BFD profile used by the session", async () => {
    await step({ services: 4, bfd: true }, false);
    await step({ services: 4 }, false);
  });

  test("change timers", async () => {
    await step({ services: 4, timers: ["5s", "15s"] }, false);
    await step({ services: 4 }, false);
  });

  test("applying the same configuration twice runs no vtysh", async () => {
    const wanted = nodeConfig({ services: 6 });
    expect(await applier.apply(wanted)).toMatchObject({ ok: true, changed: true });
    const count = applier.vtyshCount;
    expect(await applier.apply(wanted)).toMatchObject({ ok: true, changed: false });
    expect(applier.vtyshCount).toBe(count);
  });

  test("frr.conf holds the wanted text, mode 0600", () => {
    expect(readFileSync(join(node.dir, "frr.conf"), "utf8")).toBe(nodeConfig({ services: 6 }));
    expect(statSync(join(node.dir, "frr.conf")).mode & 0o777).toBe(0o600);
  });
});

describe("FRR applier walks through every golden configuration and back to nothing", () => {
  let lab: NetLab;
  let frr: FrrInstance;
  const goldens = readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith(".conf"))
    .sort();

  beforeAll(async () => {
    lab = await NetLab.create([{ name: "node1", index: 11 }]);
    await lab.enableForwarding("node1");
    frr = await lab.startFrr("node1", "frr defaults traditional\n");
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  test("each golden, then the empty configuration: FRR matches after one batch each", async () => {
    const applier = new FrrApplier({ vtyshArgs: ["--vty_socket", frr.dir, "--config_dir", frr.dir], log, configPath: join(frr.dir, "frr.conf") });
    const failures: string[] = [];
    for (const name of [...goldens, ...[...goldens].reverse().slice(0, 10), "(empty)"]) {
      const text = name === "(empty)" ? "" : readFileSync(join(GOLDEN_DIR, name), "utf8");
      const before = applier.vtyshCount;
      const r = await applier.apply(text);
      // One batch + one read-back (+ the first read): a retry would mean the first batch was not right.
      if (!r.ok || applier.vtyshCount - before > 3) failures.push(`${name}: ${r.error ?? `retried (${applier.vtyshCount - before} vtysh runs)`}`);
      if (!r.ok) applier.resync();
    }
    expect(failures).toEqual([]);
    expect(significantLines(await frr.vtysh("show running-config"))).toEqual([]);
  });
});
