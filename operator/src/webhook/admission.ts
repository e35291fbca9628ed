// Validating admission for the metallb.io kinds (AdmissionReview v1). The decision is the runtime parser's: the
// handler lists the objects the rule family needs (uncached, through the injected Lister), puts the incoming object in
// place of its old version, blanks the transient references (so objects can be created in any order) and runs
// parseConfig. A request is denied with every problem that concerns the incoming object or that it introduces
// (e.g. an overlap reported on an older pool); problems that already existed elsewhere do not block it.
//
// Deliberate difference from MetalLB: a BGPPeer with `disableMP: true` is validated like any other peer (MetalLB
// returns "allowed + warning" before any check, skipping even the namespace rule). We keep the warning only.
import { blankTransientReferences, formatProblem, parseConfig, type ClusterResources, type ConfigProblem } from "../../../model/src/config/index.js";
import { emptyClusterResources, LIST_OF_KIND } from "../../../model/src/config/resources.js";
import { convertBGPPeer, V1BETA1, V1BETA2 } from "./conversion.js";

/** Kinds the handlers list. BGPPeers must be returned as metallb.io/v1beta2 (the storage version). */
export type ListedKind = "IPAddressPool" | "L2Advertisement" | "BGPAdvertisement" | "BGPPeer" | "BFDProfile" | "Community" | "Node";

/** Uncached reads of the current objects: MetalLB kinds in the MetalLB namespace, Nodes cluster-wide. */
export interface Lister {
  list(kind: ListedKind): Promise<readonly unknown[]>;
}

type ValidatedKind = Exclude<ListedKind, "Node">;
type ResourceKey = keyof ClusterResources;

interface KindRule {
  readonly key: ResourceKey;
  /** The kinds listed to validate this kind (MetalLB's webhook inputs, reference §1.10 B). */
  readonly inputs: readonly ListedKind[];
}

const KIND_KEY: Record<ListedKind, ResourceKey> = LIST_OF_KIND;

const RULES: Record<ValidatedKind, KindRule> = {
  IPAddressPool: { key: "pools", inputs: ["IPAddressPool"] },
  L2Advertisement: { key: "l2Advertisements", inputs: ["L2Advertisement", "IPAddressPool"] },
  BGPAdvertisement: { key: "bgpAdvertisements", inputs: ["BGPAdvertisement", "IPAddressPool", "Node"] },
  BGPPeer: { key: "bgpPeers", inputs: ["BGPPeer", "Node"] },
  BFDProfile: { key: "bfdProfiles", inputs: ["BFDProfile"] },
  Community: { key: "communities", inputs: ["Community"] },
};

/** One webhook of the ValidatingWebhookConfiguration (config/webhook/manifests.yaml lists the same paths). */
export interface WebhookRoute {
  readonly path: string;
  readonly kind: ValidatedKind;
  readonly version: "v1beta1" | "v1beta2";
}

export const WEBHOOK_ROUTES: readonly WebhookRoute[] = [
  { path: "/validate-metallb-io-v1beta1-ipaddresspool", kind: "IPAddressPool", version: "v1beta1" },
  { path: "/validate-metallb-io-v1beta1-l2advertisement", kind: "L2Advertisement", version: "v1beta1" },
  { path: "/validate-metallb-io-v1beta1-bgpadvertisement", kind: "BGPAdvertisement", version: "v1beta1" },
  { path: "/validate-metallb-io-v1beta1-bgppeer", kind: "BGPPeer", version: "v1beta1" },
  { path: "/validate-metallb-io-v1beta2-bgppeer", kind: "BGPPeer", version: "v1beta2" },
  { path: "/validate-metallb-io-v1beta1-bfdprofile", kind: "BFDProfile", version: "v1beta1" },
  { path: "/validate-metallb-io-v1beta1-community", kind: "Community", version: "v1beta1" },
];

export const CONVERSION_PATH = "/convert";

