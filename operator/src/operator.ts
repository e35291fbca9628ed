// The operator's allocation shell: informers → one serial work queue → pure core (parseConfig, Allocator,
// convergeService) → writes (Service status + annotation, Events, IPAddressPool status, ConfigurationState).
//
// Work items: "config" (re-parse everything), "reprocessAll" (every Service, those already holding IPs first),
// "poolStatus" (publish pool counters), "svc/<ns>/<name>". Only the leader processes items; a standby keeps its
// caches warm so a takeover only re-parses and re-registers, without changing any IP.
import { randomBytes } from "node:crypto";
import type * as k8s from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { Allocator } from "../../model/src/allocator/allocator.js";
import { formatProblem } from "../../model/src/config/problems.js";
import { parseConfig } from "../../model/src/config/parse-config.js";
import type { ClusterResources, Config, ConfigProblem } from "../../model/src/config/types.js";
import { planBgpAnnouncements, type BgpServiceView, type NodeView } from "../../model/src/bgp/plan.js";
import { planL2Announcements } from "../../model/src/layer2/plan.js";
import { encodeNodeBgp } from "../../model/src/node-config/bgp.js";
import { encodeNodeL2, nodeInternalAddress } from "../../model/src/node-config/l2.js";
import { announcedServiceView, nodeViewFromObject, servingNodesByService } from "../../model/src/node-config/views.js";
import { convergeService, type ConvergeResult } from "../../model/src/service/converge.js";
import { ANNOTATION_ALLOCATED_FROM_POOL, formatIPs, handlesLoadBalancerClass, serviceSnapshotFromObject, type ServiceSnapshot } from "../../model/src/service/snapshot.js";
import { configurationStateStatus, poolStatusFromCounters, poolStatusFromObject, samePoolStatus } from "../../model/src/service/status.js";
import { PoolEventFilter } from "../../model/src/service/pool-events.js";
import { resilientInformer, type ResilientInformer } from "../../shell/src/informer.js";
import { kubeRequest, statusMessage, stringifyWithBigInts } from "../../shell/src/kube-raw.js";
import { ApiWriter, type KubeWriter } from "../../shell/src/kube-writer.js";
import { KeyedPipeline } from "../../shell/src/keyed-pipeline.js";
import { LeaderElector } from "../../shell/src/leader-election.js";
import type { Logger } from "../../shell/src/logger.js";
import { DONE, WorkQueue, type Outcome } from "../../shell/src/workqueue.js";
import { registerOperatorMetrics, type OperatorMetrics } from "./metrics.js";
import { workloadObjectPath, type WorkloadObject } from "./speaker-workload.js";

export interface OperatorSettings {
  /** Namespace of the metallb.io objects and Secrets. */
  namespace: string;
  /** Our loadBalancerClass, or null to handle Services without a class. */
  lbClass: string | null;
  /** With an lbClass: also handle Services without a class. */
  defaultLbClass: boolean;
  identity: string;
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
}

export interface OperatorDeps {
  kc: k8s.KubeConfig;
  settings: OperatorSettings;
  log: Logger;
  registry: Registry;
  writer?: KubeWriter;
  now?: () => number;
  /** Called when leadership is lost (main exits so the process restarts clean). */
  onLostLeadership?: () => void;
  /** Objects the leader keeps applied (the speaker DaemonSet when installed by OLM; parseSpeakerWorkload). */
  speakerWorkload?: readonly WorkloadObject[];
  /** How often the leader re-applies the speaker workload (restores a deleted or edited DaemonSet); default 60 s. */
  speakerWorkloadResyncMs?: number;
}

type Raw = k8s.KubernetesObject & { spec?: unknown; status?: unknown; data?: unknown; type?: string };

const CONFIG = "config";
const REPROCESS_ALL = "reprocessAll";
const POOL_STATUS = "poolStatus";
const NODE_CONFIGS = "nodeConfigs";
const L2_KEY = "l2Key";
const SPEAKER_WORKLOAD = "speakerWorkload";
/** The Secret holding the speakers' shared heartbeat key (MetalLB's controller creates its memberlist Secret alike). */
export const L2_KEY_SECRET = "metallb-ts-l2-key";
export const L2_KEY_FIELD = "secretkey";
/** Changes are batched this long before the per-node configurations are re-planned and published. */
const NODE_CONFIGS_DELAY_MS = 20;
const NODE_CONFIG_API = "/apis/metallb-ts.dev/v1alpha1";
const MANAGED_BY = { "app.kubernetes.io/managed-by": "metallb-ts-operator" };

