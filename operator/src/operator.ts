// The operator: informers → one serial work queue → one controller per concern (operator/src/controllers/):
// configuration, Services (allocation + their announcement half), announcement shards, node configurations, pool
// status, the heartbeat key and the speaker workload. Each work item costs what it affects: a Service or EndpointSlice
// event re-plans that Service, a Node event that node, a configuration change everything once. Only the leader
// processes items; a standby keeps its caches warm so a takeover only re-parses and re-registers, changing no IP.
import type { KubeConfigLike } from "../../shell/src/kubeconfig.js";
import type { Registry } from "prom-client";
import { PoolEventFilter } from "../../model/src/service/pool-events.js";
import { poolStatusFromCounters } from "../../model/src/service/status.js";
import { resilientInformer, type ResilientInformer } from "../../shell/src/informer.js";
import { ApiWriter, type KubeWriter } from "../../shell/src/kube-writer.js";
import { LeaderElector } from "../../shell/src/leader-election.js";
import type { Logger } from "../../shell/src/logger.js";
import { DONE, WorkQueue, type Outcome } from "../../shell/src/workqueue.js";
import { CONFIGURATION_STATE_NAME, ConfigController, POOL_STATUS_DELAY_MS } from "./controllers/config.js";
import { KEYS, LeaderState, NODE_CONFIG_API, type Informers, type OperatorContext, type Raw } from "./controllers/context.js";
import { ensureL2KeySecret } from "./controllers/l2-key.js";
import { NodeConfigController } from "./controllers/nodes.js";
import { PoolStatusController } from "./controllers/pool-status.js";
import { ServiceController } from "./controllers/services.js";
import { DEFAULT_ANNOUNCEMENT_SHARDS, ShardPublisher } from "./controllers/shards.js";
import { SpeakerWorkloadController } from "./controllers/speaker-workload.js";
import { registerOperatorMetrics } from "./metrics.js";
import type { WorkloadObject } from "./speaker-workload.js";

export { L2_KEY_FIELD, L2_KEY_SECRET } from "./controllers/l2-key.js";

export interface OperatorSettings {
  /** Namespace of the metallb.io objects (and of the heartbeat key Secret it creates). */
  namespace: string;
  /** Our loadBalancerClass, or null to handle Services without a class. */
  lbClass: string | null;
  /** With an lbClass: also handle Services without a class. */
  defaultLbClass: boolean;
  identity: string;
  /** Number of AnnouncementShard objects the Services' halves are spread over (default 64). */
  announcementShards?: number;
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
}

export interface OperatorDeps {
  kc: KubeConfigLike;
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
  /** The Deployment (in each object's namespace) that owns the applied speaker objects (ownerReferences). */
  speakerWorkloadOwner?: string;
}

const labelsText = (o: Raw | undefined): string => JSON.stringify(Object.entries(o?.metadata?.labels ?? {}).sort());
const specText = (o: Raw | undefined): string => JSON.stringify(o?.spec ?? null);

export class Operator {
  private leading = false;
  private stopped = false;
  private synced = false;
  private readonly ctx: OperatorContext;
  private readonly elector: LeaderElector | undefined;
  private readonly config: ConfigController;
  private readonly services: ServiceController;
  private readonly shards: ShardPublisher;
  private readonly nodeConfigs: NodeConfigController;
  private readonly poolStatus: PoolStatusController;
  private readonly workload: SpeakerWorkloadController;
  /** Node labels last seen: a label change re-parses the configuration (selectors), other Node updates do not. */
  private readonly nodeLabels = new Map<string, string>();

