// The pooled client against the real apiserver: one TLS connection reused by many calls (seen by the kernel, not only
// by our own counter), the counters by verb, and paginated informer lists over more than one page.
import { describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import * as diagnostics from "node:diagnostics_channel";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestNamespace, useControlPlane } from "../../testenv/src/kube.js";
import { waitFor } from "../../testenv/src/proc.js";
import { resilientInformer } from "./informer.js";
import { Registry } from "prom-client";
import { kubeClientFor, registerKubeClientMetrics, WriteRefusedError } from "./kube-client.js";
import { inClusterConfig, kubeConfigFromFiles, LoadedKubeConfig, NODE_FILES } from "./kubeconfig.js";
import { kubeRequest } from "./kube-raw.js";
import { serviceAccountToken } from "../../testenv/src/rbac.js";
import { jsonLogger } from "./logger.js";

const env = useControlPlane();
const log = jsonLogger({ write: () => undefined });

/**
 * Distinct sockets that carried responses from the apiserver while `fn` ran, as Node's own http client reports them
 * (diagnostics channel), independently of the pool's counter.
 */
async function socketsUsed(port: number, fn: () => Promise<void>): Promise<number> {
  const sockets = new Set<unknown>();
  const onFinish = (msg: unknown): void => {
    const { request } = msg as { request: { socket?: { remotePort?: number } | null } };
    if (request.socket?.remotePort === port) sockets.add(request.socket);
  };
  diagnostics.subscribe("http.client.response.finish", onFinish);
  try {
    await fn();
  } finally {
    diagnostics.unsubscribe("http.client.response.finish", onFinish);
  }
  return sockets.size;
}

/** A KubeConfig of its own, so its client (and counters) is not shared with anything else in this file. */
const freshKc = (): k8s.KubeConfig => env.cp.kubeConfig();

