// Views of Services, EndpointSlices and Nodes for announcement planning, parsed from raw API objects (pure).
import type { NodeView } from "../bgp/plan.js";
import type { NodeInfo } from "../config/types.js";

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
  // Cordoned (kubectl cordon/drain): announced with graceful shutdown, not excluded (see NodeView.draining).
  const draining = isObj(raw.spec) && raw.spec.unschedulable === true;
  // Ready False/Unknown (no Ready condition at all, as on a Node no kubelet ever ran on: ready, nothing to go by).
  const notReady = conditions.some((c) => isObj(c) && c.type === "Ready" && c.status !== "True");
  return {
    name: raw.metadata.name,
    labels,
    networkUnavailable,
    excludedFromLoadBalancers: !ignoreExcludeLabel && EXCLUDE_FROM_LB_LABEL in labels,
    ...(draining ? { draining } : {}),
    ...(notReady ? { notReady } : {}),
  };
}

/** The Service an EndpointSlice belongs to (`namespace/service`) and the nodes hosting its serving endpoints. */
export function servingNodesOfSlice(slice: unknown): { service: string; nodes: string[] } | null {
  if (!isObj(slice) || !isObj(slice.metadata)) return null;
  const ns = typeof slice.metadata.namespace === "string" ? slice.metadata.namespace : "";
  const svc = strMap(slice.metadata.labels)[SERVICE_NAME_LABEL];
  if (svc === undefined) return null;
  const nodes = new Set<string>();
  for (const e of Array.isArray(slice.endpoints) ? slice.endpoints : []) {
    if (!isObj(e)) continue;
    const cond = isObj(e.conditions) ? e.conditions : {};
    // "serving" = ready unset or true, or serving true (terminating endpoints that still serve).
    const serving = cond.ready === undefined || cond.ready === null || cond.ready === true || cond.serving === true;
    if (serving && typeof e.nodeName === "string") nodes.add(e.nodeName);
  }
  return { service: `${ns}/${svc}`, nodes: [...nodes].sort() };
}

/** `namespace/service` → nodes hosting a serving endpoint ("serving" = ready unset or true, or serving true). */
export function servingNodesByService(slices: readonly unknown[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of slices) {
    const v = servingNodesOfSlice(s);
    if (v === null) continue;
    const set = out.get(v.service) ?? new Set<string>();
    out.set(v.service, set);
    for (const n of v.nodes) set.add(n);
  }
  return out;
}

/** A Node's `status.addresses` as the node half needs them (raw Node object). */
export function nodeInfoFromObject(raw: unknown): NodeInfo | null {
  if (!isObj(raw) || !isObj(raw.metadata) || typeof raw.metadata.name !== "string") return null;
  const list = isObj(raw.status) && Array.isArray(raw.status.addresses) ? raw.status.addresses : [];
  const addresses = list.flatMap((a) =>
    isObj(a) && typeof a.type === "string" && typeof a.address === "string" ? [{ type: a.type, address: a.address }] : [],
  );
  return { name: raw.metadata.name, addresses };
}
