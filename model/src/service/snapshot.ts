// A Service as the allocation core sees it, parsed from the raw API object (pure). Reads MetalLB's annotations
// (metallb.io/*, and the deprecated metallb.universe.tf/* ones, the stable key winning).
import type { IPFamilyPolicy, ServicePort, ServiceView } from "../allocator/types.js";
import type { Labels } from "../labels/selector.js";
import { formatIP, parseIP, type IPAddress, type IPFamily } from "../net/ip.js";

export const ANNOTATION_PREFIX = "metallb.io/";
export const DEPRECATED_ANNOTATION_PREFIX = "metallb.universe.tf/";
export const ANNOTATION_ADDRESS_POOL = "address-pool";
export const ANNOTATION_LB_IPS = "loadBalancerIPs";
export const ANNOTATION_SHARED_IP = "allow-shared-ip";
/** Written by the operator: the pool the Service's IPs come from. */
export const ANNOTATION_ALLOCATED_FROM_POOL = "metallb.io/ip-allocated-from-pool";

export type RequestedIPs = { ok: true; ips: IPAddress[] } | { ok: false; reason: string };

export interface ServiceSnapshot {
  readonly view: ServiceView;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** metadata.resourceVersion ("" when absent): tells the shell whether its cache still shows its own writes' past. */
  readonly resourceVersion: string;
  readonly isLoadBalancer: boolean;
  readonly loadBalancerClass: string | null;
  readonly clusterIPs: readonly IPAddress[];
  /** IPs in status.loadBalancer.ingress (unparseable entries dropped, see `invalidIngress`). */
  readonly ingressIPs: readonly IPAddress[];
  readonly invalidIngress: readonly string[];
  /** From `metallb.io/loadBalancerIPs` or `spec.loadBalancerIP`; empty when neither is set. */
  readonly requested: RequestedIPs;
  readonly poolAnnotation: string | null;
  readonly allocatedFromPool: string | null;
  /** Deprecated annotation keys in use (for a warning Event). */
  readonly deprecatedAnnotations: readonly string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const strMap = (v: unknown): Record<string, string> =>
  isObj(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string")) : {};

/** The value of a MetalLB annotation: the stable key wins over the deprecated one. */
function annotation(ann: Record<string, string>, suffix: string, deprecatedUsed: string[]): string | null {
  const stable = ann[ANNOTATION_PREFIX + suffix];
  if (stable !== undefined) return stable;
  const old = ann[DEPRECATED_ANNOTATION_PREFIX + suffix];
  if (old !== undefined) {
    deprecatedUsed.push(DEPRECATED_ANNOTATION_PREFIX + suffix);
    return old;
  }
  return null;
}

function parseRequested(annotationValue: string | null, specIP: string | null): RequestedIPs {
  if (annotationValue !== null && specIP !== null && specIP !== "") {
    return { ok: false, reason: "service can not have both metallb.io/loadBalancerIPs and spec.loadBalancerIP" };
  }
  const texts =
    annotationValue !== null
      ? annotationValue
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : specIP !== null && specIP !== ""
        ? [specIP]
        : [];
  const ips: IPAddress[] = [];
  for (const t of texts) {
    const r = parseIP(t);
    if (!r.ok) return { ok: false, reason: `invalid requested loadbalancer IP ${JSON.stringify(t)}` };
    ips.push(r.value);
  }
  if (ips.length > 2) return { ok: false, reason: "at most two loadbalancer IPs can be requested" };
  if (ips.length === 2 && ips[0]?.family === ips[1]?.family) return { ok: false, reason: "the two requested loadbalancer IPs must be of different families" };
  return { ok: true, ips };
}

function parsePorts(v: unknown): ServicePort[] {
  if (!Array.isArray(v)) return [];
  const out: ServicePort[] = [];
  for (const p of v) {
    if (!isObj(p) || typeof p.port !== "number") continue;
    const proto = str(p.protocol) ?? "TCP";
    if (proto === "TCP" || proto === "UDP" || proto === "SCTP") out.push({ protocol: proto, port: p.port });
  }
  return out;
}

/** Kubernetes' labels.Set.String(): sorted `k=v` joined by commas. */
export function selectorString(sel: Record<string, string>): string {
  return Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k] ?? ""}`)
    .join(",");
}

function parseIPs(texts: readonly string[]): { ips: IPAddress[]; invalid: string[] } {
  const ips: IPAddress[] = [];
  const invalid: string[] = [];
  for (const t of texts) {
    const r = parseIP(t);
    if (r.ok) ips.push(r.value);
    else invalid.push(t);
  }
  return { ips, invalid };
}

function familyOf(v: unknown): IPFamily | null {
  return v === "IPv4" || v === "IPv6" ? v : null;
}

/** Parses a raw Service object; null when it is not a Service with a namespace and name. */
export function serviceSnapshotFromObject(raw: unknown, namespaceLabels?: Labels): ServiceSnapshot | null {
  if (!isObj(raw) || !isObj(raw.metadata)) return null;
  const meta = raw.metadata;
  const namespace = str(meta.namespace);
  const name = str(meta.name);
  if (namespace === null || name === null) return null;
  const spec = isObj(raw.spec) ? raw.spec : {};
  const status = isObj(raw.status) ? raw.status : {};
  const ann = strMap(meta.annotations);
  const deprecated: string[] = [];

  const clusterIPTexts = (Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP]).filter(
    (s): s is string => typeof s === "string" && s !== "" && s !== "None",
  );
  const clusterIPs = parseIPs(clusterIPTexts).ips;
  const declared = Array.isArray(spec.ipFamilies) ? spec.ipFamilies.map(familyOf).filter((f): f is IPFamily => f !== null) : [];
  const families = declared.length > 0 ? declared : clusterIPs.map((ip) => ip.family);
  const policyText = str(spec.ipFamilyPolicy);
  const ipFamilyPolicy: IPFamilyPolicy = policyText === "PreferDualStack" || policyText === "RequireDualStack" ? policyText : "SingleStack";

  const lb = isObj(status.loadBalancer) ? status.loadBalancer : {};
  const ingressTexts = Array.isArray(lb.ingress) ? lb.ingress.map((i) => (isObj(i) ? str(i.ip) : null)).filter((s): s is string => s !== null && s !== "") : [];
  const ingress = parseIPs(ingressTexts);

  const sharingKey = annotation(ann, ANNOTATION_SHARED_IP, deprecated) ?? "";
  const poolAnnotation = annotation(ann, ANNOTATION_ADDRESS_POOL, deprecated);
  const requested = parseRequested(annotation(ann, ANNOTATION_LB_IPS, deprecated), str(spec.loadBalancerIP));
  const local = spec.externalTrafficPolicy === "Local";

  const view: ServiceView = {
    key: `${namespace}/${name}`,
    namespace,
    labels: strMap(meta.labels),
    ...(namespaceLabels !== undefined ? { namespaceLabels } : {}),
    families,
    ipFamilyPolicy,
    ports: parsePorts(spec.ports),
    sharingKey,
    backendKey: local ? selectorString(strMap(spec.selector)) : "",
  };
  return {
    view,
    namespace,
    name,
    uid: str(meta.uid) ?? "",
    resourceVersion: str(meta.resourceVersion) ?? "",
    isLoadBalancer: spec.type === "LoadBalancer",
    loadBalancerClass: str(spec.loadBalancerClass),
    clusterIPs,
    ingressIPs: ingress.ips,
    invalidIngress: ingress.invalid,
    requested,
    poolAnnotation: poolAnnotation === "" ? null : poolAnnotation,
    allocatedFromPool: ann[ANNOTATION_ALLOCATED_FROM_POOL] ?? null,
    deprecatedAnnotations: deprecated,
  };
}

/**
 * Whether this operator handles a Service of the given loadBalancerClass: its own class, and Services without a
 * class when it has no class of its own or is configured as the default (MetalLB's filterByLoadBalancerClass).
 */
export function handlesLoadBalancerClass(serviceClass: string | null, ourClass: string | null, isDefaultClass: boolean): boolean {
  if (serviceClass === null) return ourClass === null || isDefaultClass;
  return serviceClass === ourClass;
}

export const formatIPs = (ips: readonly IPAddress[]): string[] => ips.map(formatIP);
