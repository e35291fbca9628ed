// The manifests' RBAC (config/rbac/*.yaml) installed on a test apiserver, and kubeconfigs that authenticate as the
// operator's and the speaker's ServiceAccounts (bound tokens from the TokenRequest API). Tests and labs run the
// components with these, as in a cluster: a permission missing from the manifests fails them.
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { apply } from "./objects.js";
import { repoRoot } from "./repo-root.js";

export type ComponentName = "operator" | "speaker";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
  rules?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

const PLURALS: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
  Role: "roles",
  RoleBinding: "rolebindings",
};

/** The ServiceAccount a component runs as in the manifests. */
export const SERVICE_ACCOUNTS: Record<ComponentName, string> = { operator: "metallb-ts-operator", speaker: "metallb-ts-speaker" };

/** Every object of config/rbac/<file>.yaml, moved to `namespace` (the manifests say metallb-system). */
export function rbacManifests(file: ComponentName | "operator-speaker-workload", namespace: string): Manifest[] {
  const docs = yaml.loadAll(readFileSync(join(repoRoot(), "config", "rbac", `${file}.yaml`), "utf8")) as Manifest[];
  return docs
    .filter((d) => d !== null && typeof d === "object")
    .map((d) => {
      const out: Manifest = { ...d, metadata: { ...d.metadata } };
      if (d.metadata.namespace !== undefined) out.metadata.namespace = namespace;
      if (d.subjects !== undefined) out.subjects = d.subjects.map((s) => (s.namespace === undefined ? s : { ...s, namespace }));
      return out;
    });
}

/** Creates the objects, or replaces them when they exist (labs may share an apiserver with a previous run). */
export async function applyManifests(kc: k8s.KubeConfig, objects: readonly Manifest[]): Promise<void> {
  for (const o of objects) {
    const plural = PLURALS[o.kind];
    if (plural === undefined) throw new Error(`config/rbac: unexpected kind ${o.kind} (${o.metadata.name})`);
    await apply(kc, o, plural);
  }
}

/** A bound token of the ServiceAccount (TokenRequest API), valid for `seconds`. */
export async function serviceAccountToken(kc: k8s.KubeConfig, namespace: string, serviceAccount: string, seconds = 24 * 3600): Promise<string> {
  const res = await kubeRequest(kc, "POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: seconds },
  });
  const token = (res.body as { status?: { token?: string } }).status?.token;
  if (res.status !== 201 || token === undefined) throw new Error(`token for ServiceAccount ${namespace}/${serviceAccount}: ${statusMessage(res)}`);
  return token;
}

/** Kubeconfig text for the admin kubeconfig's cluster, authenticating with a bearer token. */
export function tokenKubeconfigYaml(adminKc: k8s.KubeConfig, user: string, token: string): string {
  const cluster = adminKc.getCurrentCluster();
  if (cluster === null) throw new Error("admin kubeconfig has no current cluster");
  const ca = cluster.caData ?? (cluster.caFile !== undefined ? readFileSync(cluster.caFile).toString("base64") : undefined);
  return yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server: cluster.server, ...(ca !== undefined ? { "certificate-authority-data": ca } : {}) } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: "test", user, namespace: "default" } }],
    "current-context": user,
  });
}

export interface ComponentCredentials {
  /** Kubeconfig file (mode 0600) for processes (KUBECONFIG). */
  kubeconfigPath: string;
  /** The same credentials for in-process use. */
  kubeConfig(): k8s.KubeConfig;
}

export interface RbacOptions {
  /** Where the components' objects live (default metallb-system, as in the manifests). */
  namespace: string;
  /** Directory for the kubeconfig files. */
  dir: string;
  /** Changes a component's objects before they are installed (tests of a missing permission). */
  edit?: (component: ComponentName, objects: Manifest[]) => Manifest[];
}

/**
 * Installs config/rbac/{operator,speaker}.yaml (moved to `namespace`) with the admin kubeconfig and returns
 * credentials of each component's ServiceAccount.
 */
export async function installComponentRbac(adminKc: k8s.KubeConfig, opts: RbacOptions): Promise<Record<ComponentName, ComponentCredentials>> {
  const out = {} as Record<ComponentName, ComponentCredentials>;
  for (const component of ["operator", "speaker"] as const) {
    const objects = rbacManifests(component, opts.namespace);
    await applyManifests(adminKc, opts.edit?.(component, objects) ?? objects);
    const token = await serviceAccountToken(adminKc, opts.namespace, SERVICE_ACCOUNTS[component]);
    const kubeconfigPath = join(opts.dir, `kubeconfig-${component}`);
    writeFileSync(kubeconfigPath, tokenKubeconfigYaml(adminKc, `system:serviceaccount:${opts.namespace}:${SERVICE_ACCOUNTS[component]}`, token), {
      mode: 0o600,
    });
    out[component] = {
      kubeconfigPath,
      kubeConfig: () => {
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(kubeconfigPath);
        return kc;
      },
    };
  }
  return out;
}
