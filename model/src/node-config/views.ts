// Views of Services, EndpointSlices and Nodes for announcement planning, parsed from raw API objects (pure).
import type { BgpServiceView, NodeView } from "../bgp/plan.js";
import { ANNOTATION_ALLOCATED_FROM_POOL, serviceSnapshotFromObject } from "../service/snapshot.js";

export const EXCLUDE_FROM_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strMap = (v: unknown): Record<string, string> =>
  isObj(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string")) : {};

export function nodeViewFromObject(raw: unknown, ignoreExcludeLabel = false): NodeView | null {
  if (!isObj(raw) || !isObj(raw.metadata) || typeof raw.metadata.name !== "string") return null;
  const labels = strMap(raw.metadata.labels);
  const conditions = isObj(raw.status) && Array.isArray(raw.status.conditions) ? raw.status.conditions : [];
  const networkUnavailable = conditions.some((c) => isObj(c) && c.type === "NetworkUnavailable" && c.status === "True");
  return { name: raw.metadata.name, labels, networkUnavailable, excludedFromLoadBalancers: !ignoreExcludeLabel && EXCLUDE_FROM_LB_LABEL in labels };
}

/** `namespace/service` → nodes hosting a serving endpoint ("serving" = ready unset or true, or serving true). */
export function servingNodesByService(slices: readonly unknown[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of slices) {
    if (!isObj(s) || !isObj(s.metadata)) continue;
    const ns = typeof s.metadata.namespace === "string" ? s.metadata.namespace : "";
    const svc = strMap(s.metadata.labels)[SERVICE_NAME_LABEL];
    if (svc === undefined) continue;
    const key = `${ns}/${svc}`;
    const set = out.get(key) ?? new Set<string>();
    out.set(key, set);
    for (const e of Array.isArray(s.endpoints) ? s.endpoints : []) {
      if (!isObj(e)) continue;
      const cond = isObj(e.conditions) ? e.conditions : {};
      const serving = cond.ready === undefined || cond.ready === null || cond.ready === true || cond.serving === true;
      if (serving && typeof e.nodeName === "string") set.add(e.nodeName);
    }
  }
  return out;
}

/** A LoadBalancer Service holding IPs, as the planners see it; null for anything else. */
export function announcedServiceView(raw: unknown, servingNodes: ReadonlyMap<string, ReadonlySet<string>>): BgpServiceView | null {
  const snap = serviceSnapshotFromObject(raw);
  if (snap === null || !snap.isLoadBalancer || snap.ingressIPs.length === 0) return null;
  const meta = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
  const pool = strMap(meta.annotations)[ANNOTATION_ALLOCATED_FROM_POOL];
  if (pool === undefined) return null;
  const spec = isObj(raw) && isObj(raw.spec) ? raw.spec : {};
  return {
    key: snap.view.key,
    ips: [...snap.ingressIPs],
    pool,
    labels: snap.view.labels,
    sharingKey: snap.view.sharingKey,
    externalTrafficPolicy: spec.externalTrafficPolicy === "Local" ? "Local" : "Cluster",
    nodesWithServingEndpoints: [...(servingNodes.get(snap.view.key) ?? [])].sort(),
  };
}

/** A node's address for speaker heartbeats: its first InternalIP (raw Node object). */
export function nodeInternalAddress(raw: unknown): string | null {
  if (!isObj(raw) || !isObj(raw.status) || !Array.isArray(raw.status.addresses)) return null;
  for (const a of raw.status.addresses) if (isObj(a) && a.type === "InternalIP" && typeof a.address === "string") return a.address;
  return null;
}
