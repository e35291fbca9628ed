// The install manifests: generated files up to date, and the pieces consistent with each other and with the code
// (flags the binaries accept, ServiceAccounts, webhook Service and paths, metrics the alerts use).
import { describe, expect, test } from "@jest/globals";
import yaml from "js-yaml";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { registerOperatorMetrics } from "../../operator/src/metrics.js";
import { parseOperatorSettings } from "../../operator/src/settings.js";
import { registerSpeakerMetrics } from "../../speaker/src/metrics.js";
import { parseSpeakerSettings } from "../../speaker/src/settings.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { generatedChart } from "./chart.js";
import { generatedManifests } from "./manifests.js";

const root = repoRoot();
const read = (p: string): string => readFileSync(join(root, p), "utf8");
type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
const load = (p: string): Doc[] => (yaml.loadAll(read(p)) as Doc[]).filter((d) => d !== null);
interface PodSpec {
  serviceAccountName?: string;
  containers: Array<{ name: string; command?: string[]; args?: string[]; ports?: Array<{ name: string; containerPort: number }> }>;
  initContainers?: unknown[];
  volumes?: unknown[];
}
const podSpec = (d: Doc): PodSpec => (d["spec"] as { template: { spec: PodSpec } }).template.spec;

describe("generated manifests", () => {
  test("the committed files (all-in-one and Helm chart) are what `npm run gen:manifests` writes", () => {
    for (const [path, text] of [...generatedManifests(read), ...generatedChart(read)]) {
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(join(root, path), text);
      expect({ path, text: read(path) }).toEqual({ path, text });
    }
  });

  test("every namespaced object of the all-in-one files is in metallb-system; the modes differ only in the speaker", () => {
    for (const mode of ["native", "frr"]) {
      const all = load(`config/all-in-one/metallb-ts-${mode}.yaml`);
      const clusterScoped = new Set(["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration"]);
      for (const d of all)
        expect({ kind: d.kind, name: d.metadata.name, ns: clusterScoped.has(d.kind) ? undefined : d.metadata.namespace }).toEqual({
          kind: d.kind,
          name: d.metadata.name,
          ns: clusterScoped.has(d.kind) ? undefined : "metallb-system",
        });
      expect(all[0]?.kind).toBe("Namespace");
      expect(all.filter((d) => d.kind === "CustomResourceDefinition")).toHaveLength(11);
    }
    const native = load("config/all-in-one/metallb-ts-native.yaml");
    const ds = native.find((d) => d.kind === "DaemonSet");
    expect(ds).toBeDefined();
    const spec = podSpec(ds as Doc);
    expect(spec.containers.map((c) => c.name)).toEqual(["speaker"]);
    expect(spec.containers[0]?.args).toContain("--disable-bgp");
    expect(spec.initContainers).toBeUndefined();
    expect(spec.volumes).toEqual([{ name: "speaker-tmp", emptyDir: {} }]);
    expect(native.some((d) => d.kind === "ConfigMap")).toBe(false);
    const frr = podSpec(load("config/all-in-one/metallb-ts-frr.yaml").find((d) => d.kind === "DaemonSet") as Doc);
    expect(frr.containers.map((c) => c.name)).toEqual(["speaker", "frr"]);
  });

  test("the BGPPeer CRD converts through the webhook Service in the all-in-one files", () => {
    const crd = load("config/all-in-one/metallb-ts-frr.yaml").find((d) => d.metadata.name === "bgppeers.metallb.io") as Doc;
    expect((crd["spec"] as { conversion: unknown }).conversion).toEqual({
      strategy: "Webhook",
      webhook: {
        conversionReviewVersions: ["v1"],
        clientConfig: { service: { name: "metallb-webhook-service", namespace: "metallb-system", path: "/convert", port: 443 } },
      },
    });
  });
});

