// explain's input from raw objects (pure): the MetalLB objects, Nodes and Namespaces as the operator parses them, the
// Services as the operator's snapshots, and the EndpointSlices' serving nodes. The CLI builds it from YAML files or
// from one read of a cluster.
import type { NodeView } from "../bgp/plan.js";
import { parseConfig } from "../config/parse-config.js";
import { formatProblem } from "../config/problems.js";
import type { ClusterResources } from "../config/types.js";
import type { Labels } from "../labels/selector.js";
import { nodeViewFromObject, servingNodesByService } from "../node-config/views.js";
import { handlesLoadBalancerClass, serviceSnapshotFromObject } from "../service/snapshot.js";
import { err, ok, type Result } from "../result.js";
import type { ExplainInput, ExplainService } from "./explain.js";

export interface ExplainObjects {
  readonly resources: ClusterResources;
  readonly services: readonly unknown[];
  readonly endpointSlices: readonly unknown[];
}

export interface ExplainOptions {
  /** The MetalLB namespace (objects elsewhere are refused, as by the operator); unset offline. */
  readonly namespace?: string | undefined;
  readonly lbClass?: string | null;
  readonly defaultLbClass?: boolean;
  /** Services without an EndpointSlice are served on every node (offline input often has no slices). */
  readonly assumeServedEverywhere: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function namespaceLabels(namespaces: readonly unknown[]): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const n of namespaces) {
    if (!isObj(n) || !isObj(n.metadata) || typeof n.metadata.name !== "string") continue;
    const labels = isObj(n.metadata.labels) ? n.metadata.labels : {};
    out.set(n.metadata.name, Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string")));
  }
  return out;
}

/** The explain input, or the configuration's problems (formatted) when it does not parse. */
export function explainInputFromObjects(objs: ExplainObjects, opts: ExplainOptions): Result<ExplainInput, string[]> {
  const parsed = parseConfig(objs.resources, { namespace: opts.namespace, leaveNodeProblemsToSpeakers: true });
  if (!parsed.ok) return err(parsed.error.map(formatProblem));
  const nsLabels = namespaceLabels(objs.resources.namespaces);
  const services: ExplainService[] = [];
  for (const raw of objs.services) {
    const ns = isObj(raw) && isObj(raw.metadata) && typeof raw.metadata.namespace === "string" ? raw.metadata.namespace : "";
    const snapshot = serviceSnapshotFromObject(raw, nsLabels.get(ns) ?? {});
    if (snapshot === null) continue;
    const spec = isObj(raw) && isObj(raw.spec) ? raw.spec : {};
    services.push({
      snapshot,
      externalTrafficPolicy: spec.externalTrafficPolicy === "Local" ? "Local" : "Cluster",
      handled: snapshot.isLoadBalancer && handlesLoadBalancerClass(snapshot.loadBalancerClass, opts.lbClass ?? null, opts.defaultLbClass ?? false),
    });
  }
  const nodes = objs.resources.nodes.map((n) => nodeViewFromObject(n)).filter((n): n is NodeView => n !== null);
  return ok({
    config: parsed.value,
    services,
    nodes,
    serving: servingNodesByService(objs.endpointSlices),
    assumeServedEverywhere: opts.assumeServedEverywhere,
  });
}
