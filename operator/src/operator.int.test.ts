// The operator's allocation against a real kube-apiserver (in-process operator, no leader election).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { kubeClientFor } from "../../shell/src/kube-client.js";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { sleep, waitFor } from "../../testenv/src/proc.js";
import { Operator } from "./operator.js";
import {
  apply,
  applyMetallb,
  createEndpointSlice,
  createService,
  deleteService,
  ensureNamespace,
  METALLB_NS,
  passwordSecret,
  pool,
  serviceState,
  waitForEvent,
  waitForIPs,
} from "../../testenv/src/objects.js";

const env = useControlPlane();

describe("operator: IP allocation on a real apiserver", () => {
  let op: Operator;
  let opKc: k8s.KubeConfig;
  const registry = new Registry();

  beforeAll(async () => {
    const kc = env.kc;
    await ensureNamespace(kc, METALLB_NS);
    for (const ns of ["apps", "team-a", "other"]) await ensureNamespace(kc, ns);
    await pool(kc, "default", { addresses: ["192.168.10.0/30"] });
    await pool(kc, "reserved", { addresses: ["192.168.20.0/30"], autoAssign: false });
    await pool(kc, "team-a", { addresses: ["192.168.30.0/30"], serviceAllocation: { priority: 1, namespaces: ["team-a"] } });
    await pool(kc, "tiny", { addresses: ["192.168.40.1/32"], autoAssign: false });
    const lines: string[] = [];
    // Its own KubeConfig, so its own pooled client: the test counts the operator's requests apart from its own.
    opKc = new k8s.KubeConfig();
    opKc.loadFromString(kc.exportConfig());
    op = new Operator({
      kc: opKc,
      settings: {
        namespace: METALLB_NS,
        lbClass: null,
        defaultLbClass: false,
        identity: "test",
        leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      log: jsonLogger({ write: (l) => lines.push(l), level: "debug" }),
      registry,
    });
    await op.start();
  });

  afterAll(async () => {
    await op?.stop();
  });

  test("a Service gets an IP from the general pool, a Service in team-a from its pinned pool", async () => {
    await createService(env.kc, "apps", "web");
    await createService(env.kc, "team-a", "api");
    expect(await waitForIPs(env.kc, "apps", "web")).toEqual({ ips: ["192.168.10.0"], pool: "default" });
    expect(await waitForIPs(env.kc, "team-a", "api")).toEqual({ ips: ["192.168.30.0"], pool: "team-a" });
    const ev = await waitForEvent(env.kc, "apps", "Service", "web", "IPAllocated");
    expect(ev.message).toBe('Assigned IP ["192.168.10.0"]');
  });

  test("requested IP and pool annotations", async () => {
    await createService(env.kc, "apps", "pinned", { annotations: { "metallb.io/address-pool": "reserved" } });
    await createService(env.kc, "apps", "wants-ip", { annotations: { "metallb.io/loadBalancerIPs": "192.168.10.3" } });
    await createService(env.kc, "apps", "legacy-ip", { loadBalancerIP: "192.168.20.2" });
    expect(await waitForIPs(env.kc, "apps", "pinned")).toEqual({ ips: ["192.168.20.0"], pool: "reserved" });
    expect(await waitForIPs(env.kc, "apps", "wants-ip")).toEqual({ ips: ["192.168.10.3"], pool: "default" });
    expect(await waitForIPs(env.kc, "apps", "legacy-ip")).toEqual({ ips: ["192.168.20.2"], pool: "reserved" });
  });

  test("sharing works with the same key and disjoint ports, and is refused with an Event otherwise", async () => {
    const shared = { "metallb.io/allow-shared-ip": "dns", "metallb.io/address-pool": "reserved" };
    await createService(env.kc, "apps", "dns-tcp", { annotations: shared, ports: [{ port: 53, protocol: "TCP" }] });
    const first = await waitForIPs(env.kc, "apps", "dns-tcp");
    await createService(env.kc, "apps", "dns-udp", {
      annotations: { ...shared, "metallb.io/loadBalancerIPs": first.ips[0] ?? "" },
      ports: [{ port: 53, protocol: "UDP" }],
    });
    expect((await waitForIPs(env.kc, "apps", "dns-udp")).ips).toEqual(first.ips);
    await createService(env.kc, "apps", "dns-clash", {
      annotations: { ...shared, "metallb.io/loadBalancerIPs": first.ips[0] ?? "" },
      ports: [{ port: 53, protocol: "TCP" }],
    });
    const ev = await waitForEvent(env.kc, "apps", "Service", "dns-clash", "AllocationFailed");
    expect(ev.type).toBe("Warning");
    expect(ev.message).toMatch(/port TCP\/53 is already in use/);
    expect((await serviceState(env.kc, "apps", "dns-clash")).ips).toEqual([]);
  });

  test("IPAddressPool status shows live counters", async () => {
    const read = async (): Promise<Record<string, number> | undefined> => {
      const res = await kubeRequest(env.kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools/default`);
      return (res.body as { status?: Record<string, number> }).status;
    };
    // default (/30) holds web (.0) and wants-ip (.3).
    await waitFor("pool status", async () => ((await read())?.assignedIPv4 === 2 ? true : undefined), 10_000);
    expect(await read()).toEqual({ assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0 });
    const metrics = await registry.getSingleMetricAsString("metallb_allocator_addresses_in_use_total");
    expect(metrics).toMatch(/metallb_allocator_addresses_in_use_total\{pool="default"\} 2/);
  });

  test("deleting a Service frees its IP for a pending one", async () => {
    await createService(env.kc, "apps", "tiny-1", { annotations: { "metallb.io/address-pool": "tiny" } });
    expect((await waitForIPs(env.kc, "apps", "tiny-1")).ips).toEqual(["192.168.40.1"]);
    await createService(env.kc, "apps", "tiny-2", { annotations: { "metallb.io/address-pool": "tiny" } });
    const ev = await waitForEvent(env.kc, "apps", "Service", "tiny-2", "AllocationFailed");
    expect(ev.message).toMatch(/tiny-2/);
    await deleteService(env.kc, "apps", "tiny-1");
    expect((await waitForIPs(env.kc, "apps", "tiny-2")).ips).toEqual(["192.168.40.1"]);
  });

  test("a Service of another loadBalancerClass is left alone; a ClusterIP Service too", async () => {
    await createService(env.kc, "other", "foreign", { loadBalancerClass: "example.com/other-lb" });
    await createService(env.kc, "other", "plain", { type: "ClusterIP" });
    await createService(env.kc, "other", "marker");
    await waitForIPs(env.kc, "other", "marker");
    await op.idle();
    expect(await serviceState(env.kc, "other", "foreign")).toEqual({ ips: [], pool: undefined });
    expect(await serviceState(env.kc, "other", "plain")).toEqual({ ips: [], pool: undefined });
  });

  test("an invalid configuration keeps the last good one and says so in ConfigurationState and Events", async () => {
    await pool(env.kc, "overlapping", { addresses: ["192.168.10.0/24"] });
    const state = await waitFor(
      "ConfigurationState Invalid",
      async () => {
        const res = await kubeRequest(env.kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates/controller`);
        const s = (res.body as { status?: { result?: string; errorSummary?: string } }).status;
        return s?.result === "Invalid" ? s : undefined;
      },
      10_000,
    );
    expect(state.errorSummary).toMatch(/IPAddressPool\/overlapping spec\.addresses\[0\]: .*overlaps/);
    const ev = await waitForEvent(env.kc, METALLB_NS, "IPAddressPool", "overlapping", "InvalidConfig");
    expect(ev.message).toMatch(/overlaps/);
    // The last good config still allocates; the invalid pool is not used.
    await createService(env.kc, "apps", "during-bad-config");
    // default/30: .0 web, .1 other/marker, .3 wants-ip → .2
    expect(await waitForIPs(env.kc, "apps", "during-bad-config")).toEqual({ ips: ["192.168.10.2"], pool: "default" });
    expect(await registry.getSingleMetricAsString("metallb_k8s_client_config_stale_bool")).toMatch(/ 1$/m);
    // Fixing it makes the state Valid again.
    await kubeRequest(env.kc, "DELETE", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools/overlapping`);
    await waitFor(
      "ConfigurationState Valid",
      async () => {
        const res = await kubeRequest(env.kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates/controller`);
        return (res.body as { status?: { result?: string } }).status?.result === "Valid" ? true : undefined;
      },
      10_000,
    );
    expect(await registry.getSingleMetricAsString("metallb_k8s_client_config_stale_bool")).toMatch(/ 0$/m);
  });

  test("metrics carry MetalLB's names", async () => {
    const text = await registry.metrics();
    for (const name of [
      "metallb_allocator_addresses_total",
      "metallb_allocator_ipv4_addresses_total",
      "metallb_allocator_addresses_in_use_total",
      "metallb_k8s_client_updates_total",
      "metallb_k8s_client_update_errors_total",
      "metallb_k8s_client_config_loaded_bool",
      "metallb_k8s_client_config_stale_bool",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/metallb_k8s_client_config_loaded_bool 1/);
  });

  test("each node gets a NodeConfig with its BGP plan; passwords stay out of it", async () => {
    const kc = env.kc;
    await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: "node-a", labels: { rack: "r1" } } }, "nodes");
    await passwordSecret(kc, "peer-pw", "s3cret-pw");
    await applyMetallb(kc, "BGPPeer", "router", { myASN: 64512, peerASN: 64500, peerAddress: "10.111.0.1", passwordSecret: { name: "peer-pw" } });
    await applyMetallb(kc, "BGPAdvertisement", "all", { ipAddressPools: ["default"], communities: ["64500:1"] });
    // No controller-manager here: the test plays the EndpointSlice controller (a Service without a serving
    // endpoint is not announced, as in MetalLB).
    await createEndpointSlice(kc, "apps", "web", ["node-a"]);
    const api = `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}`;
    type Shard = {
      metadata: { name: string; resourceVersion: string };
      spec: { count: number; services: Record<string, { ips: string[]; bgp?: string[]; l2?: string[]; endpoints?: boolean }> };
    };
    const shards = async (): Promise<Shard[]> => ((await kubeRequest(kc, "GET", `${api}/announcementshards`)).body as { items: Shard[] }).items;
    const webEntry = async (): Promise<Shard["spec"]["services"][string] | undefined> =>
      (await shards()).map((s) => s.spec.services["apps/web"]).find((e) => e !== undefined);
    const entry = await waitFor("apps/web's announcement entry", async () => ((await webEntry())?.bgp !== undefined ? webEntry() : undefined), 15_000);
    // The change time travels with the change (the speakers' Service change → FRR applied histogram).
    const { changedAt, ...content } = entry as NonNullable<typeof entry> & { changedAt?: string };
    expect(content).toEqual({ ips: ["192.168.10.0"], endpoints: true, bgp: ["all"] });
    expect(Math.abs(Date.now() - Date.parse(changedAt ?? ""))).toBeLessThan(60_000);
    const nc = await waitFor(
      "NodeConfig node-a with its session and the advertisement",
      async () => {
        const res = await kubeRequest(kc, "GET", `${api}/nodeconfigs/node-a`);
        const spec = (res.body as { spec?: { bgp?: { sessions?: unknown[]; advertisements?: Array<{ name: string }> } } }).spec;
        return spec?.bgp?.sessions?.length === 1 && spec.bgp.advertisements?.some((a) => a.name === "all") === true ? res.body : undefined;
      },
      15_000,
    );
    const text = JSON.stringify(nc);
    expect(text).not.toContain("s3cret-pw");
    expect(text).toContain('"password":{"secret":"peer-pw"}');
    expect(text).toContain('"communities":["64500:1"]');
    // The node's half names no Service: its size does not grow with them.
    expect(text).not.toContain("apps/web");

    // L2: the entry names the L2Advertisement, the node's half says it selects node-a, so node-a is the candidate.
    await applyMetallb(kc, "L2Advertisement", "l2", { ipAddressPools: ["default"] });
    await waitFor("apps/web's entry with the L2Advertisement", async () => ((await webEntry())?.l2?.includes("l2") === true ? true : undefined), 15_000);
    await waitFor(
      "NodeConfig node-a selected by the L2Advertisement",
      async () => {
        const res = await kubeRequest(kc, "GET", `${api}/nodeconfigs/node-a`);
        const advs =
          (res.body as { spec?: { l2?: { advertisements?: Array<{ name: string; weight: number; interfaces: string[] }> } } }).spec?.l2?.advertisements ?? [];
        return advs.find((a) => a.name === "l2");
      },
      15_000,
    );
  });

  test("a Service change writes one entry of one shard, and no NodeConfig", async () => {
    const kc = env.kc;
    const api = `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}`;
    for (const n of ["node-b", "node-c"]) await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { rack: "r2" } } }, "nodes");
    await ensureNamespace(kc, "bulk");
    await pool(kc, "bulk", { addresses: ["192.168.50.0/24"], serviceAllocation: { priority: 1, namespaces: ["bulk"] } });
    await applyMetallb(kc, "BGPAdvertisement", "bulk", { ipAddressPools: ["bulk"] });
    const names = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    for (const name of names) {
      await apply(
        kc,
        { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "bulk" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } },
        "services",
      );
      await createEndpointSlice(kc, "bulk", name, ["node-b"]);
    }
    type Versioned = { metadata: { name: string; resourceVersion: string }; spec?: { services?: Record<string, unknown> } };
    const versions = async (what: string): Promise<Map<string, string>> =>
      new Map(
        ((await kubeRequest(kc, "GET", `${api}/${what}`)).body as { items: Versioned[] }).items.map((o) => [o.metadata.name, o.metadata.resourceVersion]),
      );
    const entries = async (): Promise<number> =>
      ((await kubeRequest(kc, "GET", `${api}/announcementshards`)).body as { items: Versioned[] }).items.reduce(
        (n, o) => n + Object.keys(o.spec?.services ?? {}).filter((k) => k.startsWith("bulk/")).length,
        0,
      );
    await waitFor("every Service's entry published", async () => ((await entries()) === names.length ? true : undefined), 20_000);
    await op.idle();
    const shardsBefore = await versions("announcementshards");
    const nodeConfigsBefore = await versions("nodeconfigs");
    // A label change of one Service (no advertisement selects by label: its entry is unchanged) writes nothing.
    await kubeRequest(kc, "PATCH", "/api/v1/namespaces/bulk/services/many-3", { metadata: { labels: { tier: "x" } } }, "application/merge-patch+json");
    // Its endpoints move: its entry does not change either (ETP Cluster needs only "some endpoint").
    await createEndpointSlice(kc, "bulk", "many-3", ["node-c"]);
    // Deleting another Service removes exactly its entry.
    await kubeRequest(kc, "DELETE", "/api/v1/namespaces/bulk/services/many-7");
    await waitFor("many-7's entry removed", async () => ((await entries()) === names.length - 1 ? true : undefined), 15_000);
    await op.idle();
    const shardsAfter = await versions("announcementshards");
    const changed = [...shardsAfter].filter(([n, rv]) => shardsBefore.get(n) !== rv).map(([n]) => n);
    expect(changed).toHaveLength(1);
    expect(await versions("nodeconfigs")).toEqual(nodeConfigsBefore);
  });

  test("a Node's Ready condition reaches its NodeConfig as notReady, written on transitions only (status heartbeats write nothing)", async () => {
    const kc = env.kc;
    const api = `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}`;
    await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: "node-r" } }, "nodes");
    const nodeConfig = async (): Promise<{ rv: string; notReady: unknown } | undefined> => {
      const res = await kubeRequest(kc, "GET", `${api}/nodeconfigs/node-r`);
      if (res.status !== 200) return undefined;
      const o = res.body as { metadata: { resourceVersion: string }; spec: { notReady?: unknown } };
      return { rv: o.metadata.resourceVersion, notReady: o.spec.notReady };
    };
    const setReady = async (status: string, heartbeat: string): Promise<void> => {
      const cond = { type: "Ready", status, reason: "Test", lastHeartbeatTime: heartbeat, lastTransitionTime: "2026-01-01T00:00:00Z" };
      const res = await kubeRequest(kc, "PATCH", "/api/v1/nodes/node-r/status", { status: { conditions: [cond] } }, "application/strategic-merge-patch+json");
      expect(res.status).toBe(200);
    };
    await waitFor("NodeConfig node-r", nodeConfig, 15_000);
    await setReady("True", "2026-01-01T00:00:01Z");
    await op.idle();
    const ready = await nodeConfig();
    expect(ready?.notReady).toBeUndefined();
    // A kubelet status update with the same condition: no NodeConfig write.
    await setReady("True", "2026-01-01T00:00:02Z");
    await sleep(1_000); // the update has reached the operator's informer
    await op.idle();
    expect((await nodeConfig())?.rv).toBe(ready?.rv);
    // Marked Unknown (as the node lifecycle controller does): notReady: true, once.
    await setReady("Unknown", "2026-01-01T00:00:03Z");
    const notReady = await waitFor(
      "node-r's NodeConfig says notReady",
      async () => ((await nodeConfig())?.notReady === true ? nodeConfig() : undefined),
      15_000,
    );
    await setReady("Unknown", "2026-01-01T00:00:04Z");
    await sleep(1_000);
    await op.idle();
    expect((await nodeConfig())?.rv).toBe(notReady?.rv);
    // Ready again: the field is left out again.
    await setReady("True", "2026-01-01T00:00:05Z");
    await waitFor("node-r's NodeConfig ready again", async () => ((await nodeConfig())?.notReady === undefined ? true : undefined), 15_000);
  });

  test("a new Service costs one annotation patch and one status patch: no write repeated while the cache catches up", async () => {
    const kc = env.kc;
    await ensureNamespace(kc, "once");
    await pool(kc, "once", { addresses: ["192.168.60.0/24"], serviceAllocation: { priority: 1, namespaces: ["once"] } });
    await op.idle();
    const patches = (): number => kubeClientFor(opKc).snapshot().byVerb.PATCH.requests;
    const before = patches();
    const names = Array.from({ length: 10 }, (_, i) => `svc-${i}`);
    for (const name of names)
      await apply(
        kc,
        { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "once" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } },
        "services",
      );
    for (const name of names) await waitForIPs(kc, "once", name);
    // Let the cache catch up with every write (each write's echo is a Service event that re-converges it).
    await sleep(1_000);
    await op.idle();
    // Pool status patches are batched (at most one per 500 ms): allow a few.
    const servicePatches = patches() - before;
    expect(servicePatches).toBeGreaterThanOrEqual(2 * names.length);
    expect(servicePatches).toBeLessThanOrEqual(2 * names.length + 4);
  });

  test("the leader creates the speakers' heartbeat key Secret (32 random bytes)", async () => {
    const res = await waitFor(
      "Secret metallb-ts-l2-key",
      async () => {
        const r = await kubeRequest(env.kc, "GET", `/api/v1/namespaces/${METALLB_NS}/secrets/metallb-ts-l2-key`);
        return r.status === 200 ? r : undefined;
      },
      10_000,
    );
    const key = Buffer.from((res.body as { data: { secretkey: string } }).data.secretkey, "base64");
    expect(key.length).toBe(32);
  });

  test("unrelated objects are untouched by apply helpers", async () => {
    await apply(env.kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "apps" } }, "configmaps");
    expect(op.isLeader).toBe(true);
  });
});
