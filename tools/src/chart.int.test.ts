// The Helm chart (charts/metallb-ts) with the pinned helm built from Go modules (npm run build:helm): it lints, and
// rendered with its default values it is the all-in-one file of each mode (modulo order and Helm's labels), so the
// two install paths cannot drift; the values users reach for change what they should and nothing else; the rendered
// objects pass the real apiserver's validation (kubectl apply --dry-run=server).
import { beforeAll, describe, expect, test } from "@jest/globals";
import yaml from "js-yaml";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBinDir } from "../../testenv/src/control-plane.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { ensureNamespace } from "../../testenv/src/objects.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { CHART_DIR } from "./chart.js";

const root = repoRoot();
const helm = join(defaultBinDir(), "helm");
const kubectl = join(defaultBinDir(), "kubectl");
const env = useControlPlane();

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
const HELM_LABELS = ["helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"];

function run(bin: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: root, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

async function template(namespace: string, sets: readonly string[] = []): Promise<Doc[]> {
  const res = await run(helm, ["template", "mt", CHART_DIR, "--namespace", namespace, ...sets.flatMap((s) => ["--set", s])]);
  expect({ stderr: res.stderr, code: res.code }).toEqual({ stderr: "", code: 0 });
  return (yaml.loadAll(res.stdout) as Array<Doc | null>).filter((d): d is Doc => d !== null);
}

/** Without Helm's labels (and its `# Source:` comments, gone with the YAML parse), sorted by kind and name. */
function normalized(docs: readonly Doc[]): Doc[] {
  return docs
    .map((d) => {
      const labels = Object.fromEntries(Object.entries(d.metadata.labels ?? {}).filter(([k]) => !HELM_LABELS.includes(k)));
      const { labels: _l, ...meta } = d.metadata;
      return { ...d, metadata: Object.keys(labels).length > 0 ? { ...meta, labels } : meta };
    })
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

const allInOne = (file: string): Doc[] =>
  (yaml.loadAll(readFileSync(join(root, "config/all-in-one", file), "utf8")) as Array<Doc | null>).filter(
    (d): d is Doc => d !== null && d.kind !== "Namespace",
  );

const podSpec = (d: Doc | undefined): { containers: Array<{ name: string; image: string; args?: string[]; resources?: unknown }>; [k: string]: unknown } =>
  (d?.["spec"] as { template: { spec: ReturnType<typeof podSpec> } }).template.spec;
const byKind = (docs: readonly Doc[], kind: string): Doc | undefined => docs.find((d) => d.kind === kind);

beforeAll(() => {
  if (!existsSync(helm)) throw new Error(`no helm at ${helm}: run npm run build:helm (scripts/build-helm.sh)`);
});

describe("Helm chart charts/metallb-ts", () => {
  test("helm is the pinned build; helm lint passes in both modes", async () => {
    expect((await run(helm, ["version", "--short"])).stdout).toMatch(/^v3\./);
    for (const sets of [[], ["--set", "frr.enabled=false"], ["--set", "prometheus.serviceMonitor.enabled=true,prometheus.prometheusRule.enabled=true"]]) {
      const res = await run(helm, ["lint", "--strict", CHART_DIR, ...sets]);
      expect({ sets, code: res.code, out: res.stdout.includes("1 chart(s) linted, 0 chart(s) failed") }).toEqual({ sets, code: 0, out: true });
    }
  });

  test.each([
    ["frr", [], "metallb-ts-frr.yaml"],
    ["native", ["frr.enabled=false"], "metallb-ts-native.yaml"],
  ])("default values (%s) render the all-in-one file, modulo order and Helm's labels", async (_mode, sets, file) => {
    const rendered = await template("metallb-system", sets);
    for (const d of rendered) expect([d.kind, d.metadata.name, d.metadata.labels?.["app.kubernetes.io/managed-by"]]).toEqual([d.kind, d.metadata.name, "Helm"]);
    expect(normalized(rendered)).toEqual(normalized(allInOne(file)));
  });

  test("prometheus values render metallb-ts-prometheus.yaml; crds.enabled=false leaves the CRDs out", async () => {
    const rendered = await template("metallb-system", [
      "prometheus.serviceMonitor.enabled=true",
      "prometheus.prometheusRule.enabled=true",
      "crds.enabled=false",
    ]);
    const monitoring = rendered.filter((d) => d.apiVersion.startsWith("monitoring.coreos.com/"));
    expect(normalized(monitoring)).toEqual(normalized(allInOne("metallb-ts-prometheus.yaml")));
    expect(rendered.filter((d) => d.kind === "CustomResourceDefinition")).toEqual([]);
    expect(rendered.length).toBe(allInOne("metallb-ts-frr.yaml").filter((d) => d.kind !== "CustomResourceDefinition").length + monitoring.length);
  });

  test("overrides: namespace, images, log level, replicas, resources, speaker tolerations and nodeSelector", async () => {
    const valuesDir = mkdtempSync(join(tmpdir(), "mt-chart-"));
    try {
      const values = join(valuesDir, "values.yaml");
      writeFileSync(
        values,
        yaml.dump({
          logLevel: "debug",
          operator: { image: { repository: "registry.example:5000/lb/operator", tag: "dev-1", pullPolicy: "Always" }, replicas: 3 },
          speaker: {
            image: { repository: "registry.example:5000/lb/speaker", tag: "dev-2" },
            tolerations: [{ operator: "Exists" }],
            nodeSelector: { "lb.example/speaker": "yes" },
            resources: { limits: { memory: "1Gi" } },
            frr: { resources: null },
          },
          prometheus: { serviceMonitor: { enabled: true } },
        }),
      );
      const res = await run(helm, ["template", "mt", CHART_DIR, "--namespace", "lb", "--values", values]);
      expect(res.code).toBe(0);
      const docs = (yaml.loadAll(res.stdout) as Array<Doc | null>).filter((d): d is Doc => d !== null);
      const op = podSpec(byKind(docs, "Deployment"));
      const sp = podSpec(byKind(docs, "DaemonSet"));
      expect(op.containers[0]?.image).toBe("registry.example:5000/lb/operator:dev-1");
      expect((op.containers[0] as unknown as { imagePullPolicy: string }).imagePullPolicy).toBe("Always");
      expect(op.containers[0]?.args).toContain("--log-level=debug");
      expect((byKind(docs, "Deployment")?.["spec"] as { replicas: number }).replicas).toBe(3);
      expect(sp.containers.map((c) => [c.name, c.image])).toEqual([
        ["speaker", "registry.example:5000/lb/speaker:dev-2"],
        ["frr", "registry.example:5000/lb/speaker:dev-2"],
      ]);
      expect(sp.containers[0]?.args).toContain("--log-level=debug");
      expect(sp["tolerations"]).toEqual([{ operator: "Exists" }]);
      // Helm merges maps with the defaults (a user removes a default key with `key: null`).
      expect(sp["nodeSelector"]).toEqual({ "kubernetes.io/os": "linux", "lb.example/speaker": "yes" });
      expect(sp.containers[0]?.resources).toEqual({ requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "1Gi" } });
      expect(sp.containers[1]?.resources).toBeUndefined();
      // Every namespaced object and every reference to the install namespace follows the release.
      const text = res.stdout;
      expect(text).not.toContain("metallb-system");
      for (const d of docs.filter((x) => x.metadata.namespace !== undefined)) expect([d.kind, d.metadata.namespace]).toEqual([d.kind, "lb"]);
      const vwc = byKind(docs, "ValidatingWebhookConfiguration") as unknown as { webhooks: Array<{ clientConfig: { service: { namespace: string } } }> };
      for (const w of vwc.webhooks) expect(w.clientConfig.service.namespace).toBe("lb");
      const bgppeer = docs.find((d) => d.metadata.name === "bgppeers.metallb.io") as unknown as {
        spec: { conversion: { webhook: { clientConfig: { service: { namespace: string } } } } };
      };
      expect(bgppeer.spec.conversion.webhook.clientConfig.service.namespace).toBe("lb");
      const bindings = docs.filter((d) => d.kind === "ClusterRoleBinding" || d.kind === "RoleBinding") as unknown as Array<{
        subjects: Array<{ namespace: string }>;
      }>;
      expect(bindings.length).toBeGreaterThan(1);
      for (const b of bindings) for (const s of b.subjects) expect(s.namespace).toBe("lb");
    } finally {
      rmSync(valuesDir, { recursive: true, force: true });
    }
  });

  test("the rendered chart passes kubectl apply --dry-run=server against the real apiserver, in its release namespace", async () => {
    await ensureNamespace(env.kc, "lb-chart");
    const res = await run(helm, ["template", "mt", CHART_DIR, "--namespace", "lb-chart", "--set", "crds.enabled=false"]);
    expect(res.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "mt-chart-"));
    try {
      writeFileSync(join(dir, "chart.yaml"), res.stdout);
      const applied = await run(kubectl, ["--kubeconfig", env.cp.kubeconfigPath, "apply", "--dry-run=server", "-f", join(dir, "chart.yaml")]);
      expect(applied.stderr).toBe("");
      expect(applied.code).toBe(0);
      const lines = applied.stdout.trim().split("\n");
      expect(lines.length).toBeGreaterThan(15);
      for (const l of lines) expect(l).toMatch(/ created \(server dry run\)$/);
      expect(lines).toContain("daemonset.apps/metallb-ts-speaker created (server dry run)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