  constructor(private readonly deps: OperatorDeps) {
    const { kc, settings, log } = deps;
    const now = deps.now ?? Date.now;
    const state = new LeaderState();
    const metrics = registerOperatorMetrics(deps.registry, () => state.alloc.counters());
    const queue = new WorkQueue((key) => this.handle(key), {
      log: log.child({ component: "workqueue" }),
      onHandled: (_key, outcome) => {
        metrics.updates.inc();
        if (outcome.kind !== "done") metrics.updateErrors.inc();
      },
    });
    const ns = settings.namespace;
    const mk = (path: string): ResilientInformer<Raw> => resilientInformer<Raw>(kc, path, log.child({ informer: path }));
    const inf: Informers = {
      services: mk("/api/v1/services"),
      namespaces: mk("/api/v1/namespaces"),
      nodes: mk("/api/v1/nodes"),
      pools: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/ipaddresspools`),
      l2Advertisements: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/l2advertisements`),
      bgpAdvertisements: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/bgpadvertisements`),
      bgpPeers: mk(`/apis/metallb.io/v1beta2/namespaces/${ns}/bgppeers`),
      bfdProfiles: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/bfdprofiles`),
      communities: mk(`/apis/metallb.io/v1beta1/namespaces/${ns}/communities`),
      endpointSlices: mk("/apis/discovery.k8s.io/v1/endpointslices"),
      nodeConfigs: mk(`${NODE_CONFIG_API}/namespaces/${ns}/nodeconfigs`),
      shards: mk(`${NODE_CONFIG_API}/namespaces/${ns}/announcementshards`),
      configStates: resilientInformer<Raw>(
        kc,
        `/apis/metallb.io/v1beta1/namespaces/${ns}/configurationstates`,
        log.child({ informer: "configurationstates" }),
        {
          fieldSelector: `metadata.name=${CONFIGURATION_STATE_NAME}`,
        },
      ),
    };
    const writer = deps.writer ?? new ApiWriter(kc, { component: "metallb-ts-operator", now });
    this.ctx = { kc, settings, log, writer, queue, inf, metrics, state, now };
    this.config = new ConfigController(this.ctx);
    this.shards = new ShardPublisher(this.ctx, settings.announcementShards ?? DEFAULT_ANNOUNCEMENT_SHARDS);
    this.services = new ServiceController(this.ctx, this.shards);
    this.nodeConfigs = new NodeConfigController(this.ctx);
    this.poolStatus = new PoolStatusController(this.ctx);
    this.workload = new SpeakerWorkloadController(this.ctx, deps.speakerWorkload ?? [], deps.speakerWorkloadResyncMs ?? 60_000, deps.speakerWorkloadOwner);
    this.wire(inf);
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
        now,
      });
    }
  }

  /** Informer events → work items, each for what the event affects. */
  private wire(inf: Informers): void {
    const enqueue = (key: string): void => {
      if (this.leading) this.ctx.queue.add(key);
    };
    const serviceKey = (o: Raw): string => `${KEYS.service}${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
    const configKinds = [inf.namespaces, inf.l2Advertisements, inf.bgpAdvertisements, inf.bgpPeers, inf.bfdProfiles, inf.communities];
    for (const verb of ["add", "update", "delete"] as const) {
      inf.services.on(verb, (o) => enqueue(serviceKey(o)));
      for (const i of configKinds) i.on(verb, () => enqueue(KEYS.config));
      inf.nodes.on(verb, (o) => {
        const name = o.metadata?.name ?? "";
        enqueue(`${KEYS.node}${name}`);
        // Exclusion or NetworkUnavailable may change whether Services are announced (their NotAnnounced Events).
        this.services.nodeChanged(o, verb === "delete", this.leading);
        // Labels feed the selectors (and the configuration's cross-checks); addresses and conditions only this node.
        const labels = verb === "delete" ? "" : labelsText(o);
        if (this.nodeLabels.get(name) !== labels) enqueue(KEYS.config);
        if (verb === "delete") this.nodeLabels.delete(name);
        else this.nodeLabels.set(name, labels);
      });
      // A speaker's status write is not our business; a NodeConfig deleted or edited behind our back is.
      inf.nodeConfigs.on(verb, (o) => {
        if (verb === "delete" || specText(o) !== "null") enqueue(`${KEYS.node}${o.metadata?.name ?? ""}`);
      });
    }
    // Deleted by hand (or with all ConfigurationStates): written again with the current outcome.
    inf.configStates.on("delete", () => {
      this.config.configurationStateDeleted();
      enqueue(KEYS.config);
    });
    inf.endpointSlices.on("add", (o) => {
      const svc = this.services.endpoints.update(o);
      if (svc !== null) enqueue(`${KEYS.service}${svc}`);
    });
    inf.endpointSlices.on("update", (o) => {
      const svc = this.services.endpoints.update(o);
      if (svc !== null) enqueue(`${KEYS.service}${svc}`);
    });
    inf.endpointSlices.on("delete", (o) => {
      const svc = this.services.endpoints.remove(o);
      if (svc !== null) enqueue(`${KEYS.service}${svc}`);
    });
    // Pool spec/label changes re-parse; a status that is not the allocator's (edited by hand) is put back.
    const poolEvents = new PoolEventFilter();
    for (const verb of ["add", "update", "delete"] as const) {
      inf.pools.on(verb, (o) => {
        const counters = this.ctx.state.config === null ? undefined : this.ctx.state.alloc.counters().find((c) => c.pool === o.metadata?.name);
        const work = poolEvents.observe(verb, o, counters === undefined ? null : poolStatusFromCounters(counters));
        if (work.reparse) enqueue(KEYS.config);
        if (work.publishStatus && this.leading) this.ctx.queue.addAfter(KEYS.poolStatus, POOL_STATUS_DELAY_MS);
      });
    }
  }

  private informers(): Array<ResilientInformer<Raw>> {
    return Object.values(this.ctx.inf as unknown as Record<string, ResilientInformer<Raw>>);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready: caches synced, and as the leader, the first full pass done. */
  get ready(): boolean {
    return this.synced && (!this.leading || this.ctx.state.initialDone);
  }

  /** Starts the informers, waits for their first lists, then campaigns (or leads at once without election). */
  async start(): Promise<void> {
    const informers = this.informers();
    await Promise.all(informers.map((i) => i.start()));
    await Promise.all(informers.map((i) => i.synced));
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
    await this.ctx.queue.stop();
    await this.services.drain();
    await Promise.all(this.informers().map((i) => i.stop()));
  }

  /** Resolves when the work queue has nothing to do and every write has landed (tests). */
  async idle(): Promise<void> {
    await this.ctx.queue.idle();
    await this.services.drain();
  }

  private becomeLeader(): void {
    if (this.stopped) return;
    this.deps.log.info({ identity: this.deps.settings.identity }, "leading: re-parsing the configuration and re-registering assigned IPs");
    this.leading = true;
    this.ctx.state.reset();
    this.config.reset();
    this.services.reset();
    this.shards.reset();
    this.nodeConfigs.reset();
    const q = this.ctx.queue;
    q.add(KEYS.l2Key);
    if (this.deps.speakerWorkload !== undefined) q.add(KEYS.speakerWorkload);
    q.add(KEYS.config);
    q.start();
  }

  private loseLeadership(): void {
    this.deps.log.warn({ identity: this.deps.settings.identity }, "lost leadership");
    this.leading = false;
    void this.ctx.queue.stop();
    this.deps.onLostLeadership?.();
  }

  private async handle(key: string): Promise<Outcome> {
    if (!this.leading) return DONE;
    if (key === KEYS.config) return this.config.reconcile();
    if (key === KEYS.reprocessAll) return this.services.reprocessAll();
    if (key === KEYS.poolStatus) return this.poolStatus.reconcile();
    if (key === KEYS.l2Key) return ensureL2KeySecret(this.ctx);
    if (key === KEYS.speakerWorkload) return this.workload.reconcile();
    if (key.startsWith(KEYS.service)) return this.services.reconcile(key.slice(KEYS.service.length));
    if (key.startsWith(KEYS.node)) return this.nodeConfigs.reconcile(key.slice(KEYS.node.length));
    if (key.startsWith(KEYS.shard)) return this.shards.reconcile(key.slice(KEYS.shard.length));
    this.deps.log.error({ key }, "unknown work item");
    return DONE;
  }
}
