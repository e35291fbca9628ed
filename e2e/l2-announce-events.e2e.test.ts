// MetalLB's Layer 2 announcement Events on the real lab (issue 18 item 3): an L2Advertisement naming an interface
// the chosen node does not have makes that node's speaker emit one Warning `announceFailed` on the Service (nothing
// answers ARP), not again while it stays so; when the interface appears in the node, the speaker announces on it and
// emits `nodeAssigned`. Speakers are processes in the node namespaces (testenv startL2Lab); the interface added is a
// veth pair inside the owner's namespace.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, pool, waitForIPs } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { sleep, waitFor } from "../testenv/src/proc.js";
import { arpingMacs } from "../testenv/src/arp-probe.js";
import { startL2Lab, type L2Lab } from "../testenv/src/l2-lab.js";
import { metricValue } from "../testenv/src/speaker-process.js";

interface EventObj {
  reason: string;
  message: string;
  type: string;
  count?: number;
  source?: { component?: string };
}

describe("Layer 2 announceFailed / nodeAssigned Events", () => {
  let l2: L2Lab;
  let kc: k8s.KubeConfig;
  let vip = "";
  let owner = "";

  const events = async (reason: string): Promise<EventObj[]> => {
    const sel = encodeURIComponent(`involvedObject.kind=Service,involvedObject.name=ghost,reason=${reason}`);
    const res = await kubeRequest(kc, "GET", `/api/v1/namespaces/apps/events?fieldSelector=${sel}`);
    return (res.body as { items?: EventObj[] }).items ?? [];
  };
  const arping = async (): Promise<string[]> => arpingMacs(l2.lab, "client", vip);

  beforeAll(async () => {
    l2 = await startL2Lab();
    kc = l2.kc;
    await ensureNamespace(kc, "apps");
    await pool(kc, "ghost", { addresses: ["10.111.0.230-10.111.0.239"] });
    await applyMetallb(kc, "L2Advertisement", "ghost", { ipAddressPools: ["ghost"], interfaces: ["foo"] });
    await createService(kc, "apps", "ghost", { annotations: { "metallb.io/address-pool": "ghost" } });
    await createEndpointSlice(kc, "apps", "ghost", l2.nodes);
    vip = (await waitForIPs(kc, "apps", "ghost")).ips[0] ?? "";
    const cands = await waitFor(
      "ghost's plan",
      async () => {
        const c = await l2.candidates(vip);
        return c.length === l2.nodes.length ? c : undefined;
      },
      30_000,
    );
    owner = cands[0] ?? "";
  }, 400_000);

  afterAll(async () => {
    await l2?.stop();
  });

  test("the chosen node has no interface foo: one Warning announceFailed in MetalLB's words, and nobody answers", async () => {
    const [ev] = await waitFor(
      "announceFailed Event",
      async () => {
        const e = await events("announceFailed");
        return e.length > 0 ? e : undefined;
      },
      30_000,
      200,
    );
    expect(ev).toMatchObject({
      type: "Warning",
      reason: "announceFailed",
      message: `the interfaces specified by LB IP "${vip}" doesn't exist in assigned node "${owner}" with protocol "layer2"`,
      source: { component: "metallb-speaker" },
    });
    expect(await arping()).toEqual([]);
    expect(await events("nodeAssigned")).toEqual([]);
  });

  test("no churn: while foo stays missing the Event is neither repeated nor counted up", async () => {
    await sleep(6_000); // several heartbeat rounds and re-elections
    const evs = await events("announceFailed");
    expect(evs.map((e) => ({ message: e.message, count: e.count ?? 1 }))).toEqual([
      { message: `the interfaces specified by LB IP "${vip}" doesn't exist in assigned node "${owner}" with protocol "layer2"`, count: 1 },
    ]);
  });

  test("foo appears on the node: it announces on foo (metallb_speaker_announced), nodeAssigned is emitted, announceFailed is not repeated", async () => {
    await l2.lab.exec(owner, "ip", ["link", "add", "foo", "type", "veth", "peer", "name", "foop"]);
    await l2.lab.exec(owner, "ip", ["link", "set", "foo", "up"]);
    await l2.lab.exec(owner, "ip", ["link", "set", "foop", "up"]);
    const [ev] = await waitFor(
      "nodeAssigned Event",
      async () => {
        const e = await events("nodeAssigned");
        return e.length > 0 ? e : undefined;
      },
      30_000,
      200,
    );
    expect(ev).toMatchObject({ type: "Normal", reason: "nodeAssigned", message: `announcing from node "${owner}" with protocol "layer2"` });
    const sp = l2.speakers.get(owner);
    const announced = metricValue((await sp?.metrics()) ?? "", "metallb_speaker_announced", {
      service: "apps/ghost",
      protocol: "layer2",
      node: owner,
      ip: vip,
    });
    expect(announced).toBe(1);
    expect((await events("announceFailed")).map((e) => e.count ?? 1)).toEqual([1]);
  });
});
