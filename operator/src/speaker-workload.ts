// The speaker workload the operator keeps applied when it is installed by OLM (a ClusterServiceVersion installs
// Deployments only, so the speaker DaemonSet comes from the operator): the objects of config/speaker/*.yaml, moved
// to the operator's namespace, with the speaker image of this release. Pure: main.ts reads the file.
import yaml from "js-yaml";

export interface WorkloadObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface SpeakerWorkloadOptions {
  namespace: string;
  /** Replaces the image of every container and init container of the DaemonSet (the release's speaker image). */
  speakerImage?: string;
}

const PATHS: Record<string, (ns: string) => string> = {
  "v1/ConfigMap": (ns) => `/api/v1/namespaces/${ns}/configmaps`,
  "v1/Service": (ns) => `/api/v1/namespaces/${ns}/services`,
  "apps/v1/DaemonSet": (ns) => `/apis/apps/v1/namespaces/${ns}/daemonsets`,
};

export const MANAGED_BY_OPERATOR = { "app.kubernetes.io/managed-by": "metallb-ts-operator" } as const;

/** The object's URL (for a server-side apply). */
export function workloadObjectPath(o: WorkloadObject): string {
  const base = PATHS[`${o.apiVersion}/${o.kind}`];
  if (base === undefined) throw new Error(`unsupported workload kind ${o.apiVersion}/${o.kind}`);
  return `${base(o.metadata.namespace)}/${encodeURIComponent(o.metadata.name)}`;
}

interface PodTemplateSpec {
  containers?: Array<Record<string, unknown>>;
  initContainers?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

/** Parses the workload file; an error names the file's document and what is wrong with it. */
export function parseSpeakerWorkload(text: string, source: string, opts: SpeakerWorkloadOptions): WorkloadObject[] | string {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
  } catch (e) {
    return `${source}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const out: WorkloadObject[] = [];
  for (const [i, d] of docs.entries()) {
    const o = d as Partial<WorkloadObject>;
    const where = `${source}: document ${i + 1}`;
    if (typeof o !== "object" || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string")
      return `${where}: needs apiVersion, kind and metadata.name`;
    if (PATHS[`${o.apiVersion}/${o.kind}`] === undefined) return `${where} (${o.kind}/${o.metadata.name}): only ConfigMap, Service and DaemonSet are allowed`;
    const obj = {
      ...o,
      metadata: { ...o.metadata, namespace: opts.namespace, labels: { ...(o.metadata.labels ?? {}), ...MANAGED_BY_OPERATOR } },
    } as WorkloadObject;
    if (o.kind === "DaemonSet" && opts.speakerImage !== undefined) {
      const spec = obj["spec"] as { template?: { spec?: PodTemplateSpec } } | undefined;
      const pod = spec?.template?.spec;
      if (pod === undefined) return `${where} (DaemonSet/${o.metadata.name}): spec.template.spec is missing`;
      const withImage = (cs: Array<Record<string, unknown>> | undefined): Array<Record<string, unknown>> | undefined =>
        cs?.map((c) => ({ ...c, image: opts.speakerImage }));
      const containers = withImage(pod.containers);
      const initContainers = withImage(pod.initContainers);
      obj["spec"] = {
        ...spec,
        template: {
          ...spec?.template,
          spec: { ...pod, ...(containers !== undefined ? { containers } : {}), ...(initContainers !== undefined ? { initContainers } : {}) },
        },
      };
    }
    out.push(obj);
  }
  if (!out.some((o) => o.kind === "DaemonSet")) return `${source}: no DaemonSet`;
  return out;
}
