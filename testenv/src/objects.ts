// Test helpers against a real apiserver (integration and e2e tests, the demo, the benchmarks): create objects, read
// Services, wait for IPs and Events. Lives in testenv/ because product code never uses it.
import type * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { repoRoot } from "./repo-root.js";
import { waitFor } from "./proc.js";

export const METALLB_NS = "metallb-system";

export interface SvcSpec {
  ports?: Array<{ port: number; protocol?: string }>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  loadBalancerClass?: string;
  loadBalancerIP?: string;
  ipFamilyPolicy?: string;
  ipFamilies?: string[];
  type?: string;
}

/** Any Kubernetes object as the tests write it: the identifying fields typed, the rest (spec, data, ...) free. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export async function apply(kc: k8s.KubeConfig, obj: KubeObject, plural: string): Promise<void> {
  const ns = obj.metadata.namespace;
  const base = obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const path = ns === undefined ? `${base}/${plural}` : `${base}/namespaces/${ns}/${plural}`;
  const res = await kubeRequest(kc, "POST", path, obj);
  if (res.status === 409) {
    const cur = await kubeRequest(kc, "GET", `${path}/${obj.metadata.name}`);
    const rv = (cur.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const put = await kubeRequest(kc, "PUT", `${path}/${obj.metadata.name}`, { ...obj, metadata: { ...obj.metadata, resourceVersion: rv } });
    if (put.status >= 300) throw new Error(`replace ${obj.kind}/${obj.metadata.name}: ${statusMessage(put)}`);
    return;
  }
  if (res.status >= 300) throw new Error(`create ${obj.kind}/${obj.metadata.name}: ${statusMessage(res)}`);
}

export async function ensureNamespace(kc: k8s.KubeConfig, name: string, labels: Record<string, string> = {}): Promise<void> {
  await apply(kc, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }, "namespaces");
}

export async function pool(kc: k8s.KubeConfig, name: string, spec: Record<string, unknown>): Promise<void> {
  await applyMetallb(kc, "IPAddressPool", name, spec);
}

/** The storage version and resource of each metallb.io kind the tests create. */
const METALLB_KINDS = {
  IPAddressPool: { version: "v1beta1", resource: "ipaddresspools" },
  L2Advertisement: { version: "v1beta1", resource: "l2advertisements" },
  BGPAdvertisement: { version: "v1beta1", resource: "bgpadvertisements" },
  BGPPeer: { version: "v1beta2", resource: "bgppeers" },
  BFDProfile: { version: "v1beta1", resource: "bfdprofiles" },
} as const;

/** Creates or replaces a metallb.io object (storage version) in the MetalLB namespace. */
export async function applyMetallb(kc: k8s.KubeConfig, kind: keyof typeof METALLB_KINDS, name: string, spec: Record<string, unknown>): Promise<void> {
  const { version, resource } = METALLB_KINDS[kind];
  await apply(kc, { apiVersion: `metallb.io/${version}`, kind, metadata: { name, namespace: METALLB_NS }, spec }, resource);
}

/** A kubernetes.io/basic-auth Secret holding a BGP password, in the MetalLB namespace. */
export async function passwordSecret(kc: k8s.KubeConfig, name: string, password: string): Promise<void> {
  await apply(
    kc,
    { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: METALLB_NS }, type: "kubernetes.io/basic-auth", stringData: { password } },
    "secrets",
  );
}

/** Namespace "apps" and pool "public" (10.200.0.0/24) with a BGPAdvertisement of it: how the BGP e2e suites start. */
export async function appsWithAdvertisedPublicPool(kc: k8s.KubeConfig): Promise<void> {
  await ensureNamespace(kc, "apps");
  await pool(kc, "public", { addresses: ["10.200.0.0/24"] });
  await apply(
    kc,
    { apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: { name: "public", namespace: METALLB_NS }, spec: { ipAddressPools: ["public"] } },
    "bgpadvertisements",
  );
}

export async function createService(kc: k8s.KubeConfig, ns: string, name: string, s: SvcSpec = {}): Promise<void> {
  const body = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns, annotations: s.annotations ?? {}, labels: s.labels ?? {} },
    spec: {
      type: s.type ?? "LoadBalancer",
      selector: { app: name },
      ports: (s.ports ?? [{ port: 80 }]).map((p) => ({
        port: p.port,
        protocol: p.protocol ?? "TCP",
        name: `p${p.port}-${(p.protocol ?? "TCP").toLowerCase()}`,
      })),
      ...(s.loadBalancerClass !== undefined ? { loadBalancerClass: s.loadBalancerClass } : {}),
      ...(s.loadBalancerIP !== undefined ? { loadBalancerIP: s.loadBalancerIP } : {}),
      ...(s.ipFamilyPolicy !== undefined ? { ipFamilyPolicy: s.ipFamilyPolicy } : {}),
      ...(s.ipFamilies !== undefined ? { ipFamilies: s.ipFamilies } : {}),
    },
  };
  const res = await kubeRequest(kc, "POST", `/api/v1/namespaces/${ns}/services`, body);
  if (res.status >= 300) throw new Error(`create service ${ns}/${name}: ${statusMessage(res)}`);
}

