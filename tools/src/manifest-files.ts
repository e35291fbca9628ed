// Reading the YAML pieces of config/ for the generators (manifests.ts: the all-in-one files; bundle.ts: the OLM
// bundle). Pure: the callers read the files.
import yaml from "js-yaml";

export interface ManifestDoc extends Record<string, unknown> {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** Every document of a multi-document file; each must name its apiVersion, kind and metadata.name. */
export function loadManifestDocs(text: string, path: string): ManifestDoc[] {
  const out: ManifestDoc[] = [];
  for (const d of yaml.loadAll(text)) {
    if (d === null || d === undefined) continue;
    const o = d as Partial<ManifestDoc>;
    if (typeof o !== "object" || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
      throw new Error(`${path}: every document needs apiVersion, kind and metadata.name`);
    }
    out.push(o as ManifestDoc);
  }
  return out;
}

/** The BGPPeer CRD's conversion through the operator's webhook, merged into the CRD by both generators. */
export const CONVERSION_PATCH = "config/webhook/bgppeer-conversion-patch.yaml";

export interface ServiceRef {
  name: string;
  namespace?: string;
  path?: string;
  port?: number;
}

export interface CrdConversion {
  strategy: string;
  webhook: { conversionReviewVersions: string[]; clientConfig: { service: ServiceRef } };
}

export function readConversion(read: (path: string) => string): CrdConversion {
  return (yaml.load(read(CONVERSION_PATCH)) as { spec: { conversion: CrdConversion } }).spec.conversion;
}

/** The CRD with `spec.conversion` replaced. */
export function withConversion<T extends Record<string, unknown>>(crd: T, conversion: CrdConversion): T {
  return { ...crd, spec: { ...(crd["spec"] as object), conversion } };
}
