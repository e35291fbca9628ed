// Issue 17 item 5: one bad password change must not stop every node's BGP updates. The lab's BGPPeer (password from
// Secret router-pw) is switched to a Secret of the wrong type, then to a Secret that does not exist, then to an inline
// `password` and from there to a missing Secret: each time the speakers keep applying their last good configuration
// with the passwords it was applied with, so Services created meanwhile are announced at the router from every node
// and deleted ones withdrawn, and the sessions are never reset. The speakers read the password Secrets themselves:
// no copy of a password is kept anywhere in the API (the operator reads no Secret).
// Also (issue 15 item 2): the speakers' Service change → FRR applied histogram, scraped after applies.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { apply, createEndpointSlice, createService, deleteService, METALLB_NS, waitForIPs, appsWithAdvertisedPublicPool } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { BGP_LAB_PASSWORD, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import type { NetLab } from "../testenv/src/netlab.js";
import { waitFor } from "../testenv/src/proc.js";

const NODES = ["node1", "node2"];

interface NeighborJson {
  bgpState?: string;
  connectionsEstablished?: number;
}

describe("an invalid password reference keeps the last good configuration applicable", () => {
  let bgp: BgpLab;
  let kc: k8s.KubeConfig;
  let lab: NetLab;
  let serial = 0;

  const routerPaths = async (prefix: string): Promise<string[]> => {
    const t = await lab.frr("router").vtyshJson<{ routes: Record<string, Array<{ peerId: string; valid: boolean }>> }>("show ip bgp json");
    return (t.routes[prefix] ?? [])
      .filter((p) => p.valid)
      .map((p) => p.peerId)
      .sort();
  };
  const everyNode = (): string[] => NODES.map((n) => lab.host(n).ipv4).sort();
  const sessions = async (): Promise<Record<string, { state: string; connections: number }>> => {
    const all = await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json");
    return Object.fromEntries(
      NODES.map((n) => [n, { state: all[lab.host(n).ipv4]?.bgpState ?? "", connections: all[lab.host(n).ipv4]?.connectionsEstablished ?? -1 }]),
    );
  };
  const patchPeer = async (spec: Record<string, unknown>): Promise<void> => {
    const r = await kubeRequest(kc, "PATCH", `/apis/metallb.io/v1beta2/namespaces/${METALLB_NS}/bgppeers/router`, { spec }, "application/merge-patch+json");
    expect(r.status).toBeLessThan(300);
  };
  const speakerState = async (node: string): Promise<string | undefined> => {
    const r = await kubeRequest(kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates/speaker-${node}`);
    return (r.body as { status?: { result?: string } }).status?.result;
  };

  /** A new Service is announced at the router from every node, and withdrawn once deleted. */
  const churn = async (): Promise<void> => {
    const name = `web-${++serial}`;
    await createService(kc, "apps", name);
    await createEndpointSlice(kc, "apps", name, NODES);
    const { ips } = await waitForIPs(kc, "apps", name);
    const prefix = `${ips[0] ?? ""}/32`;
    await waitFor(
      `${prefix} at the router from every node`,
      async () => ((await routerPaths(prefix)).join() === everyNode().join() ? true : undefined),
      30_000,
      100,
    );
    await deleteService(kc, "apps", name);
    await waitFor(`${prefix} withdrawn at the router`, async () => ((await routerPaths(prefix)).length === 0 ? true : undefined), 30_000, 100);
  };

  beforeAll(async () => {
    bgp = await startBgpLab({ nodes: NODES });
    kc = bgp.kc;
    lab = bgp.lab;
    await appsWithAdvertisedPublicPool(kc);
    await apply(
      kc,
      { apiVersion: "v1", kind: "Secret", metadata: { name: "opaque-pw", namespace: METALLB_NS }, type: "Opaque", stringData: { password: BGP_LAB_PASSWORD } },
      "secrets",
    );
    await waitFor(
      "router sessions Established",
      async () => (Object.values(await sessions()).every((s) => s.state === "Established") ? true : undefined),
      60_000,
      100,
    );
    await churn();
  }, 240_000);

  afterAll(async () => {
    await bgp?.stop();
  });

  test("metallb_ts_service_to_frr_applied_seconds: every node observed the Services applied so far", async () => {
    // beforeAll's churn: one Service announced (an FRR change on each node) and withdrawn (no entry left to time).
    for (const n of NODES) {
      const registry = bgp.registries.get(n);
      if (registry === undefined) throw new Error(`no registry for ${n}`);
      const text = await registry.metrics();
      const count = Number(/^metallb_ts_service_to_frr_applied_seconds_count (\S+)$/m.exec(text)?.[1] ?? "NaN");
      const sum = Number(/^metallb_ts_service_to_frr_applied_seconds_sum (\S+)$/m.exec(text)?.[1] ?? "NaN");
      expect([n, count >= 1]).toEqual([n, true]);
      // Operator and speakers share this machine's clock: a real, short latency.
      expect(sum / count).toBeGreaterThan(0);
      expect(sum / count).toBeLessThan(10);
      expect(text).toMatch(/^metallb_ts_service_to_frr_applied_seconds_bucket\{le="10"\} [1-9]/m);
    }
  });

  test.each([
    ["a Secret of the wrong type", { passwordSecret: { name: "opaque-pw" } }],
    ["a Secret that does not exist", { passwordSecret: { name: "not-there" } }],
  ])(
    "switched from Secret router-pw to %s: Services still announced and withdrawn by every node, sessions kept",
    async (_what, spec) => {
      const before = await sessions();
      await patchPeer(spec);
      for (const n of NODES) await waitFor(`speaker-${n} Invalid`, async () => ((await speakerState(n)) === "Invalid" ? true : undefined), 30_000, 100);
      // Only the speakers' snapshot holds router-pw's password now: no gathered copy exists in the API.
      expect((await kubeRequest(kc, "GET", `/api/v1/namespaces/${METALLB_NS}/secrets/metallb-ts-bgp-passwords`)).status).toBe(404);
      await churn();
      await churn();
      expect(await sessions()).toEqual(before);
      // Back to the valid reference: nothing to change in FRR, the sessions stay.
      await patchPeer({ passwordSecret: { name: "router-pw" } });
      for (const n of NODES) await waitFor(`speaker-${n} Valid`, async () => ((await speakerState(n)) === "Valid" ? true : undefined), 30_000, 100);
      await churn();
      expect(await sessions()).toEqual(before);
    },
    120_000,
  );

  test("an inline password switched to a missing Secret (the reported case): the inline password stays applied", async () => {
    await patchPeer({ passwordSecret: null, password: BGP_LAB_PASSWORD });
    for (const n of NODES) await waitFor(`speaker-${n} Valid`, async () => ((await speakerState(n)) === "Valid" ? true : undefined), 30_000, 100);
    await churn();
    const before = await sessions();
    // The BGPPeer no longer has `password`: only the speakers' snapshot still knows it.
    await patchPeer({ password: null, passwordSecret: { name: "not-there" } });
    for (const n of NODES) await waitFor(`speaker-${n} Invalid`, async () => ((await speakerState(n)) === "Invalid" ? true : undefined), 30_000, 100);
    await churn();
    await churn();
    expect(await sessions()).toEqual(before);
  }, 120_000);
});