export async function deleteService(kc: k8s.KubeConfig, ns: string, name: string): Promise<void> {
  await kubeRequest(kc, "DELETE", `/api/v1/namespaces/${ns}/services/${name}`);
}

export interface ServiceState {
  ips: string[];
  pool: string | undefined;
}

/** name → LoadBalancer IPs of every Service in a namespace (empty when none yet). */
export async function serviceIPs(kc: k8s.KubeConfig, ns: string): Promise<Map<string, string[]>> {
  const res = await kubeRequest(kc, "GET", `/api/v1/namespaces/${ns}/services`);
  const items = (res.body as { items: Array<{ metadata: { name: string }; status?: { loadBalancer?: { ingress?: Array<{ ip: string }> } } }> }).items;
  return new Map(items.map((s) => [s.metadata.name, (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip)]));
}

/** The Services of serviceIPs that hold IPs, as name → "ip[,ip]". */
export function assignedIPs(m: ReadonlyMap<string, readonly string[]>): Map<string, string> {
  return new Map([...m].filter(([, ips]) => ips.length > 0).map(([k, ips]) => [k, ips.join(",")]));
}

/** Waits until `count` Services of `ns` hold IPs and none changed for `quietMs`: name → IPs (assignedIPs). */
export async function settledIPs(kc: k8s.KubeConfig, ns: string, count: number, opts: { quietMs: number; timeoutMs: number }): Promise<Map<string, string>> {
  let last = "";
  let since = Date.now();
  return waitFor(
    `${count} Services with IPs in ${ns}, stable`,
    async () => {
      const a = assignedIPs(await serviceIPs(kc, ns));
      const text = JSON.stringify([...a].sort());
      if (text !== last) {
        last = text;
        since = Date.now();
        return undefined;
      }
      return a.size === count && Date.now() - since >= opts.quietMs ? a : undefined;
    },
    opts.timeoutMs,
    200,
  );
}

export async function serviceState(kc: k8s.KubeConfig, ns: string, name: string): Promise<ServiceState> {
  const res = await kubeRequest(kc, "GET", `/api/v1/namespaces/${ns}/services/${name}`);
  const o = res.body as { metadata: { annotations?: Record<string, string> }; status?: { loadBalancer?: { ingress?: Array<{ ip: string }> } } };
  return { ips: (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip), pool: o.metadata.annotations?.["metallb.io/ip-allocated-from-pool"] };
}

export async function waitForIPs(kc: k8s.KubeConfig, ns: string, name: string, timeoutMs = 20_000): Promise<ServiceState> {
  return waitFor(
    `IPs on ${ns}/${name}`,
    async () => {
      const s = await serviceState(kc, ns, name);
      return s.ips.length > 0 ? s : undefined;
    },
    timeoutMs,
  );
}

export async function eventsFor(kc: k8s.KubeConfig, ns: string, kind: string, name: string): Promise<Array<{ reason: string; message: string; type: string }>> {
  const res = await kubeRequest(
    kc,
    "GET",
    `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.kind=${kind},involvedObject.name=${name}`)}`,
  );
  return ((res.body as { items?: Array<{ reason: string; message: string; type: string }> }).items ?? []).map((e) => ({
    reason: e.reason,
    message: e.message,
    type: e.type,
  }));
}

export async function waitForEvent(kc: k8s.KubeConfig, ns: string, kind: string, name: string, reason: string): Promise<{ message: string; type: string }> {
  return waitFor(`event ${reason} on ${kind} ${ns}/${name}`, async () => (await eventsFor(kc, ns, kind, name)).find((e) => e.reason === reason), 20_000);
}

/**
 * Plays Kubernetes' EndpointSlice controller for a Service (there is no controller-manager in the test control
 * plane): one slice with a ready endpoint on each given node.
 */
export async function createEndpointSlice(kc: k8s.KubeConfig, ns: string, service: string, nodes: readonly string[]): Promise<void> {
  await apply(
    kc,
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${service}-1`, namespace: ns, labels: { "kubernetes.io/service-name": service } },
      addressType: "IPv4",
      endpoints: nodes.map((n, i) => ({ addresses: [`10.244.${i}.10`], nodeName: n, conditions: { ready: true } })),
      ports: [{ port: 80, protocol: "TCP" }],
    },
    "endpointslices",
  );
}

/**
 * config/webhook/manifests.yaml's ValidatingWebhookConfiguration pointed at a webhook server on 127.0.0.1:`port`
 * (url instead of the Service; no caBundle: the operator injects it), and the BGPPeer CRD conversion for the same server.
 */
export function localWebhookConfiguration(port: number): Record<string, unknown> {
  const manifest = yaml.load(readFileSync(join(repoRoot(), "config/webhook/manifests.yaml"), "utf8")) as Record<string, unknown>;
  const webhooks = (manifest["webhooks"] as Array<Record<string, unknown>>).map((w) => {
    const svc = (w["clientConfig"] as { service: { path: string } }).service;
    return { ...w, clientConfig: { url: `https://127.0.0.1:${port}${svc.path}` } };
  });
  return { ...manifest, webhooks };
}

export function localConversion(port: number): Record<string, unknown> {
  return { strategy: "Webhook", webhook: { conversionReviewVersions: ["v1"], clientConfig: { url: `https://127.0.0.1:${port}/convert` } } };
}
