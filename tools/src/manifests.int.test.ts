// `kubectl apply --dry-run=server -f` of each all-in-one file against the real kube-apiserver: every object passes
// the server's schema validation, defaulting and admission (RBAC escalation checks included) without being stored.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { defaultBinDir } from "../../testenv/src/control-plane.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { ensureNamespace } from "../../testenv/src/objects.js";

const env = useControlPlane();
const kubectl = join(defaultBinDir(), "kubectl");

function runKubectl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(kubectl, ["--kubeconfig", env.cp.kubeconfigPath, ...args], { cwd: repoRoot(), maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

/**
 * Stand-ins for the Prometheus Operator's CRDs (not part of metallb-ts, not in our test cluster): same group, kinds
 * and scope, schema left open. They let the dry run check what is ours (apiVersion, kind, names, namespace), not the
 * Prometheus Operator's schema.
 */
function monitoringCrd(kind: string, plural: string): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: "monitoring.coreos.com",
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
    },
  };
}

beforeAll(async () => {
  // A server-side dry run does not create the Namespace, so the namespaced objects after it would not find it.
  await ensureNamespace(env.kc, "metallb-system");
}, 30_000);

describe("kubectl apply --dry-run=server of the all-in-one manifests", () => {
  test("kubectl is the pinned build", async () => {
    const v = await runKubectl(["version", "--client"]);
    expect(v.stdout).toContain("Client Version: v1.34.");
  });

  for (const file of ["metallb-ts-native.yaml", "metallb-ts-frr.yaml"]) {
    test(`${file}: every object accepted, nothing stored`, async () => {
      const res = await runKubectl(["apply", "--dry-run=server", "-f", `config/all-in-one/${file}`]);
      // The test cluster has the CRDs (and the Namespace) already, created without kubectl: kubectl warns about that.
      const problems = res.stderr
        .split("\n")
        .filter((l) => l !== "" && !/^Warning: resource \S+ is missing the kubectl.kubernetes.io\/last-applied-configuration annotation/.test(l));
      expect(problems).toEqual([]);
      expect(res.code).toBe(0);
      const lines = res.stdout.trim().split("\n");
      expect(lines.length).toBeGreaterThan(25);
      for (const l of lines) expect(l).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
      for (const obj of [
        "deployment.apps/metallb-ts-operator",
        "daemonset.apps/metallb-ts-speaker",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/metallb-webhook-configuration",
        "clusterrole.rbac.authorization.k8s.io/metallb-ts:operator",
      ]) {
        expect(lines.some((l) => l.startsWith(`${obj} `))).toBe(true);
      }
      expect((await kubeRequest(env.kc, "GET", "/apis/apps/v1/namespaces/metallb-system/deployments/metallb-ts-operator")).status).toBe(404);
    });
  }

  test("metallb-ts-prometheus.yaml (with stand-ins for the Prometheus Operator's CRDs)", async () => {
    for (const crd of [monitoringCrd("PrometheusRule", "prometheusrules"), monitoringCrd("ServiceMonitor", "servicemonitors")]) {
      const res = await kubeRequest(env.kc, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
      expect([201, 409]).toContain(res.status);
    }
    let res = await runKubectl(["apply", "--dry-run=server", "-f", "config/all-in-one/metallb-ts-prometheus.yaml"]);
    for (let i = 0; i < 50 && res.code !== 0 && /no matches for kind|ensure CRDs are installed/.test(res.stderr); i++) {
      await new Promise((r) => setTimeout(r, 200)); // the new CRDs become discoverable asynchronously
      res = await runKubectl(["apply", "--dry-run=server", "-f", "config/all-in-one/metallb-ts-prometheus.yaml"]);
    }
    expect(res.stderr).toBe("");
    expect(res.stdout.trim().split("\n").sort()).toEqual([
      "prometheusrule.monitoring.coreos.com/metallb-ts-rules created (server dry run)",
      "servicemonitor.monitoring.coreos.com/metallb-ts-operator-monitor created (server dry run)",
      "servicemonitor.monitoring.coreos.com/metallb-ts-speaker-monitor created (server dry run)",
    ]);
  });
});
