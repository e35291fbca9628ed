// ServiceL2Status sync against the real apiserver, counting the requests its own client sends (issue 12): after the
// first list and watch of this node's objects, passes with nothing changed send nothing, and a change writes only the
// object it affects. The objects keep MetalLB's names, labels and status.
import { afterEach, describe, expect, test } from "@jest/globals";
import { createTestNamespace, useControlPlane } from "../../../testenv/src/kube.js";
import { sleep, waitFor } from "../../../testenv/src/proc.js";
import { kubeClientFor, type RequestVerb } from "../../../shell/src/kube-client.js";
import { kubeRequest } from "../../../shell/src/kube-raw.js";
import { jsonLogger } from "../../../shell/src/logger.js";
import { L2StatusSync, l2StatusName, type AnnouncedService } from "./status.js";

const env = useControlPlane();
const log = jsonLogger({ write: () => undefined });
const NODE = "node-a";

interface Obj {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name: string }> };
}

const path = (ns: string): string => `/apis/metallb.io/v1beta1/namespaces/${ns}/servicel2statuses`;

async function all(ns: string): Promise<Obj[]> {
  const res = await kubeRequest(env.kc, "GET", path(ns));
  expect(res.status).toBe(200);
  return ((res.body as { items: Obj[] }).items ?? []).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

/** Creates a status object as a node's speaker would (used for other nodes' and leftover objects). */
async function seed(ns: string, node: string, service: string): Promise<string> {
  const [svcNs = "", svcName = ""] = service.split("/");
  const name = l2StatusName(node, service);
  const labels = { "metallb.io/node": node, "metallb.io/service-name": svcName, "metallb.io/service-namespace": svcNs };
  const created = await kubeRequest(env.kc, "POST", path(ns), { apiVersion: "metallb.io/v1beta1", kind: "ServiceL2Status", metadata: { name, labels } });
  expect(created.status).toBe(201);
  const status = { node, serviceName: svcName, serviceNamespace: svcNs };
  const patched = await kubeRequest(env.kc, "PATCH", `${path(ns)}/${name}/status`, { status }, "application/merge-patch+json");
  expect(patched.status).toBe(200);
  return name;
}

/** Requests sent by one client since `before`, per verb (only the verbs that moved). */
function delta(before: Record<RequestVerb, { requests: number }>, after: Record<RequestVerb, { requests: number }>): Partial<Record<RequestVerb, number>> {
  const out: Partial<Record<RequestVerb, number>> = {};
  for (const v of Object.keys(after) as RequestVerb[]) {
    const d = after[v].requests - before[v].requests;
    if (d !== 0) out[v] = d;
  }
  return out;
}

describe("ServiceL2Status sync: a watch of this node's objects, writes only for differences", () => {
  const syncs: L2StatusSync[] = [];
  afterEach(async () => {
    await Promise.all(syncs.splice(0).map((s) => s.stop()));
  });

  test("N quiet passes send no request; a change writes only its object; stale objects are removed", async () => {
    const ns = await createTestNamespace(env.kc, "l2status");
    // Another node's object for a Service this node takes over (stale), another node's object for a Service this node
    // does not announce (kept), and this node's leftover for a Service it no longer announces (deleted).
    const othersWeb = await seed(ns, "node-b", "apps/web");
    const othersUnrelated = await seed(ns, "node-b", "apps/elsewhere");
    const leftover = await seed(ns, NODE, "apps/gone");

    const kc = env.cp.kubeConfig(); // its own pooled client: the counters below are the sync's requests only
    const client = kubeClientFor(kc);
    const sync = new L2StatusSync({ kc, nodeName: NODE, namespace: ns, log, retryMs: 200 });
    syncs.push(sync);
    let announced: AnnouncedService[] = [
      { service: "apps/web", interfaces: [] },
      { service: "apps/side", interfaces: ["eth1"] },
    ];
    const t0 = client.snapshot().byVerb;
    sync.set(announced);
    const web = l2StatusName(NODE, "apps/web");
    const side = l2StatusName(NODE, "apps/side");
    const want = [web, side, othersUnrelated].sort();
    await waitFor(
      "the wanted objects",
      async () => {
        const objs = await all(ns);
        return JSON.stringify(objs.map((o) => o.metadata.name)) === JSON.stringify(want) && objs.every((o) => o.status?.node !== undefined) ? objs : undefined;
      },
      15_000,
      50,
    );
    const objs = await all(ns);
    expect(objs.map((o) => o.metadata.name)).not.toContain(othersWeb);
    expect(objs.map((o) => o.metadata.name)).not.toContain(leftover);
    const byName = new Map(objs.map((o) => [o.metadata.name, o]));
    expect(byName.get(web)).toMatchObject({
      metadata: { labels: { "metallb.io/node": NODE, "metallb.io/service-name": "web", "metallb.io/service-namespace": "apps" } },
      status: { node: NODE, serviceName: "web", serviceNamespace: "apps" },
    });
    expect(byName.get(web)?.status?.interfaces).toBeUndefined();
    expect(byName.get(side)?.status).toEqual({ node: NODE, serviceName: "side", serviceNamespace: "apps", interfaces: [{ name: "eth1" }] });
    // The first sync: one list + one watch of this node's objects, one list of other nodes' objects for the two
    // newly announced Services, a create and a status write each, two deletes.
    await sleep(300); // the watch brings our own writes back
    await sync.idle();
    expect(delta(t0, client.snapshot().byVerb)).toEqual({ LIST: 2, WATCH: 1, POST: 2, PATCH: 2, DELETE: 2 });

    // N passes with nothing changed: no request at all.
    const t1 = client.snapshot().byVerb;
    for (let i = 0; i < 25; i++) {
      sync.set(announced.map((a) => ({ ...a })));
      await sync.idle();
    }
    await sleep(300);
    expect(delta(t1, client.snapshot().byVerb)).toEqual({});

    // An interface change: one status write of that one object, nothing read.
    const t2 = client.snapshot().byVerb;
    announced = [
      { service: "apps/web", interfaces: [] },
      { service: "apps/side", interfaces: ["eth2"] },
    ];
    sync.set(announced);
    await sync.idle();
    await waitFor(
      "side on eth2",
      async () => ((await all(ns)).find((o) => o.metadata.name === side)?.status?.interfaces?.[0]?.name === "eth2" ? true : undefined),
      10_000,
      50,
    );
    await sleep(300);
    for (let i = 0; i < 5; i++) {
      sync.set(announced);
      await sync.idle();
    }
    expect(delta(t2, client.snapshot().byVerb)).toEqual({ PATCH: 1 });

    // A Service no longer announced: one delete, nothing read.
    const t3 = client.snapshot().byVerb;
    announced = [{ service: "apps/side", interfaces: ["eth2"] }];
    sync.set(announced);
    await sync.idle();
    await waitFor("web's object deleted", async () => ((await all(ns)).some((o) => o.metadata.name === web) ? undefined : true), 10_000, 50);
    await sleep(300);
    sync.set(announced);
    await sync.idle();
    expect(delta(t3, client.snapshot().byVerb)).toEqual({ DELETE: 1 });

    // Someone else deletes an object this node still wants (as a node taking the Service over would): the watch
    // tells, and only that object is written again.
    const t4 = client.snapshot().byVerb;
    expect((await kubeRequest(env.kc, "DELETE", `${path(ns)}/${side}`)).status).toBe(200);
    await waitFor(
      "side re-created",
      async () => ((await all(ns)).find((o) => o.metadata.name === side)?.status?.interfaces?.[0]?.name === "eth2" ? true : undefined),
      10_000,
      50,
    );
    await sleep(300);
    await sync.idle();
    expect(delta(t4, client.snapshot().byVerb)).toEqual({ POST: 1, PATCH: 1 });
    expect((await all(ns)).map((o) => o.metadata.name).sort()).toEqual([side, othersUnrelated].sort());
  }, 60_000);

  test("a Service becoming this node's again looks for other nodes' objects again (once)", async () => {
    const ns = await createTestNamespace(env.kc, "l2status-back");
    const kc = env.cp.kubeConfig();
    const client = kubeClientFor(kc);
    const sync = new L2StatusSync({ kc, nodeName: NODE, namespace: ns, log, retryMs: 200, cleanupIntervalMs: 200 });
    syncs.push(sync);
    const mine = [{ service: "apps/web", interfaces: [] }];
    sync.set(mine);
    await sync.idle();
    await waitFor("ours", async () => ((await all(ns)).length === 1 ? true : undefined), 10_000, 50);
    sync.set([]); // moved to node-b
    await sync.idle();
    await waitFor("ours deleted", async () => ((await all(ns)).length === 0 ? true : undefined), 10_000, 50);
    const othersWeb = await seed(ns, "node-b", "apps/web");
    await sleep(300);
    const t0 = client.snapshot().byVerb;
    sync.set(mine); // back: node-b's object is stale
    await sync.idle();
    await waitFor(
      "only ours",
      async () => {
        const objs = await all(ns);
        return objs.length === 1 && objs[0]?.metadata.name === l2StatusName(NODE, "apps/web") && objs[0].status?.node === NODE ? true : undefined;
      },
      10_000,
      50,
    );
    expect(othersWeb).not.toBe(l2StatusName(NODE, "apps/web"));
    await sleep(300);
    for (let i = 0; i < 5; i++) {
      sync.set(mine);
      await sync.idle();
    }
    expect(delta(t0, client.snapshot().byVerb)).toEqual({ LIST: 1, POST: 1, PATCH: 1, DELETE: 1 });
  }, 60_000);
  test("a Service withdrawn before the watch shows its new object: the object is still deleted", async () => {
    const ns = await createTestNamespace(env.kc, "l2status-lag");
    const kc = env.cp.kubeConfig();
    // A lagging watch (as under load): this client's watch events are delivered 300 ms late, in order.
    const client = kubeClientFor(kc);
    const realWatch = client.watch.bind(client);
    client.watch = (p, params, onEvent, idleMs) => realWatch(p, params, (e) => void setTimeout(() => onEvent(e), 300), idleMs);
    const sync = new L2StatusSync({ kc, nodeName: NODE, namespace: ns, log, retryMs: 200 });
    syncs.push(sync);
    for (let round = 0; round < 3; round++) {
      sync.set([{ service: "apps/web", interfaces: [] }]);
      await sync.idle(); // created and written; the watch has not brought it back yet
      expect((await all(ns)).length).toBe(1);
      sync.set([]); // the pass finds nothing of this node's in its cache: the watch event must bring the delete
      await sync.idle();
      await waitFor(`round ${round}: nothing left`, async () => ((await all(ns)).length === 0 ? true : undefined), 5_000, 50);
      await sleep(400);
    }
  }, 60_000);
  test("a burst of Services arriving one pass at a time: other nodes' objects are looked for once per interval, not per pass", async () => {
    const ns = await createTestNamespace(env.kc, "l2status-burst");
    const kc = env.cp.kubeConfig();
    const client = kubeClientFor(kc);
    const sync = new L2StatusSync({ kc, nodeName: NODE, namespace: ns, log, retryMs: 200, cleanupIntervalMs: 3_000 });
    syncs.push(sync);
    const stale = await seed(ns, "node-b", "apps/svc-17"); // one of them was node-b's
    const t0 = client.snapshot().byVerb;
    const started = Date.now();
    const announced: AnnouncedService[] = [];
    for (let i = 0; i < 30; i++) {
      announced.push({ service: `apps/svc-${i}`, interfaces: [] });
      sync.set([...announced]);
      await sync.idle();
    }
    const passesMs = Date.now() - started;
    await waitFor(
      "30 objects of this node, node-b's stale one gone",
      async () => {
        const objs = await all(ns);
        return objs.length === 30 && objs.every((o) => o.status?.node === NODE) && !objs.some((o) => o.metadata.name === stale) ? true : undefined;
      },
      15_000,
      100,
    );
    await sleep(300);
    await sync.idle();
    const d = delta(t0, client.snapshot().byVerb);
    // 30 passes: the first list at once (with the watch's own first list), then one more per 3 s interval.
    expect(d).toMatchObject({ POST: 30, PATCH: 30, DELETE: 1, WATCH: 1 });
    expect(d.LIST).toBeLessThanOrEqual(2 + Math.ceil(passesMs / 3_000));
    expect(d.LIST).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
