// Issue 18 items 1 and 4 on the real BGP lab (real apiserver, FRR router and nodes in namespaces), in MetalLB's
// observable terms: each speaker's ConfigurationState `speaker-<node>` reports the problems of the BGPPeers selecting
// its node while the operator's `controller` stays Valid and BGP keeps running; deleted ConfigurationStates come
// back with their state; metallb_speaker_announced{protocol="bgp"} follows the announced Services.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import {
  apply,
  applyMetallb,
  createEndpointSlice,
  createService,
  deleteService,
  ensureNamespace,
  METALLB_NS,
  pool,
  waitForIPs,
} from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { jsonLogger } from "../shell/src/logger.js";
import { NODE_ASN, ROUTER_ASN, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { sleep, waitFor } from "../testenv/src/proc.js";

const CS_PATH = `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates`;
const GHOST = "10.99.0.1";

interface ConfigurationState {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { result?: string; errorSummary?: string; conditions?: Array<{ type: string; status: string }> };
}

describe("per-speaker ConfigurationState and BGP announced series", () => {
  let bgp: BgpLab;
  let kc: k8s.KubeConfig;
  const logs: string[] = [];

  const states = async (): Promise<Map<string, ConfigurationState>> => {
    const res = await kubeRequest(kc, "GET", CS_PATH);
    return new Map((res.body as { items: ConfigurationState[] }).items.map((o) => [o.metadata.name, o]));
  };
  /** Waits until every named ConfigurationState has the wanted result (and its summary contains `text`). */
  const waitStates = (want: Record<string, { result: string; text?: string }>, timeoutMs = 20_000): Promise<Map<string, ConfigurationState>> =>
    waitFor(
      `ConfigurationStates ${JSON.stringify(want)}`,
      async () => {
        const got = await states();
        const ok = Object.entries(want).every(([name, w]) => {
          const s = got.get(name)?.status;
          return s?.result === w.result && (w.text === undefined || (s.errorSummary ?? "").includes(w.text));
        });
        return ok ? got : undefined;
      },
      timeoutMs,
      100,
    );
  const routerPaths = async (prefix: string): Promise<string[]> => {
    const t = await bgp.lab.frr("router").vtyshJson<{ routes: Record<string, Array<{ peerId: string; valid: boolean }>> }>("show ip bgp json");
    return (t.routes[prefix] ?? [])
      .filter((p) => p.valid)
      .map((p) => p.peerId)
      .sort();
  };
  const routerConnections = async (): Promise<number[]> => {
    const all = await bgp.lab.frr("router").vtyshJson<Record<string, { bgpState?: string; connectionsEstablished?: number }>>("show bgp neighbors json");
    return bgp.nodes.map((n) => {
      const s = all[bgp.lab.host(n).ipv4];
      return s?.bgpState === "Established" ? (s.connectionsEstablished ?? -1) : -1;
    });
  };
  const nodeNeighbors = async (node: string): Promise<string[]> =>
    Object.keys(await bgp.lab.frr(node).vtyshJson<Record<string, unknown>>("show bgp neighbors json")).sort();
  const speakersIdle = async (): Promise<void> => {
    await sleep(300);
    for (const s of bgp.speakers.values()) await s.idle();
  };
  const peer = (name: string, spec: Record<string, unknown>): Promise<void> =>
    apply(
      kc,
      { apiVersion: "metallb.io/v1beta2", kind: "BGPPeer", metadata: { name, namespace: METALLB_NS }, spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, ...spec } },
      "bgppeers",
    );
  const deletePeer = (name: string): Promise<unknown> => kubeRequest(kc, "DELETE", `/apis/metallb.io/v1beta2/namespaces/${METALLB_NS}/bgppeers/${name}`);
  /** The node's metallb_speaker_announced samples, as label sets with their value. */
  const announced = async (node: string): Promise<Array<Record<string, string>>> => {
    const registry = bgp.registries.get(node);
    if (registry === undefined) throw new Error(`no registry for ${node}`);
    const text = await registry.getSingleMetricAsString("metallb_speaker_announced");
    return text
      .split("\n")
      .filter((l) => l.startsWith("metallb_speaker_announced{"))
      .map((l) => {
        const m = /^metallb_speaker_announced\{(.*)\} (\S+)$/.exec(l);
        const labels = Object.fromEntries([...(m?.[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] ?? "", x[2] ?? ""]));
        return { ...labels, value: m?.[2] ?? "" };
      });
  };

  let prefix = "";
  let ip = "";

  beforeAll(async () => {
    bgp = await startBgpLab({ log: jsonLogger({ write: (l) => logs.push(l), level: "debug" }) });
    kc = bgp.kc;
    await ensureNamespace(kc, "apps");
    await pool(kc, "public", { addresses: ["10.220.0.0/24"] });
    await applyMetallb(kc, "BGPAdvertisement", "public", { ipAddressPools: ["public"] });
    await createService(kc, "apps", "x");
    await createEndpointSlice(kc, "apps", "x", ["node1", "node2"]);
    ip = (await waitForIPs(kc, "apps", "x")).ips[0] ?? "";
    prefix = `${ip}/32`;
    await waitFor("the route at the router via both nodes", async () => ((await routerPaths(prefix)).length === 2 ? true : undefined), 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await bgp?.stop();
    if (process.env.E2E_DUMP_LOGS === "1") process.stderr.write(logs.join(""));
  });

  test("each speaker has its ConfigurationState speaker-<node>, Valid, with MetalLB's labels", async () => {
    const got = await waitStates({ controller: { result: "Valid" }, "speaker-node1": { result: "Valid" }, "speaker-node2": { result: "Valid" } });
    for (const n of ["node1", "node2"]) {
      const s = got.get(`speaker-${n}`);
      expect(s?.metadata.labels).toMatchObject({ "metallb.io/component-type": "speaker", "metallb.io/node-name": n });
      expect(s?.status?.conditions).toEqual([expect.objectContaining({ type: "configReconcilerValid", status: "True" })]);
    }
  });

  test('metallb_speaker_announced{protocol="bgp"} is set per Service and IP on each announcing node', async () => {
    for (const n of ["node1", "node2"]) {
      const series = await waitFor(`${n}'s series`, async () => ((await announced(n)).length > 0 ? announced(n) : undefined), 10_000, 100);
      expect(series).toEqual([{ service: "apps/x", protocol: "bgp", node: n, ip, value: "1" }]);
    }
  });

  test("a BGPPeer naming a missing BFDProfile: the speakers Invalid naming it, the controller Valid, BGP untouched", async () => {
    const connectionsBefore = await routerConnections();
    expect(connectionsBefore.every((c) => c > 0)).toBe(true);
    await peer("ghost", { peerAddress: GHOST, bfdProfile: "does-not-exist" });
    const got = await waitStates({
      "speaker-node1": { result: "Invalid", text: "does-not-exist" },
      "speaker-node2": { result: "Invalid", text: "does-not-exist" },
    });
    expect(got.get("speaker-node1")?.status?.errorSummary).toContain("peer ghost referencing non existing bfd profile does-not-exist");
    expect(got.get("speaker-node1")?.status?.conditions).toEqual([expect.objectContaining({ type: "configReconcilerValid", status: "False" })]);
    await speakersIdle();
    expect((await states()).get("controller")?.status?.result).toBe("Valid");
    // The last good configuration stays applied: no session for the new peer, the existing ones not reset.
    expect(await nodeNeighbors("node1")).not.toContain(GHOST);
    expect(await routerPaths(prefix)).toHaveLength(2);
    expect(await routerConnections()).toEqual(connectionsBefore);

    await applyMetallb(kc, "BFDProfile", "does-not-exist", { receiveInterval: 300, transmitInterval: 300 });
    await waitStates({ "speaker-node1": { result: "Valid" }, "speaker-node2": { result: "Valid" }, controller: { result: "Valid" } });
    // Valid again: the new configuration (with the peer) is applied.
    await waitFor("the new peer configured on node1", async () => ((await nodeNeighbors("node1")).includes(GHOST) ? true : undefined), 20_000, 100);
    await deletePeer("ghost");
    await waitFor("the new peer removed from node1", async () => ((await nodeNeighbors("node1")).includes(GHOST) ? undefined : true), 20_000, 100);
    expect(await routerConnections()).toEqual(connectionsBefore);
  }, 60_000);

  test("a password Secret of the wrong type: the speakers Invalid, the controller Valid; the right type makes them Valid", async () => {
    const secrets = `/api/v1/namespaces/${METALLB_NS}/secrets`;
    const secret = (type: string): Promise<void> =>
      apply(kc, { apiVersion: "v1", kind: "Secret", metadata: { name: "wrong-type", namespace: METALLB_NS }, type, stringData: { password: "pw" } }, "secrets");
    await secret("Opaque");
    await peer("with-secret", { peerAddress: GHOST, passwordSecret: { name: "wrong-type" } });
    await waitStates({
      "speaker-node1": { result: "Invalid", text: 'secret type mismatch on "metallb-system"/"wrong-type"' },
      "speaker-node2": { result: "Invalid", text: "secret type mismatch" },
    });
    await speakersIdle();
    expect((await states()).get("controller")?.status?.result).toBe("Valid");
    expect(await routerPaths(prefix)).toHaveLength(2);
    // A Secret's type cannot change: replaced by one of type kubernetes.io/basic-auth.
    await kubeRequest(kc, "DELETE", `${secrets}/wrong-type`);
    await secret("kubernetes.io/basic-auth");
    await waitStates({ "speaker-node1": { result: "Valid" }, "speaker-node2": { result: "Valid" }, controller: { result: "Valid" } });
    await deletePeer("with-secret");
    await waitFor("the peer removed from node1", async () => ((await nodeNeighbors("node1")).includes(GHOST) ? undefined : true), 20_000, 100);
  }, 60_000);

  test("a peer conflicting only on node1: only speaker-node1 Invalid; deleted ConfigurationStates come back with their state", async () => {
    // Same address as the lab's peer "router", selecting node1 only: FRR cannot run both on node1.
    await peer("dup", { peerAddress: bgp.lab.host("router").ipv4, nodeSelectors: [{ matchLabels: { "kubernetes.io/hostname": "node1" } }] });
    await waitStates({ "speaker-node1": { result: "Invalid", text: "FRR mode doesn't support duplicate BGPPeers selecting the same node" } });
    await speakersIdle();
    const now = await states();
    expect(now.get("speaker-node2")?.status?.result).toBe("Valid");
    expect(now.get("controller")?.status?.result).toBe("Valid");
    expect(await routerPaths(prefix)).toHaveLength(2);

    const del = await kubeRequest(kc, "DELETE", CS_PATH);
    expect(del.status).toBeLessThan(300);
    await waitStates({
      controller: { result: "Valid" },
      "speaker-node1": { result: "Invalid", text: "duplicate BGPPeers" },
      "speaker-node2": { result: "Valid" },
    });

    await deletePeer("dup");
    await waitStates({ "speaker-node1": { result: "Valid" }, "speaker-node2": { result: "Valid" }, controller: { result: "Valid" } });
  }, 60_000);

  test("deleting the Service removes its metallb_speaker_announced series", async () => {
    await deleteService(kc, "apps", "x");
    await waitFor("the route withdrawn", async () => ((await routerPaths(prefix)).length === 0 ? true : undefined), 30_000, 100);
    for (const n of ["node1", "node2"]) {
      await waitFor(`${n}'s series removed`, async () => ((await announced(n)).length === 0 ? true : undefined), 10_000, 100);
    }
  }, 60_000);

  test("IPAddressPool status is the operator's: a hand-edited counter is put back", async () => {
    const path = `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools/public`;
    type PoolStatus = { availableIPv4?: number; assignedIPv4?: number };
    const status = async (): Promise<PoolStatus> => ((await kubeRequest(kc, "GET", path)).body as { status?: PoolStatus }).status ?? {};
    // The previous test deleted the pool's only Service: wait until the operator has published that (counters are
    // batched), so the value read here is the operator's current one.
    const want = await waitFor(
      "the pool's counters with nothing assigned",
      async () => {
        const st = await status();
        return st.assignedIPv4 === 0 && st.availableIPv4 !== undefined ? st : undefined;
      },
      10_000,
      100,
    );
    expect(want.availableIPv4).toBe(256);
    const res = await kubeRequest(kc, "PATCH", `${path}/status`, { status: { availableIPv4: 99 } }, "application/merge-patch+json");
    expect(res.status).toBe(200);
    await waitFor("availableIPv4 put back", async () => ((await status()).availableIPv4 === want.availableIPv4 ? true : undefined), 10_000, 100);
  }, 30_000);
});
