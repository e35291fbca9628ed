// Node configuration controller (keys "node/<name>"): publishes each node's half (announce/plan.ts) as its NodeConfig:
// sessions, BFD profiles, the advertisements that select the node, its address and exclusion. Its size does not
// depend on the Services, and it is rewritten only when the node or the configuration changes it.
import { encodeNodeConfigSpec } from "../../../model/src/announce/contract.js";
import { planNodeAnnouncement } from "../../../model/src/announce/plan.js";
import { nodeInfoFromObject, nodeViewFromObject } from "../../../model/src/node-config/views.js";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { MANAGED_BY, NODE_CONFIG_API, type OperatorContext } from "./context.js";
import { canonicalJson } from "../../../model/src/canonical-json.js";

export class NodeConfigController {
  /** Node → canonical JSON of the spec last written (the cache may lag behind our own writes). */
  private readonly published = new Map<string, string>();

  constructor(private readonly ctx: OperatorContext) {}

  reset(): void {
    this.published.clear();
  }

  private path(name?: string): string {
    const base = `${NODE_CONFIG_API}/namespaces/${this.ctx.settings.namespace}/nodeconfigs`;
    return name === undefined ? base : `${base}/${name}`;
  }

  async reconcile(name: string): Promise<Outcome> {
    const { ctx } = this;
    const config = ctx.state.config;
    if (config === null) return DONE; // loading the configuration queues every node
    const ns = ctx.settings.namespace;
    const raw = ctx.inf.nodes.cache.get(name);
    const existing = ctx.inf.nodeConfigs.cache.get(name, ns);
    if (raw === undefined) {
      if (existing === undefined || existing.metadata?.labels?.["app.kubernetes.io/managed-by"] !== MANAGED_BY["app.kubernetes.io/managed-by"]) return DONE;
      const res = await kubeRequest(ctx.kc, "DELETE", this.path(name));
      if (res.status >= 300 && res.status !== 404) {
        ctx.log.warn({ node: name, err: statusMessage(res) }, "deleting the NodeConfig of a removed node failed");
        return { kind: "retry", reason: `deleting NodeConfig ${name}: ${statusMessage(res)}` };
      }
      this.published.delete(name);
      return DONE;
    }
    const view = nodeViewFromObject(raw);
    if (view === null) return DONE;
    const info = nodeInfoFromObject(raw) ?? undefined;
    const spec = encodeNodeConfigSpec(planNodeAnnouncement(config, view, info));
    const want = canonicalJson(spec);
    if (existing !== undefined && canonicalJson(existing.spec) === want) {
      this.published.set(name, want);
      return DONE;
    }
    if (existing !== undefined && this.published.get(name) === want) return DONE;
    const res =
      existing === undefined
        ? await kubeRequest(ctx.kc, "POST", this.path(), {
            apiVersion: "metallb-ts.dev/v1alpha1",
            kind: "NodeConfig",
            metadata: { name, namespace: ns, labels: MANAGED_BY },
            spec,
          })
        : await kubeRequest(ctx.kc, "PATCH", this.path(name), [{ op: "replace", path: "/spec", value: spec }], "application/json-patch+json");
    if (res.status >= 300 && res.status !== 409) {
      ctx.log.warn({ node: name, err: statusMessage(res) }, "publishing node configuration failed");
      return { kind: "retry", reason: `NodeConfig ${name}: ${statusMessage(res)}` };
    }
    this.published.set(name, want);
    ctx.log.debug({ node: name, sessions: spec.bgp.sessions.length }, "published node configuration");
    return DONE;
  }
}