describe("the pieces agree with each other and with the code", () => {
  const all = load("config/all-in-one/metallb-ts-frr.yaml");
  const deployment = all.find((d) => d.kind === "Deployment" && d.metadata.name === "metallb-ts-operator") as Doc;
  const daemonSet = all.find((d) => d.kind === "DaemonSet") as Doc;

  test("the operator's arguments are accepted by its flag parser", () => {
    const args = podSpec(deployment).containers[0]?.args ?? [];
    const parsed = parseOperatorSettings(args, { METALLB_NAMESPACE: "metallb-system", POD_NAME: "metallb-ts-operator-0" }, "host", 1);
    expect(parsed.ok).toBe(true);
    if (parsed.ok)
      expect(parsed.settings.webhook).toEqual({
        enabled: true,
        port: 9443,
        certDir: "/tmp/k8s-webhook-server/serving-certs",
        serviceName: "metallb-webhook-service",
        certSource: "generated",
      });
  });

  test("the speakers' arguments in the DaemonSets are accepted by the speaker's flag parser", () => {
    for (const path of ["config/all-in-one/metallb-ts-frr.yaml", "config/all-in-one/metallb-ts-native.yaml"]) {
      const ds = load(path).find((d) => d.kind === "DaemonSet") as Doc;
      const args = podSpec(ds).containers.find((c) => c.name === "speaker")?.args ?? [];
      expect(args.length).toBeGreaterThan(0);
      const parsed = parseSpeakerSettings(args, { METALLB_NODE_NAME: "node-1" });
      expect({ path, error: parsed.ok ? undefined : parsed.error }).toEqual({ path, error: undefined });
    }
  });

  test("workloads run as the ServiceAccounts the RBAC binds", () => {
    const accounts = new Set(all.filter((d) => d.kind === "ServiceAccount").map((d) => d.metadata.name));
    expect([...accounts].sort()).toEqual(["metallb-ts-operator", "metallb-ts-speaker"]);
    expect(podSpec(deployment).serviceAccountName).toBe("metallb-ts-operator");
    expect(podSpec(daemonSet).serviceAccountName).toBe("metallb-ts-speaker");
    for (const b of all.filter((d) => d.kind === "RoleBinding" || d.kind === "ClusterRoleBinding")) {
      const subjects = b["subjects"] as Array<{ name: string }>;
      const roleRef = b["roleRef"] as { kind: string; name: string };
      expect(subjects.every((s) => accounts.has(s.name))).toBe(true);
      expect(all.some((d) => d.kind === roleRef.kind && d.metadata.name === roleRef.name)).toBe(true);
    }
  });

  test("the webhook Service reaches the operator's webhook port; the operator may patch exactly the objects it injects into", () => {
    const vwc = all.find((d) => d.kind === "ValidatingWebhookConfiguration") as Doc;
    const services = new Set((vwc["webhooks"] as Array<{ clientConfig: { service: { name: string } } }>).map((w) => w.clientConfig.service.name));
    expect([...services]).toEqual(["metallb-webhook-service"]);
    const svc = all.find((d) => d.kind === "Service" && d.metadata.name === "metallb-webhook-service") as Doc;
    const target = (svc["spec"] as { ports: Array<{ targetPort: string }> }).ports[0]?.targetPort;
    expect(podSpec(deployment).containers[0]?.ports?.find((p) => p.name === target)?.containerPort).toBe(9443);
    const rules = (all.find((d) => d.kind === "ClusterRole" && d.metadata.name === "metallb-ts:operator")?.["rules"] ?? []) as Array<{
      resources: string[];
      resourceNames?: string[];
    }>;
    expect(rules.find((r) => r.resources.includes("validatingwebhookconfigurations"))?.resourceNames).toEqual([vwc.metadata.name]);
    expect(rules.find((r) => r.resources.includes("customresourcedefinitions"))?.resourceNames).toEqual(["bgppeers.metallb.io"]);
  });

  test("every metric the alerts use is exported by the operator or the speaker", async () => {
    const registry = new Registry();
    registerOperatorMetrics(registry, () => []);
    const speaker = new Registry();
    registerSpeakerMetrics(speaker, { sessions: () => [], bfdPeers: () => [] });
    const exported = new Set([...(await registry.getMetricsAsJSON()), ...(await speaker.getMetricsAsJSON())].map((m) => m.name));
    const rule = load("config/prometheus/prometheus-rules.yaml")[0] as Doc;
    const alerts = (rule["spec"] as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual([
      "MetalLBStaleConfig",
      "MetalLBConfigNotLoaded",
      "MetalLBAddressPoolExhausted",
      "MetalLBAddressPoolUsage75thresholdReached",
      "MetalLBAddressPoolUsage85thresholdReached",
      "MetalLBAddressPoolUsage95thresholdReached",
      "MetalLBBGPSessionDown",
    ]);
    for (const a of alerts) {
      const metrics = a.expr.match(/metallb_[a-z0-9_]+/g) ?? [];
      expect(metrics.length).toBeGreaterThan(0);
      for (const m of metrics) expect({ alert: a.alert, metric: m, exported: exported.has(m) }).toEqual({ alert: a.alert, metric: m, exported: true });
    }
  });
});