export interface AdmissionContext {
  readonly lister: Lister;
  /** The MetalLB namespace: objects must be created there (checked on CREATE only, as MetalLB does). */
  readonly namespace: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly reason: string; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewOut {
  readonly apiVersion: "admission.k8s.io/v1";
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

interface AdmissionRequest {
  readonly uid: string;
  readonly kind: string;
  readonly version: string;
  readonly operation: string;
  readonly name: string;
  readonly object: unknown;
  readonly oldObject: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function readRequest(review: unknown): AdmissionRequest | undefined {
  if (!isObj(review) || !isObj(review["request"])) return undefined;
  const r = review["request"];
  const gvk = isObj(r["kind"]) ? r["kind"] : {};
  return {
    uid: str(r["uid"]),
    kind: str(gvk["kind"]),
    version: str(gvk["version"]),
    operation: str(r["operation"]),
    name: str(r["name"]),
    object: r["object"],
    oldObject: r["oldObject"],
  };
}

const objectName = (o: unknown): string => (isObj(o) && isObj(o["metadata"]) ? str(o["metadata"]["name"]) : "");

const allow = (uid: string, warnings: readonly string[]): AdmissionResponse => ({ uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) });

const deny = (uid: string, code: number, message: string, warnings: readonly string[] = []): AdmissionResponse => ({
  uid,
  allowed: false,
  status: { code, reason: code === 403 ? "Forbidden" : "InternalError", message },
  ...(warnings.length > 0 ? { warnings } : {}),
});

/** Deprecation warnings (returned on allowed and denied requests). */
export function warningsFor(req: { kind: string; version: string; object: unknown }): string[] {
  if (req.kind !== "BGPPeer") return [];
  const warnings: string[] = [];
  if (req.version === "v1beta1") warnings.push(`${V1BETA1} BGPPeer is deprecated; use ${V1BETA2}`);
  const spec = isObj(req.object) && isObj(req.object["spec"]) ? req.object["spec"] : {};
  if (spec["disableMP"] === true) warnings.push("spec.disableMP is deprecated: use spec.dualStackAddressFamily instead");
  return warnings;
}

async function listInputs(kinds: readonly ListedKind[], lister: Lister): Promise<ClusterResources> {
  const base: Record<ResourceKey, readonly unknown[]> = emptyClusterResources();
  const lists = await Promise.all(kinds.map((k) => lister.list(k)));
  kinds.forEach((k, i) => (base[KIND_KEY[k]] = lists[i] ?? []));
  return base;
}

/** The problems that deny the request: about the incoming object, or not present before the change. */
export function blockingProblems(before: readonly ConfigProblem[], after: readonly ConfigProblem[], kind: string, name: string): ConfigProblem[] {
  const existed = new Set(before.map(formatProblem));
  const seen = new Set<string>();
  return after.filter((p) => {
    const text = formatProblem(p);
    const blocking = !p.transient && ((p.kind === kind && p.name === name) || !existed.has(text));
    if (!blocking || seen.has(text)) return false;
    seen.add(text);
    return true;
  });
}

const problemsOf = (resources: ClusterResources, namespace: string | undefined): readonly ConfigProblem[] => {
  const parsed = parseConfig(blankTransientReferences(resources), { namespace });
  return parsed.ok ? [] : parsed.error;
};

async function validateUpsert(req: AdmissionRequest, kind: ValidatedKind, ctx: AdmissionContext): Promise<AdmissionResponse> {
  const warnings = warningsFor(req);
  const incoming = kind === "BGPPeer" ? convertBGPPeer(req.object, V1BETA2) : req.object;
  const name = objectName(incoming) || req.name;
  const rule = RULES[kind];
  const existing = await listInputs(rule.inputs, ctx.lister);
  const others = existing[rule.key].filter((o) => objectName(o) !== name);
  const after: ClusterResources = { ...existing, [rule.key]: [...others, incoming] };
  // The namespace rule only applies on CREATE (an object created elsewhere while the webhook was off stays editable).
  const namespace = req.operation === "CREATE" ? ctx.namespace : undefined;
  const blocking = blockingProblems(problemsOf(existing, namespace), problemsOf(after, namespace), kind, name);
  if (blocking.length === 0) return allow(req.uid, warnings);
  return deny(req.uid, 403, blocking.map(formatProblem).join("; "), warnings);
}

async function validateBfdDelete(req: AdmissionRequest, ctx: AdmissionContext): Promise<AdmissionResponse> {
  const name = objectName(req.oldObject) || req.name;
  const peers = await ctx.lister.list("BGPPeer");
  const users = peers.filter((p) => isObj(p) && isObj(p["spec"]) && p["spec"]["bfdProfile"] === name).map(objectName);
  if (users.length === 0) return allow(req.uid, []);
  return deny(req.uid, 403, `failed to delete BFDProfile ${name}, used by BGPPeer ${users.sort().join(", ")}`);
}

function isValidatedKind(kind: string): kind is ValidatedKind {
  return Object.hasOwn(RULES, kind);
}

/** Decides one AdmissionReview request. Never throws: listing failures become a 500 denial (failurePolicy-like). */
export async function admit(review: unknown, ctx: AdmissionContext): Promise<AdmissionReviewOut> {
  const wrap = (response: AdmissionResponse): AdmissionReviewOut => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
  const req = readRequest(review);
  if (req === undefined) return wrap(deny("", 400, "malformed AdmissionReview: no request"));
  if (!isValidatedKind(req.kind)) return wrap(deny(req.uid, 400, `unexpected kind ${req.kind}`));
  try {
    if (req.operation === "DELETE") return wrap(req.kind === "BFDProfile" ? await validateBfdDelete(req, ctx) : allow(req.uid, []));
    if (req.operation !== "CREATE" && req.operation !== "UPDATE") return wrap(allow(req.uid, []));
    return wrap(await validateUpsert(req, req.kind, ctx));
  } catch (e: unknown) {
    return wrap(deny(req.uid, 500, `validating ${req.kind} ${req.name}: ${e instanceof Error ? e.message : String(e)}`));
  }
}