/** JSON with object keys sorted, to compare what we want with what the API returns. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    typeof val === "object" && val !== null && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : val,
  );
}
const SVC = "svc/";
const CONDITION_TYPE = "configReconcilerValid";
/** Pool counters are published at most this often (they change with every allocation). */
const POOL_STATUS_DELAY_MS = 500;
const CONFIGURATION_STATE_NAME = "controller";

/** Stable text of a Config for change detection (bigints included). */
const configText = (c: Config): string => JSON.stringify(c, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

export class Operator {
  private alloc = new Allocator();
  private config: Config | null = null;
  private configTextCurrent = "";
  private lastProblemsText = "";
  private initialDone = false;
  private leading = false;
  private stopped = false;
  private readonly queue: WorkQueue;
  /** API writes of converged Services: overlapped across Services, in order per Service. */
  private readonly writes = new KeyedPipeline(16);
  private readonly writeFailures = new Map<string, number>();
  private readonly metrics: OperatorMetrics;
  private readonly writer: KubeWriter;
  private readonly elector: LeaderElector | undefined;
  private readonly now: () => number;
  private readonly inf: {
    services: ResilientInformer<Raw>;
    namespaces: ResilientInformer<Raw>;
    nodes: ResilientInformer<Raw>;
    secrets: ResilientInformer<Raw>;
    pools: ResilientInformer<Raw>;
    l2Advertisements: ResilientInformer<Raw>;
    bgpAdvertisements: ResilientInformer<Raw>;
    bgpPeers: ResilientInformer<Raw>;
    bfdProfiles: ResilientInformer<Raw>;
    communities: ResilientInformer<Raw>;
    endpointSlices: ResilientInformer<Raw>;
    nodeConfigs: ResilientInformer<Raw>;
  };
  /** Node → canonical JSON of the spec last written (the cache may lag behind our own writes). */
  private readonly published = new Map<string, string>();
  /** Pool events: re-parse only on spec/label changes; a status that is not ours is put back (issue 18 item 2). */
  private readonly poolEvents = new PoolEventFilter();

  constructor(private readonly deps: OperatorDeps) {
    const { kc, settings, log } = deps;
    this.now = deps.now ?? Date.now;
    this.writer = deps.writer ?? new ApiWriter(kc, { component: "metallb-ts-operator", now: this.now });
    this.metrics = registerOperatorMetrics(deps.registry, () => this.alloc.counters());
    this.queue = new WorkQueue((key) => this.handle(key), {
      log: log.child({ component: "workqueue" }),
      onHandled: (_key, outcome) => {
        this.metrics.updates.inc();
        if (outcome.kind !== "done") this.metrics.updateErrors.inc();
      },
    });
    const ns = settings.namespace;
    const mk = (path: string): ResilientInformer<Raw> => resilientInformer<Raw>(kc, path, log.child({ informer: path }));
    this.inf = {
      services: mk("/api/v1/services"),
      namespaces: mk("/api/v1/namespaces"),
      nodes: mk("/api/v1/nodes"),
      secrets: mk(`/api/v1/namespaces/${ns}/secrets`),
      pools: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/ipaddresspools`),
      l2Advertisements: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/l2advertisements`),
      bgpAdvertisements: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/bgpadvertisements`),
      bgpPeers: mk(`/apis/metallb.io/v1beta2/namespaces/${ns}/bgppeers`),
      bfdProfiles: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/bfdprofiles`),
      communities: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/communities`),
      endpointSlices: mk("/apis/discovery.k8s.io/v1/endpointslices"),
      nodeConfigs: mk(`${NODE_CONFIG_API}/namespaces/${ns}/nodeconfigs`),
    };
    const publishSoon = (): void => {
      if (this.leading) this.queue.addAfter(NODE_CONFIGS, NODE_CONFIGS_DELAY_MS);
    };
    for (const verb of ["add", "update", "delete"] as const) {
      this.inf.services.on(verb, (o) => {
        this.enqueue(`${SVC}${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`);
        publishSoon();
      });
      this.inf.endpointSlices.on(verb, publishSoon);
      this.inf.nodeConfigs.on(verb, publishSoon);
      this.inf.nodes.on(verb, publishSoon);
      for (const [name, i] of Object.entries(this.inf)) {
        if (name !== "services" && name !== "endpointSlices" && name !== "nodeConfigs" && name !== "pools") i.on(verb, () => this.enqueue(CONFIG));
      }
      this.inf.pools.on(verb, (o) => {
        const c = this.config === null ? undefined : this.alloc.counters().find((x) => x.pool === o.metadata?.name);
        const work = this.poolEvents.observe(verb, o, c === undefined ? null : poolStatusFromCounters(c));
        if (work.reparse) this.enqueue(CONFIG);
        if (work.publishStatus && this.leading) this.queue.addAfter(POOL_STATUS, POOL_STATUS_DELAY_MS);
      });
    }
    if (settings.leaderElection.enabled) {
      const le = settings.leaderElection;
      this.elector = new LeaderElector({
        kc,
        namespace: ns,
        name: le.leaseName,
        identity: settings.identity,
        log: log.child({ component: "leader-election" }),
        leaseDurationSeconds: le.leaseDurationSeconds,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        now: this.now,
      });
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready: caches synced, and as the leader, the first full pass done. */
  get ready(): boolean {
    return this.synced && (!this.leading || this.initialDone);
  }

  private synced = false;

  /** Starts the informers, waits for their first lists, then campaigns (or leads at once without election). */
  async start(): Promise<void> {
    await Promise.all(Object.values(this.inf).map((i) => i.start()));
    await Promise.all(Object.values(this.inf).map((i) => i.synced));
    this.synced = true;
    this.deps.log.info({ identity: this.deps.settings.identity }, "caches synced");
    if (this.elector === undefined) {
      this.becomeLeader();
      return;
    }
    this.elector.start({
      onStartedLeading: () => this.becomeLeader(),
      onStoppedLeading: () => this.loseLeadership(),
      onNewLeader: (id) => this.deps.log.info({ leader: id }, "leader observed"),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.elector?.stop();
    await this.queue.stop();
    await this.writes.drain();
    await Promise.all(Object.values(this.inf).map((i) => i.stop()));
  }

  /** Resolves when the work queue has nothing to do and every write has landed (tests). */
  async idle(): Promise<void> {
    await this.queue.idle();
    await this.writes.drain();
  }

  private enqueue(key: string): void {
    if (this.leading) this.queue.add(key);
  }

  private becomeLeader(): void {
    if (this.stopped) return;
    this.deps.log.info({ identity: this.deps.settings.identity }, "leading: re-parsing the configuration and re-registering assigned IPs");
    this.leading = true;
    this.alloc = new Allocator();
    this.config = null;
    this.configTextCurrent = "";
    this.initialDone = false;
    this.published.clear();
    this.queue.add(L2_KEY);
    if (this.deps.speakerWorkload !== undefined) this.queue.add(SPEAKER_WORKLOAD);
    this.queue.add(CONFIG);
    this.queue.start();
  }

  private loseLeadership(): void {
    this.deps.log.warn({ identity: this.deps.settings.identity }, "lost leadership");
    this.leading = false;
    void this.queue.stop();
    this.deps.onLostLeadership?.();
  }

  private async handle(key: string): Promise<Outcome> {
    if (!this.leading) return DONE;
    if (key === CONFIG) return this.reconcileConfig();
    if (key === REPROCESS_ALL) return this.reprocessAll();
    if (key === POOL_STATUS) return this.publishPoolStatus();
    if (key === NODE_CONFIGS) return this.publishNodeConfigs();
    if (key === L2_KEY) return this.ensureL2KeySecret();
    if (key === SPEAKER_WORKLOAD) return this.applySpeakerWorkload();
    if (key.startsWith(SVC)) return this.reconcileService(key.slice(SVC.length));
    this.deps.log.error({ key }, "unknown work item");
    return DONE;
  }

  // ---- configuration ------------------------------------------------------------------------------------------

  private clusterResources(): ClusterResources {
    const list = (i: ResilientInformer<Raw>): readonly Raw[] => i.cache.list();
    return {
      pools: list(this.inf.pools),
      l2Advertisements: list(this.inf.l2Advertisements),
      bgpAdvertisements: list(this.inf.bgpAdvertisements),
      bgpPeers: list(this.inf.bgpPeers),
      bfdProfiles: list(this.inf.bfdProfiles),
      communities: list(this.inf.communities),
      secrets: list(this.inf.secrets),
      nodes: list(this.inf.nodes),
      namespaces: list(this.inf.namespaces),
    };
  }

  private async reconcileConfig(): Promise<Outcome> {
    const log = this.deps.log.child({ controller: "config" });
    const parsed = parseConfig(this.clusterResources(), { namespace: this.deps.settings.namespace });
    if (!parsed.ok) {
      this.metrics.configStale.set(1);
      const problems = parsed.error;
      const text = problems.map(formatProblem).join("\n");
      if (text !== this.lastProblemsText) {
        this.lastProblemsText = text;
        log.warn({ problems: problems.map(formatProblem) }, "configuration is invalid, keeping the last good one");
        await this.reportProblems(problems);
        await this.writeConfigurationState(problems.map(formatProblem));
      }
      const transientOnly = problems.every((p) => p.transient);
      return transientOnly ? { kind: "retry", reason: "configuration references objects that do not exist yet" } : DONE;
    }
    const text = configText(parsed.value);
    const wasStale = this.lastProblemsText !== "";
    this.lastProblemsText = "";
    this.metrics.configStale.set(0);
    if (text === this.configTextCurrent) {
      if (wasStale) await this.writeConfigurationState([]);
      if (!this.initialDone) this.queue.add(REPROCESS_ALL);
      return DONE;
    }
    const first = this.config === null;
    this.config = parsed.value;
    this.configTextCurrent = text;
    const { invalidated } = this.alloc.setPools(parsed.value.pools);
    this.metrics.configLoaded.set(1);
    log.info({ pools: parsed.value.pools.map((p) => p.name), invalidated }, first ? "configuration loaded" : "configuration changed");
    await this.writeConfigurationState([]);
    this.queue.add(REPROCESS_ALL);
    this.queue.addAfter(POOL_STATUS, POOL_STATUS_DELAY_MS);
    this.queue.add(NODE_CONFIGS);
    return DONE;
  }

  /** One Warning Event per problem, on the object it names (in our namespace). */
  private async reportProblems(problems: readonly ConfigProblem[]): Promise<void> {
    for (const p of problems) {
      const apiVersion = p.kind === "BGPPeer" ? "metallb.io/v1beta2" : p.kind === "Secret" || p.kind === "Node" || p.kind === "Namespace" ? "v1" : "metallb.io/v1beta1";
      if (p.kind === "Node" || p.kind === "Namespace" || p.name === "") continue;
      await this.event({ apiVersion, kind: p.kind, namespace: this.deps.settings.namespace, name: p.name }, "Warning", "InvalidConfig", `${p.field === "" ? "" : `${p.field}: `}${p.message}`);
    }
  }

  private async writeConfigurationState(problems: readonly string[]): Promise<void> {
    const ns = this.deps.settings.namespace;
    const path = `/apis/metallb.io/v1beta1/namespaces/${ns}/configurationstates`;
    try {
      let got = await kubeRequest(this.deps.kc, "GET", `${path}/${CONFIGURATION_STATE_NAME}`);
      if (got.status === 404) {
        got = await kubeRequest(this.deps.kc, "POST", path, {
          apiVersion: "metallb.io/v1beta1",
          kind: "ConfigurationState",
          metadata: { name: CONFIGURATION_STATE_NAME, namespace: ns, labels: { "metallb.io/component-type": "controller" } },
        });
      }
      if (got.status >= 300) throw new Error(statusMessage(got));
      const prev = ((got.body as Raw).status as { conditions?: Array<{ type: string; status?: string; lastTransitionTime?: string }> } | undefined)?.conditions?.find(
        (c) => c.type === CONDITION_TYPE,
      );
      const status = configurationStateStatus(CONDITION_TYPE, problems, new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z"), prev);
      await this.writer.mergePatch(`${path}/${CONFIGURATION_STATE_NAME}/status`, { status });
    } catch (e) {
      this.deps.log.warn({ err: e }, "writing ConfigurationState failed");
    }
  }

  // ---- services -----------------------------------------------------------------------------------------------

  private snapshot(raw: Raw): ServiceSnapshot | null {
    const nsLabels = this.inf.namespaces.cache.get(raw.metadata?.namespace ?? "")?.metadata?.labels ?? {};
    const snap = serviceSnapshotFromObject(raw, nsLabels);
    if (snap === null) return null;
    const s = this.deps.settings;
    return handlesLoadBalancerClass(snap.loadBalancerClass, s.lbClass, s.defaultLbClass) ? snap : null;
  }

  private async reprocessAll(): Promise<Outcome> {
    if (this.config === null) return DONE;
    const snaps = this.inf.services.cache
      .list()
      .map((o) => this.snapshot(o))
      .filter((s): s is ServiceSnapshot => s !== null)
      // Services already holding IPs first, so a restart never hands their IPs to others.
      .sort((a, b) => b.ingressIPs.length - a.ingressIPs.length || a.view.key.localeCompare(b.view.key));
    const present = new Set(snaps.map((s) => s.view.key));
    for (const a of this.alloc.allocations()) if (!present.has(a.key)) this.alloc.unassign(a.key);
    for (const snap of snaps) this.converge(snap);
    await this.writes.drain();
    this.initialDone = true;
    this.queue.addAfter(POOL_STATUS, POOL_STATUS_DELAY_MS);
    this.queue.addAfter(NODE_CONFIGS, NODE_CONFIGS_DELAY_MS);
    return DONE;
  }

  private reconcileService(key: string): Outcome {
    if (this.config === null || !this.initialDone) return DONE; // the first full pass covers it
    const [ns = "", name = ""] = key.split("/");
    const raw = this.inf.services.cache.get(name, ns);
    const snap = raw === undefined ? null : this.snapshot(raw);
    if (snap === null) {
      if (this.alloc.unassign(key)) {
        this.deps.log.info({ service: key }, "released");
        this.queue.add(REPROCESS_ALL);
        this.queue.addAfter(POOL_STATUS, POOL_STATUS_DELAY_MS);
      }
      return DONE;
    }
    const res = this.converge(snap);
    if (res?.reprocessAll === true) this.queue.add(REPROCESS_ALL);
    this.queue.addAfter(POOL_STATUS, POOL_STATUS_DELAY_MS);
    return DONE;
  }

  /**
   * Converges one Service (a synchronous decision on the allocator) and queues its writes: status, annotation and
   * Events. A failed write re-queues the Service with backoff; the decision itself is never split by an await.
   */
  private converge(snap: ServiceSnapshot): ConvergeResult | null {
    const res = convergeService(this.alloc, snap, this.config !== null);
    if (res === null) return null;
    const key = snap.view.key;
    this.writes
      .run(key, () => this.writeService(snap, res))
      .then(
        () => this.writeFailures.delete(key),
        (e: unknown) => {
          const n = (this.writeFailures.get(key) ?? 0) + 1;
          this.writeFailures.set(key, n);
          const delay = Math.min(250 * 2 ** (n - 1), 60_000);
          this.metrics.updateErrors.inc();
          this.deps.log.warn({ service: key, err: e, retryMs: delay }, "writing service failed");
          this.queue.addAfter(`${SVC}${key}`, delay);
        },
      );
    return res;
  }

  private async writeService(snap: ServiceSnapshot, res: ConvergeResult): Promise<void> {
    const key = snap.view.key;
    const base = `/api/v1/namespaces/${snap.namespace}/services/${snap.name}`;
    const current = [...formatIPs(snap.ingressIPs), ...snap.invalidIngress];
    let wrote = false;
    const writeStatus = async (): Promise<boolean> => {
      if (current.join(",") === res.ingress.join(",")) return true;
      const ingress = res.ingress.length > 0 ? res.ingress.map((ip) => ({ ip, ipMode: "VIP" })) : null;
      if (!(await this.writer.mergePatch(`${base}/status`, { status: { loadBalancer: { ingress } } }))) return false;
      wrote = true;
      this.deps.log.info({ service: key, ips: res.ingress, pool: res.pool }, res.ingress.length > 0 ? "allocated" : "cleared");
      return true;
    };
    const writePool = async (): Promise<boolean> => {
      if (snap.allocatedFromPool === res.pool) return true;
      if (!(await this.writer.mergePatch(base, { metadata: { annotations: { [ANNOTATION_ALLOCATED_FROM_POOL]: res.pool } } }))) return false;
      wrote = true;
      return true;
    };
    // A reader never sees IPs without their pool: the annotation goes first when setting, last when clearing.
    const order = res.ingress.length > 0 ? [writePool, writeStatus] : [writeStatus, writePool];
    for (const write of order) {
      if (!(await write())) {
        // Gone: the handler releases it once the cache has seen the deletion.
        this.queue.add(`${SVC}${key}`);
        return;
      }
    }
    const ref = { apiVersion: "v1", kind: "Service", namespace: snap.namespace, name: snap.name, uid: snap.uid };
    for (const e of res.events) await this.event(ref, e.type, e.reason, e.message);
    if (wrote) for (const a of snap.deprecatedAnnotations) await this.event(ref, "Warning", "deprecatedAnnotation", `Service uses deprecated annotation ${a}`);
  }

  private async event(ref: Parameters<KubeWriter["createEvent"]>[0], type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    try {
      await this.writer.createEvent(ref, type, reason, message);
    } catch (e) {
      this.deps.log.warn({ err: e, reason }, "recording event failed");
    }
  }

  /** Creates the speakers' heartbeat key Secret when it does not exist (never overwrites one). */
  private async ensureL2KeySecret(): Promise<Outcome> {
    const ns = this.deps.settings.namespace;
    const path = `/api/v1/namespaces/${ns}/secrets`;
    const got = await kubeRequest(this.deps.kc, "GET", `${path}/${L2_KEY_SECRET}`);
    if (got.status === 200) return DONE;
    if (got.status !== 404) return { kind: "retry", reason: `reading Secret ${L2_KEY_SECRET}: ${statusMessage(got)}` };
    const res = await kubeRequest(this.deps.kc, "POST", path, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: L2_KEY_SECRET, namespace: ns, labels: MANAGED_BY },
      type: "Opaque",
      data: { [L2_KEY_FIELD]: randomBytes(32).toString("base64") },
    });
    if (res.status >= 300 && res.status !== 409) return { kind: "retry", reason: `creating Secret ${L2_KEY_SECRET}: ${statusMessage(res)}` };
    this.deps.log.info({ secret: L2_KEY_SECRET }, "created the speakers' heartbeat key");
    return DONE;
  }

  /** Server-side applies the speaker workload (a no-op when nothing changed), then again after the resync period. */
  private async applySpeakerWorkload(): Promise<Outcome> {
    for (const o of this.deps.speakerWorkload ?? []) {
      const res = await kubeRequest(this.deps.kc, "PATCH", `${workloadObjectPath(o)}?fieldManager=metallb-ts-operator&force=true`, o, "application/apply-patch+yaml");
      if (res.status >= 300) return { kind: "retry", reason: `applying ${o.kind} ${o.metadata.name}: ${statusMessage(res)}` };
    }
    this.queue.addAfter(SPEAKER_WORKLOAD, this.deps.speakerWorkloadResyncMs ?? 60_000);
    return DONE;
  }

  // ---- per-node configuration ---------------------------------------------------------------------------------

  /** Plans every node's announcements from the caches and publishes the NodeConfigs that changed. */
  private async publishNodeConfigs(): Promise<Outcome> {
    if (this.config === null || !this.initialDone) return DONE;
    const config = this.config;
    const ns = this.deps.settings.namespace;
    const serving = servingNodesByService(this.inf.endpointSlices.cache.list());
    const s = this.deps.settings;
    const services: BgpServiceView[] = this.inf.services.cache
      .list()
      .filter((o) => handlesLoadBalancerClass(((o.spec as { loadBalancerClass?: string } | undefined)?.loadBalancerClass ?? null), s.lbClass, s.defaultLbClass))
      .map((o) => announcedServiceView(o, serving))
      .filter((v): v is BgpServiceView => v !== null);
    const nodes = this.inf.nodes.cache
      .list()
      .map((o) => nodeViewFromObject(o))
      .filter((n): n is NodeView => n !== null);
    const l2 = planL2Announcements(config, services, nodes);
    const speakers = this.inf.nodes.cache.list().flatMap((o) => {
      const address = nodeInternalAddress(o);
      return address === null ? [] : [{ node: o.metadata?.name ?? "", address }];
    });
    let failed = 0;
    for (const node of nodes) {
      const plan = planBgpAnnouncements(config, services, nodes, node.name);
      const spec = { node: node.name, bgp: encodeNodeBgp(plan, config.bfdProfiles), l2: encodeNodeL2(l2.byNode.get(node.name) ?? [], speakers) };
      const want = canonicalJson(spec);
      const existing = this.inf.nodeConfigs.cache.get(node.name, ns);
      if (existing !== undefined && canonicalJson(existing.spec) === want) {
        this.published.set(node.name, want);
        continue;
      }
      if (this.published.get(node.name) === want && existing !== undefined) continue;
      try {
        const path = `${NODE_CONFIG_API}/namespaces/${ns}/nodeconfigs`;
        const res =
          existing === undefined
            ? await kubeRequest(this.deps.kc, "POST", path, { apiVersion: "metallb-ts.dev/v1alpha1", kind: "NodeConfig", metadata: { name: node.name, namespace: ns, labels: MANAGED_BY }, spec })
            : await kubeRequest(this.deps.kc, "PATCH", `${path}/${node.name}`, [{ op: "replace", path: "/spec", value: spec }], "application/json-patch+json");
        if (res.status >= 300 && res.status !== 409) throw new Error(statusMessage(res));
        this.published.set(node.name, want);
        this.deps.log.debug({ node: node.name, prefixes: spec.bgp.prefixCount, sessions: spec.bgp.sessions.length, l2IPs: spec.l2.entries.length }, "published node configuration");
      } catch (e) {
        failed++;
        this.deps.log.warn({ node: node.name, err: e }, "publishing node configuration failed");
      }
    }
    const names = new Set(nodes.map((n) => n.name));
    for (const o of this.inf.nodeConfigs.cache.list()) {
      const name = o.metadata?.name ?? "";
      if (names.has(name) || o.metadata?.labels?.["app.kubernetes.io/managed-by"] !== MANAGED_BY["app.kubernetes.io/managed-by"]) continue;
      await kubeRequest(this.deps.kc, "DELETE", `${NODE_CONFIG_API}/namespaces/${ns}/nodeconfigs/${name}`).catch(() => undefined);
      this.published.delete(name);
    }
    return failed > 0 ? { kind: "retry", reason: `${failed} node configurations not published` } : DONE;
  }

  // ---- pool status --------------------------------------------------------------------------------------------

  private async publishPoolStatus(): Promise<Outcome> {
    if (this.config === null) return DONE;
    const ns = this.deps.settings.namespace;
    let failed = 0;
    for (const c of this.alloc.counters()) {
      const want = poolStatusFromCounters(c);
      const have = poolStatusFromObject(this.inf.pools.cache.get(c.pool, ns)?.status);
      if (have !== null && samePoolStatus(have, want)) continue;
      try {
        await this.writer.mergePatch(`/apis/metallb.io/v1beta1/namespaces/${ns}/ipaddresspools/${c.pool}/status`, stringifyWithBigInts({ status: want }));
      } catch (e) {
        failed++;
        this.deps.log.warn({ pool: c.pool, err: e }, "writing pool status failed");
      }
    }
    return failed > 0 ? { kind: "retry", reason: "pool status" } : DONE;
  }
}


