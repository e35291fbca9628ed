// BGPPeer conversion between metallb.io/v1beta1 and metallb.io/v1beta2 (CRD conversion webhook, ConversionReview v1).
//
// v1beta1's spec fields are a subset of v1beta2's with the same shapes, so v1beta1 → v1beta2 copies them. The fields
// only v1beta2 has cannot be represented in v1beta1: converting down moves them, as JSON, into the annotation
// V1BETA2_FIELDS_ANNOTATION, and converting up restores them from it (fields present in the v1beta1 spec win) and
// drops the annotation. A v1beta2 object read and written back through v1beta1 therefore keeps every field.
// Fields equal to their v1beta2 schema default (disableMP: false, dualStackAddressFamily: false) are not saved: the
// apiserver applies the defaults again when it reads the object as v1beta2, and a v1beta1 object created without
// them gets no annotation.

export const V1BETA1 = "metallb.io/v1beta1";
export const V1BETA2 = "metallb.io/v1beta2";
export const V1BETA2_FIELDS_ANNOTATION = "metallb.io/v1beta2-only-fields";

/** spec fields both versions have (everything else in a v1beta2 spec is v1beta2-only). */
const V1BETA1_SPEC_FIELDS: ReadonlySet<string> = new Set([
  "myASN",
  "peerASN",
  "peerAddress",
  "sourceAddress",
  "peerPort",
  "holdTime",
  "keepaliveTime",
  "routerID",
  "nodeSelectors",
  "password",
  "bfdProfile",
  "ebgpMultiHop",
  "vrf",
]);

/** Defaults of v1beta2-only fields in the CRD schema (config/crd/bases/metallb.io_bgppeers.yaml). */
const V1BETA2_DEFAULTS: Readonly<Record<string, unknown>> = { disableMP: false, dualStackAddressFamily: false };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function withAnnotations(obj: Obj, update: (a: Record<string, string>) => void): Obj {
  const metadata = isObj(obj["metadata"]) ? { ...obj["metadata"] } : {};
  const annotations: Record<string, string> = isObj(metadata["annotations"]) ? { ...(metadata["annotations"] as Record<string, string>) } : {};
  update(annotations);
  if (Object.keys(annotations).length > 0) metadata["annotations"] = annotations;
  else delete metadata["annotations"];
  return { ...obj, metadata };
}

function toV1beta1(obj: Obj): Obj {
  const spec = isObj(obj["spec"]) ? obj["spec"] : {};
  const kept: Obj = {};
  const moved: Obj = {};
  for (const [k, v] of Object.entries(spec)) {
    if (V1BETA1_SPEC_FIELDS.has(k)) kept[k] = v;
    else if (V1BETA2_DEFAULTS[k] !== v) moved[k] = v;
  }
  const out = withAnnotations(obj, (a) => {
    if (Object.keys(moved).length > 0) a[V1BETA2_FIELDS_ANNOTATION] = JSON.stringify(sortKeys(moved));
    else delete a[V1BETA2_FIELDS_ANNOTATION];
  });
  return { ...out, apiVersion: V1BETA1, spec: kept };
}

function toV1beta2(obj: Obj): Obj {
  const spec: Obj = isObj(obj["spec"]) ? { ...obj["spec"] } : {};
  const metadata = isObj(obj["metadata"]) ? obj["metadata"] : {};
  const raw = isObj(metadata["annotations"]) ? metadata["annotations"][V1BETA2_FIELDS_ANNOTATION] : undefined;
  const saved = parseSaved(raw);
  for (const [k, v] of Object.entries(saved)) if (!V1BETA1_SPEC_FIELDS.has(k) && !(k in spec)) spec[k] = v;
  const out = withAnnotations(obj, (a) => delete a[V1BETA2_FIELDS_ANNOTATION]);
  return { ...out, apiVersion: V1BETA2, spec };
}

function parseSaved(raw: unknown): Obj {
  if (typeof raw !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObj(parsed) ? parsed : {};
  } catch {
    return {}; // a hand-edited, broken annotation: nothing to restore
  }
}

function sortKeys(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Converts one BGPPeer to `desiredAPIVersion`; throws on versions this webhook does not know. */
export function convertBGPPeer(obj: unknown, desiredAPIVersion: string): Obj {
  if (!isObj(obj)) throw new Error("object is not a JSON object");
  const from = obj["apiVersion"];
  if (from !== V1BETA1 && from !== V1BETA2) throw new Error(`unsupported source apiVersion ${String(from)}`);
  if (obj["kind"] !== "BGPPeer") throw new Error(`unsupported kind ${String(obj["kind"])}`);
  if (desiredAPIVersion === from) return obj;
  if (desiredAPIVersion === V1BETA1) return toV1beta1(obj);
  if (desiredAPIVersion === V1BETA2) return toV1beta2(obj);
  throw new Error(`unsupported desired apiVersion ${desiredAPIVersion}`);
}

export interface ConversionReview {
  readonly apiVersion: "apiextensions.k8s.io/v1";
  readonly kind: "ConversionReview";
  readonly response: {
    readonly uid: string;
    readonly convertedObjects: readonly unknown[];
    readonly result: { readonly status: "Success" } | { readonly status: "Failure"; readonly message: string };
  };
}

/** Answers a ConversionReview request (all objects converted, or a Failure naming the first one that could not be). */
export function reviewConversion(review: unknown): ConversionReview {
  const request = isObj(review) && isObj(review["request"]) ? review["request"] : {};
  const uid = typeof request["uid"] === "string" ? request["uid"] : "";
  const desired = typeof request["desiredAPIVersion"] === "string" ? request["desiredAPIVersion"] : "";
  const objects = Array.isArray(request["objects"]) ? (request["objects"] as unknown[]) : [];
  const head = { apiVersion: "apiextensions.k8s.io/v1", kind: "ConversionReview" } as const;
  try {
    const convertedObjects = objects.map((o) => convertBGPPeer(o, desired));
    return { ...head, response: { uid, convertedObjects, result: { status: "Success" } } };
  } catch (e: unknown) {
    const message = e instanceof Error ? e.message : String(e);
    return { ...head, response: { uid, convertedObjects: [], result: { status: "Failure", message } } };
  }
}