describe("pooled Kubernetes client", () => {
  test("40 sequential calls through kubeRequest use one TLS connection (as Node's http client sees it)", async () => {
    const kc = freshKc();
    const port = Number(new URL(env.cp.info.server).port);
    const ns = await createTestNamespace(env.kc, "pool");
    const used = await socketsUsed(port, async () => {
      for (let i = 0; i < 20; i++) {
        expect((await kubeRequest(kc, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `c${i}` }, data: { i: String(i) } })).status).toBe(
          201,
        );
        expect((await kubeRequest(kc, "GET", `/api/v1/namespaces/${ns}/configmaps/c${i}`)).status).toBe(200);
      }
    });
    expect(used).toBe(1);
    const stats = kubeClientFor(kc).snapshot();
    expect(stats.connections).toBe(1);
    expect(stats.byVerb.POST.requests).toBe(20);
    expect(stats.byVerb.GET.requests).toBe(20);
    expect(stats.byVerb.POST.requestBytes).toBeGreaterThan(20 * 40);
    expect(stats.byVerb.GET.responseBytes).toBeGreaterThan(20 * 100);
    expect(stats.largestRequestBytes).toBeGreaterThan(40);
    // The same figures under the names the scale benchmark reads.
    const registry = new Registry();
    registerKubeClientMetrics(registry, kubeClientFor(kc));
    const text = await registry.metrics();
    expect(text).toContain('metallb_ts_k8s_client_requests_total{verb="POST"} 20');
    expect(text).toContain('metallb_ts_k8s_client_requests_total{verb="GET"} 20');
    expect(text).toContain(`metallb_ts_k8s_client_request_bytes_total{verb="POST"} ${stats.byVerb.POST.requestBytes}`);
    expect(text).toContain(`metallb_ts_k8s_client_response_bytes_total{verb="GET"} ${stats.byVerb.GET.responseBytes}`);
    expect(text).toContain(`metallb_ts_k8s_client_largest_request_bytes ${stats.largestRequestBytes}`);
    expect(text).toContain("metallb_ts_k8s_client_connections_total 1");
    kubeClientFor(kc).close();
  }, 60_000);

  test("concurrent calls open a few connections and then reuse them", async () => {
    const kc = freshKc();
    const ns = await createTestNamespace(env.kc, "pool-par");
    await Promise.all(Array.from({ length: 8 }, (_, i) => kubeRequest(kc, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `p${i}` } })));
    const afterBurst = kubeClientFor(kc).snapshot().connections;
    expect(afterBurst).toBeLessThanOrEqual(8);
    for (let round = 0; round < 5; round++)
      await Promise.all(Array.from({ length: 8 }, (_, i) => kubeRequest(kc, "GET", `/api/v1/namespaces/${ns}/configmaps/p${i}`)));
    expect(kubeClientFor(kc).snapshot().connections).toBe(afterBurst);
    expect(kubeClientFor(kc).snapshot().byVerb.GET.requests).toBe(40);
    kubeClientFor(kc).close();
  }, 60_000);

  test("write guards are consulted again when the connection is ready: a write refused there never reaches the API", async () => {
    const kc = freshKc();
    const ns = await createTestNamespace(env.kc, "guard");
    const client = kubeClientFor(kc);
    // Allows the early check, refuses at the moment the bytes would leave (on a brand-new connection: after the
    // TCP and TLS handshakes).
    let calls = 0;
    const remove = client.addWriteGuard(() => (++calls >= 2 ? "lapsed during the handshake" : undefined));
    await expect(kubeRequest(kc, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: "late" } })).rejects.toBeInstanceOf(WriteRefusedError);
    expect(calls).toBe(2);
    // Reads are never guarded; the refused write never reached the apiserver.
    expect((await kubeRequest(kc, "GET", `/api/v1/namespaces/${ns}/configmaps/late`)).status).toBe(404);
    // Refused at once, before any connection, when the guard says no from the start.
    calls = 10;
    await expect(kubeRequest(kc, "DELETE", `/api/v1/namespaces/${ns}`)).rejects.toThrow(/not sent: lapsed/);
    remove();
    expect((await kubeRequest(kc, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: "late" } })).status).toBe(201);
    const stats = client.snapshot();
    expect(stats.refusedWrites).toBe(2);
    expect(stats.byVerb.POST.requests).toBe(1);
    expect(stats.byVerb.DELETE.requests).toBe(0);
    client.close();
  }, 60_000);

  test("an informer over 1,234 ConfigMaps lists in pages of 500, then watches from the last page's resourceVersion on the same pool", async () => {
    const ns = await createTestNamespace(env.kc, "pages");
    const writer = freshKc();
    const names = Array.from({ length: 1234 }, (_, i) => `cm-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < names.length; i += 16) {
      const batch = names.slice(i, i + 16);
      const res = await Promise.all(batch.map((name) => kubeRequest(writer, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name } })));
      expect(res.map((r) => r.status).filter((s) => s !== 201)).toEqual([]);
    }
    kubeClientFor(writer).close();

    const kc = freshKc();
    const inf = resilientInformer<k8s.V1ConfigMap>(kc, `/api/v1/namespaces/${ns}/configmaps`, log);
    const added: string[] = [];
    inf.on("add", (o) => added.push(o.metadata?.name ?? ""));
    try {
      await inf.start();
      await inf.synced;
      expect(inf.cache.list().length).toBe(1234);
      const stats = kubeClientFor(kc).snapshot();
      expect(stats.byVerb.LIST.requests).toBe(3);
      expect(stats.byVerb.GET.requests).toBe(0);
      // Created after the list: the watch (started at the final page's resourceVersion) delivers it.
      expect((await kubeRequest(env.kc, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: "after-list" } })).status).toBe(201);
      await waitFor(
        "the watch delivers the ConfigMap created after the list",
        () => (inf.cache.get("after-list", ns) !== undefined ? true : undefined),
        10_000,
      );
      expect(added.filter((n) => n === "after-list")).toHaveLength(1);
      const after = kubeClientFor(kc).snapshot();
      expect(after.byVerb.WATCH.requests).toBe(1);
      // The pages ran one after the other on one connection; the watch took it over (or opened at most one more).
      expect(after.connections).toBeLessThanOrEqual(2);
    } finally {
      await inf.stop();
      kubeClientFor(kc).close();
    }
  }, 180_000);
});

describe("our own kubeconfig loading and informers against the real apiserver", () => {
  /** Who the apiserver thinks we are. */
  const whoAmI = async (kc: LoadedKubeConfig): Promise<string | undefined> => {
    const res = await kubeRequest(kc, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
    });
    expect(res.status).toBe(201);
    return (res.body as { status?: { userInfo?: { username?: string } } }).status?.userInfo?.username;
  };

  test("the admin kubeconfig file (client certificate and key, CA) authenticates", async () => {
    const kc = kubeConfigFromFiles([env.cp.kubeconfigPath]);
    expect(kc.getCurrentCluster().server).toBe(env.cp.info.server);
    expect(await whoAmI(kc)).toBeDefined();
    expect((await kubeRequest(kc, "GET", "/api/v1/namespaces/default")).status).toBe(200);
    kubeClientFor(kc).close();
  }, 60_000);

  test("in-cluster: the ServiceAccount token file and CA, re-read when the token rotates", async () => {
    const ns = await createTestNamespace(env.kc, "incluster");
    for (const sa of ["first", "second"]) {
      expect((await kubeRequest(env.kc, "POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } })).status).toBe(201);
    }
    const dir = mkdtempSync(join(tmpdir(), "sa-"));
    try {
      const admin = kubeConfigFromFiles([env.cp.kubeconfigPath]);
      const ca = admin.credentials.ca;
      writeFileSync(join(dir, "ca.crt"), ca !== undefined && "data" in ca ? ca.data : readFileSync(ca !== undefined && "file" in ca ? ca.file : ""));
      writeFileSync(join(dir, "token"), await serviceAccountToken(env.kc, ns, "first", 3600));
      writeFileSync(join(dir, "namespace"), ns);
      const url = new URL(env.cp.info.server);
      const loaded = inClusterConfig({ KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, { serviceAccountDir: dir });
      expect(loaded.credentials.namespace).toBe(ns);
      let now = Date.now();
      const kc = new LoadedKubeConfig(loaded.credentials, NODE_FILES, () => now);
      expect(await whoAmI(kc)).toBe(`system:serviceaccount:${ns}:first`);
      // The kubelet rotates the projected token in place; the next read after a minute picks it up.
      writeFileSync(join(dir, "token"), await serviceAccountToken(env.kc, ns, "second", 3600));
      expect(await whoAmI(kc)).toBe(`system:serviceaccount:${ns}:first`);
      now += 61_000;
      expect(await whoAmI(kc)).toBe(`system:serviceaccount:${ns}:second`);
      kubeClientFor(kc).close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("an informer sees add, update and delete; a watch the server ends is resumed from its resourceVersion without a new list", async () => {
    const ns = await createTestNamespace(env.kc, "inf");
    const kc = kubeConfigFromFiles([env.cp.kubeconfigPath]);
    const inf = resilientInformer<k8s.V1ConfigMap>(kc, `/api/v1/namespaces/${ns}/configmaps`, log, { watchTimeoutSeconds: 1 });
    const seen: string[] = [];
    for (const verb of ["add", "update", "delete"] as const) inf.on(verb, (o) => seen.push(`${verb} ${o.metadata?.name ?? ""} ${o.data?.v ?? ""}`));
    const post = (name: string): Promise<unknown> =>
      kubeRequest(env.kc, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name }, data: { v: "1" } });
    try {
      await post("before");
      await inf.start();
      await inf.synced;
      expect(seen).toEqual(["add before 1"]);
      // Ingested objects carry no managedFields (the apiserver sends them).
      expect(inf.cache.get("before", ns)?.metadata?.managedFields).toBeUndefined();
      expect(inf.cache.get("before", ns)?.metadata?.resourceVersion).toBeDefined();
      // The 1 s watches end; events after a few of them still arrive.
      await new Promise((r) => setTimeout(r, 2_500));
      await post("a");
      const patch = await kubeRequest(env.kc, "PATCH", `/api/v1/namespaces/${ns}/configmaps/a`, { data: { v: "2" } }, "application/merge-patch+json");
      expect(patch.status).toBe(200);
      expect((await kubeRequest(env.kc, "DELETE", `/api/v1/namespaces/${ns}/configmaps/before`)).status).toBe(200);
      await waitFor("the watch delivers the delete", () => (seen.includes("delete before 1") ? true : undefined), 10_000);
      expect(seen).toEqual(["add before 1", "add a 1", "update a 2", "delete before 1"]);
      const stats = kubeClientFor(kc).snapshot();
      expect(stats.byVerb.LIST.requests).toBe(1);
      expect(stats.byVerb.WATCH.requests).toBeGreaterThanOrEqual(2);
    } finally {
      await inf.stop();
      kubeClientFor(kc).close();
    }
  }, 60_000);
});
