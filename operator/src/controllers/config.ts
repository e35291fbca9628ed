// Configuration controller (key "config"): parses the metallb.io objects with the same pure parser as the webhooks
// and the CLI. An invalid configuration keeps the last good one (ConfigurationState Invalid, InvalidConfig Events,
// metallb_k8s_client_config_stale_bool). A changed configuration costs O(Services + nodes) once: every Service is
// re-converged and re-planned, every node's half re-planned.
import { formatProblem } from "../../../model/src/config/problems.js";
import { parseConfig } from "../../../model/src/config/parse-config.js";
import type { ClusterResources, Config, ConfigProblem } from "../../../model/src/config/types.js";
import { configurationStateStatus } from "../../../model/src/service/status.js";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { KEYS, type OperatorContext, type Raw } from "./context.js";

const CONDITION_TYPE = "configReconcilerValid";
export const CONFIGURATION_STATE_NAME = "controller";
/** Pool counters are published at most this often (they change with every allocation). */
export const POOL_STATUS_DELAY_MS = 500;

/**
 * Stable text of a Config for change detection (bigints included). The Nodes' addresses are left out: they only feed
 * each node's own half (node controller), so a Node status update does not re-plan every Service.
 */
const configText = (c: Config): string => JSON.stringify({ ...c, nodes: [] }, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

export class ConfigController {
  private currentText = "";
  private lastProblemsText = "";
  /** Its ConfigurationState was deleted: write it again on the next reconcile even if nothing changed. */
  private stateDeleted = false;

  constructor(private readonly ctx: OperatorContext) {}

  configurationStateDeleted(): void {
    this.stateDeleted = true;
  }

  /** Forget what was loaded (a new leadership term re-parses from scratch). */
  reset(): void {
    this.currentText = "";
  }

  private clusterResources(): ClusterResources {
    const { inf } = this.ctx;
    const list = (i: { cache: { list(): readonly Raw[] } }): readonly Raw[] => i.cache.list();
    return {
      pools: list(inf.pools),
      l2Advertisements: list(inf.l2Advertisements),
      bgpAdvertisements: list(inf.bgpAdvertisements),
      bgpPeers: list(inf.bgpPeers),
      bfdProfiles: list(inf.bfdProfiles),
      communities: list(inf.communities),
      // Never read: the speakers resolve the BGPPeers' password Secrets (leaveNodeProblemsToSpeakers), so the
      // operator's RBAC grants no Secret read at all.
      secrets: [],
      nodes: list(inf.nodes),
      namespaces: list(inf.namespaces),
    };
  }

  async reconcile(): Promise<Outcome> {
    const { ctx } = this;
    const log = ctx.log.child({ controller: "config" });
    // As MetalLB's controller, which never validates BGPPeers: their node-level problems (missing BFDProfile or password
    // Secret, FRR conflicts) make only the speakers of the nodes they select Invalid, each in its own ConfigurationState.
    const parsed = parseConfig(this.clusterResources(), { namespace: ctx.settings.namespace, leaveNodeProblemsToSpeakers: true });
    if (!parsed.ok) {
      ctx.metrics.configStale.set(1);
      const problems = parsed.error;
      const text = problems.map(formatProblem).join("\n");
      if (text !== this.lastProblemsText) {
        this.lastProblemsText = text;
        log.warn({ problems: problems.map(formatProblem) }, "configuration is invalid, keeping the last good one");
        await this.reportProblems(problems);
        await this.writeConfigurationState(problems.map(formatProblem));
      } else if (this.stateDeleted) {
        await this.writeConfigurationState(problems.map(formatProblem));
      }
      const transientOnly = problems.every((p) => p.transient);
      return transientOnly ? { kind: "retry", reason: "configuration references objects that do not exist yet" } : DONE;
    }
    const text = configText(parsed.value);
    const wasStale = this.lastProblemsText !== "";
    this.lastProblemsText = "";
    ctx.metrics.configStale.set(0);
    const state = ctx.state;
    // Node addresses (default router IDs) are read by the node controller from the latest parse.
    const first = state.config === null;
    state.config = parsed.value;
    if (text === this.currentText) {
      if (wasStale || this.stateDeleted) await this.writeConfigurationState([]);
      if (!state.initialDone) ctx.queue.add(KEYS.reprocessAll);
      return DONE;
    }
    this.currentText = text;
    const { invalidated } = state.alloc.setPools(parsed.value.pools);
    ctx.metrics.configLoaded.set(1);
    log.info({ pools: parsed.value.pools.map((p) => p.name), invalidated }, first ? "configuration loaded" : "configuration changed");
    await this.writeConfigurationState([]);
    ctx.queue.add(KEYS.reprocessAll);
    ctx.queue.addAfter(KEYS.poolStatus, POOL_STATUS_DELAY_MS);
    for (const n of ctx.inf.nodes.cache.list()) ctx.queue.add(`${KEYS.node}${n.metadata?.name ?? ""}`);
    return DONE;
  }

  /** One Warning Event per problem, on the object it names (in our namespace). */
  private async reportProblems(problems: readonly ConfigProblem[]): Promise<void> {
    for (const p of problems) {
      const apiVersion =
        p.kind === "BGPPeer" ? "metallb.io/v1beta2" : p.kind === "Secret" || p.kind === "Node" || p.kind === "Namespace" ? "v1" : "metallb.io/v1beta1";
      if (p.kind === "Node" || p.kind === "Namespace" || p.name === "") continue;
      try {
        await this.ctx.writer.createEvent(
          { apiVersion, kind: p.kind, namespace: this.ctx.settings.namespace, name: p.name },
          "Warning",
          "InvalidConfig",
          `${p.field === "" ? "" : `${p.field}: `}${p.message}`,
        );
      } catch (e) {
        this.ctx.log.warn({ err: e, reason: "InvalidConfig" }, "recording event failed");
      }
    }
  }

  private async writeConfigurationState(problems: readonly string[]): Promise<void> {
    const { ctx } = this;
    this.stateDeleted = false;
    const ns = ctx.settings.namespace;
    const path = `/apis/metallb.io/v1beta1/namespaces/${ns}/configurationstates`;
    try {
      let got = await kubeRequest(ctx.kc, "GET", `${path}/${CONFIGURATION_STATE_NAME}`);
      if (got.status === 404) {
        got = await kubeRequest(ctx.kc, "POST", path, {
          apiVersion: "metallb.io/v1beta1",
          kind: "ConfigurationState",
          metadata: { name: CONFIGURATION_STATE_NAME, namespace: ns, labels: { "metallb.io/component-type": "controller" } },
        });
      }
      if (got.status >= 300) throw new Error(statusMessage(got));
      const prev = (
        (got.body as Raw).status as { conditions?: Array<{ type: string; status?: string; lastTransitionTime?: string }> } | undefined
      )?.conditions?.find((c) => c.type === CONDITION_TYPE);
      const status = configurationStateStatus(CONDITION_TYPE, problems, new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, "Z"), prev);
      await ctx.writer.mergePatch(`${path}/${CONFIGURATION_STATE_NAME}/status`, { status });
    } catch (e) {
      ctx.log.warn({ err: e }, "writing ConfigurationState failed");
    }
  }
}
