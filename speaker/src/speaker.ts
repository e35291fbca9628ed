// The speaker (one per node), BGP path: watches its node's NodeConfig, renders FRR's configuration with the
// passwords injected from Secrets/BGPPeers, has FRR apply it (never an identical config; failures retried), reads
// the sessions back from vtysh JSON into the NodeConfig status, ServiceBGPStatus objects and metrics.
// Layer 2 path (optional, speaker/src/layer2/l2-speaker.ts): the NodeConfig's spec.l2 and the heartbeat key Secret
// are fed to the L2 speaker, which elects owners among live speakers and answers ARP/NDP.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type * as k8s from "@kubernetes/client-node";
import type { KubeConfigLike } from "../../shell/src/kubeconfig.js";
import { watch, type FSWatcher } from "chokidar";
import type { Registry } from "prom-client";
import { buildFrrConfig } from "../../model/src/frr/build.js";
import { peersUpdated, type DrainStep } from "../../model/src/frr/drain.js";
import { neighborPortKey, parseBfdPeers, parseBgpNeighbors, type BfdPeerState, type BgpSessionState, type NeighborPorts } from "../../model/src/frr/state.js";
import type { FrrConfig, LogLevel } from "../../model/src/frr/types.js";
import { decodeNodeConfigSpec, type DecodedNodeConfig, type PasswordRef } from "../../model/src/announce/contract.js";
import type { ServiceAnnouncement } from "../../model/src/announce/plan.js";
import { bgpAnnouncedSeries, diffAnnouncedSeries, type AnnouncedSeries } from "../../model/src/bgp/announced-series.js";
import { joinBgp } from "../../model/src/bgp/plan.js";
import { planAfterDrain } from "../../model/src/bgp/after-drain.js";
import { formatProblem } from "../../model/src/config/problems.js";
import { speakerConfigProblems, type BGPPeerObject, type SecretObject } from "../../model/src/config/speaker-problems.js";
import { formatIP } from "../../model/src/net/ip.js";
import {
  CONFIG_RECONCILER_CONDITION,
  speakerConfigurationState,
  speakerConfigurationStateMetadataMatches,
  speakerConfigurationStateName,
  speakerConfigurationStateStatus,
  type SpeakerPodRef,
} from "../../model/src/service/speaker-configuration-state.js";
import { renderFrrConfig } from "../../frr-templates/src/render.js";
import { resilientInformer, type ResilientInformer } from "../../shell/src/informer.js";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import type { Logger } from "../../shell/src/logger.js";
import { KeyedPipeline } from "../../shell/src/keyed-pipeline.js";
import { DONE, WorkQueue, type Outcome } from "../../shell/src/workqueue.js";
import { L2_SECRET_KEY, L2Speaker, type L2SpeakerOptions } from "./layer2/l2-speaker.js";
import { frrDaemonsMissing } from "./frr/daemons.js";
import { registerSpeakerMetrics, speakerAnnouncedGauge } from "./metrics.js";
import { bgpApplyDelayMs, l2Incarnation, l2PlanBatchMs, PublishedHalves } from "./published-halves.js";

export interface FrrApplyResult {
  ok: boolean;
  changed: boolean;
  durationMs: number;
  error?: string | undefined;
}

/** Moves FRR to a new configuration text (implemented by speaker/src/frr/applier.ts). */
export interface FrrConfigApplier {
  apply(text: string): Promise<FrrApplyResult>;
  /** Forget what FRR is believed to run: the next apply reads it back first. */
  resync?(): void;
}

/** Runs one vtysh show command and returns its output. */
export type VtyshShow = (command: string) => Promise<string>;

export interface SpeakerSettings {
  nodeName: string;
  namespace: string;
  frrLogLevel: LogLevel;
  /** How often FRR's session state is read back. */
  stateIntervalMs: number;
  /** FRR's run directory (vty sockets, pid files), watched (chokidar) for daemons coming back after a restart. */
  frrSocketDir?: string | undefined;
  /** The speaker's Pod: owner of its ConfigurationState (garbage-collected with the Pod), as MetalLB's. */
  pod?: SpeakerPodRef | undefined;
}

/** How a stopping speaker drains its BGP announcements (make before break). */
export interface DrainSettings {
  /** Bound on the whole drain; 0 = stop at once (FRR keeps whatever it announces). */
  timeoutMs: number;
  /** After the GRACEFUL_SHUTDOWN updates are out: time for the routers to move traffic before the withdrawal. */
  settleMs: number;
}

/** How often a draining speaker looks at FRR's neighbor counters. */
const DRAIN_POLL_MS = 50;

/** Layer 2 mode settings: everything L2SpeakerOptions takes except what the Speaker already has. */
export type SpeakerL2Settings = Omit<L2SpeakerOptions, "kc" | "nodeName" | "namespace" | "log" | "registry"> & {
  /** Name of the Secret (in the speaker namespace) whose `secretkey` authenticates heartbeats. */
  secretName: string;
};

export interface SpeakerDeps {
  kc: KubeConfigLike;
  settings: SpeakerSettings;
  log: Logger;
  registry: Registry;
  /** FRR for BGP mode; without it (and vtysh) the BGP path is off. */
  frr?: FrrConfigApplier;
  vtysh?: VtyshShow;
  /** Layer 2 mode; off when absent. */
  l2?: SpeakerL2Settings;
  now?: () => number;
}

type Raw = k8s.KubernetesObject & { spec?: unknown; status?: unknown; data?: Record<string, string>; type?: string };

const APPLY = "apply";
const STATE = "state";
/** The speaker's own ConfigurationState (`speaker-<node>`). */
const CONFIG_STATE = "configurationState";
const METALLB_V1BETA1 = "/apis/metallb.io/v1beta1";
/** How often a speaker re-checks for FRR daemons that are still starting. */
const FRR_DAEMON_WAIT_MS = 100;
const NODE_CONFIG_API = "/apis/metallb-ts.dev/v1alpha1";
/** ServiceBGPStatus writes in flight at once. */
const STATUS_WRITE_CONCURRENCY = 8;

export class Speaker {
  private readonly queue: WorkQueue;
  private readonly inf: {
    nodeConfigs: ResilientInformer<Raw>;
    shards: ResilientInformer<Raw>;
    secrets: ResilientInformer<Raw>;
    bgpPeers: ResilientInformer<Raw>;
    bgpStatuses: ResilientInformer<Raw>;
    /** Its own Node (labels: which BGPPeers select it). */
    nodes: ResilientInformer<Raw>;
    bfdProfiles: ResilientInformer<Raw>;
    /** Its own ConfigurationState, to recreate it when deleted. */
    configStates: ResilientInformer<Raw>;
  };
  /**
   * The last NodeConfig half that passed the speaker's own checks, with the passwords it was applied with: applied
   * while the configuration is Invalid. The passwords are part of the snapshot: an invalid change of a BGPPeer's
   * password reference (a Secret of the wrong type, or missing) also changes what the current objects say about the
   * old password (the BGPPeer has no `password` any more, or names another Secret than the one applied), so looking
   * them up again would leave nothing applicable (issue 17).
   */
  private lastGood: { node: DecodedNodeConfig; passwords: ReadonlyMap<string, string> } | undefined;
  /** metallb_speaker_announced{protocol="bgp"} series exported now. */
  private announcedSeries: AnnouncedSeries[] = [];
  private readonly announcedGauge: ReturnType<typeof speakerAnnouncedGauge>;
  /** What was last written into the ConfigurationState, and the resourceVersion it was written over. */
  private configStateWritten: { key: string; rv: string } | undefined;
  /**
   * The change time of each Service entry already accounted for by an apply pass (observed when FRR changed, skipped
   * when it did not concern this node); undefined until the first pass, which takes every entry as accounted for.
   */
  private changeTimesSeen: Map<string, number> | undefined;
  /** The published halves, decoded once per object version (speaker/src/published-halves.ts). */
  private readonly halves: PublishedHalves;
  /** When each session was first seen Established (status shows transitions, not a ticking uptime). */
  private readonly establishedSince = new Map<string, string>();
  private readonly now: () => number;
  private sessionsNow: BgpSessionState[] = [];
  /** Configured port per neighbor of the last rendered configuration (the metrics' `peer` label). */
  private neighborPorts: NeighborPorts = new Map();
  /** Neighbors of the last rendered configuration with graceful restart (`vrf/neighbor`): the drain keeps their routes. */
  private restartingNeighbors: ReadonlySet<string> = new Set();
  private bfdNow: BfdPeerState[] = [];
  private lastApplied = "";
  private frrWatcher: FSWatcher | undefined;
  private lastStatusText = "";
  private announcedServices: Array<{ service: string; peers: string[] }> = [];
  private stateTimer: ReturnType<typeof setInterval> | undefined;
  private readonly metrics: ReturnType<typeof registerSpeakerMetrics>;
  private readonly l2: L2Speaker | undefined;
  private readonly bgpEnabled: boolean;
  /** The drain step the speaker wants FRR in (null: not stopping), and the one FRR last ran. */
  private drainStep: DrainStep | null = null;
  private appliedDrainStep: DrainStep | null = null;

  constructor(private readonly deps: SpeakerDeps) {
    const { kc, settings, log } = deps;
    this.now = deps.now ?? Date.now;
    this.halves = new PublishedHalves((what, err) =>
      deps.log.warn({ ...what, err }, what.nodeConfig !== undefined ? "invalid NodeConfig spec, left out" : "invalid announcement entry, left out"),
    );
    const ns = settings.namespace;
    this.inf = {
      // Layer 2 elects among every node's candidacy, so it needs every NodeConfig; BGP only its own.
      nodeConfigs: resilientInformer<Raw>(
        kc,
        `${NODE_CONFIG_API}/namespaces/${ns}/nodeconfigs`,
        log.child({ informer: "nodeconfigs" }),
        deps.l2 !== undefined ? {} : { fieldSelector: `metadata.name=${settings.nodeName}` },
      ),
      shards: resilientInformer<Raw>(kc, `${NODE_CONFIG_API}/namespaces/${ns}/announcementshards`, log.child({ informer: "announcementshards" })),
      // The Secrets of its namespace (a Role: none elsewhere): the heartbeat key and the password Secrets the BGPPeers
      // name freely (RBAC cannot name them in advance). No webhook key lives in the API (operator/src/webhook).
      secrets: resilientInformer<Raw>(kc, `/api/v1/namespaces/${ns}/secrets`, log.child({ informer: "secrets" })),
      bgpPeers: resilientInformer<Raw>(kc, `/apis/metallb.io/v1beta2/namespaces/${ns}/bgppeers`, log.child({ informer: "bgppeers" })),
      bgpStatuses: resilientInformer<Raw>(kc, `/apis/metallb.io/v1beta1/namespaces/${ns}/servicebgpstatuses`, log.child({ informer: "servicebgpstatuses" }), {
        labelSelector: `metallb.io/node=${settings.nodeName}`,
      }),
      nodes: resilientInformer<Raw>(kc, "/api/v1/nodes", log.child({ informer: "nodes" }), { fieldSelector: `metadata.name=${settings.nodeName}` }),
      bfdProfiles: resilientInformer<Raw>(kc, `${METALLB_V1BETA1}/namespaces/${ns}/bfdprofiles`, log.child({ informer: "bfdprofiles" })),
      configStates: resilientInformer<Raw>(kc, `${METALLB_V1BETA1}/namespaces/${ns}/configurationstates`, log.child({ informer: "configurationstates" }), {
        fieldSelector: `metadata.name=${speakerConfigurationStateName(settings.nodeName)}`,
      }),
    };
    this.metrics = registerSpeakerMetrics(deps.registry, { sessions: () => this.sessionsNow, bfdPeers: () => this.bfdNow });
    this.announcedGauge = speakerAnnouncedGauge(deps.registry);
    this.queue = new WorkQueue((key) => (key === APPLY ? this.applyConfig() : key === CONFIG_STATE ? this.syncConfigurationState() : this.readState()), {
      log: log.child({ component: "workqueue" }),
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      onHandled: (_k, o) => {
        this.metrics.k8sUpdates.inc();
        if (o.kind !== "done") this.metrics.k8sUpdateErrors.inc();
      },
    });
    this.bgpEnabled = deps.frr !== undefined && deps.vtysh !== undefined;
    if (deps.l2 !== undefined) {
      const { secretName: _secretName, ...l2opts } = deps.l2;
      this.l2 = new L2Speaker({ ...l2opts, kc, nodeName: settings.nodeName, namespace: ns, log, registry: deps.registry });
    }
    for (const verb of ["add", "update", "delete"] as const) {
      this.inf.nodeConfigs.on(verb, (o) => {
        this.l2?.apiContact();
        // A status-only write (each speaker writes its own NodeConfig's status) changes no plan: no O(Services) join.
        if (!this.halves.specChanged(verb, o)) return;
        this.scheduleL2Plan();
        // Another node's NodeConfig (or a status write) changes nothing in this node's BGP plan.
        if (this.bgpEnabled && o.metadata?.name === settings.nodeName) this.queue.add(APPLY);
      });
      this.inf.shards.on(verb, () => {
        this.l2?.apiContact();
        this.scheduleL2Plan();
        if (this.bgpEnabled) this.scheduleShardApply();
      });
      this.inf.secrets.on(verb, (o) => {
        this.l2?.apiContact();
        const name = o.metadata?.name ?? "";
        if (name === deps.l2?.secretName) this.syncL2Key();
        // Only a Secret a BGPPeer references can change a check or a password; the namespace's others change nothing.
        if (!this.referencedSecret(name)) return;
        this.queue.add(CONFIG_STATE);
        if (this.bgpEnabled) this.queue.add(APPLY);
      });
      // What the speaker's own checks read (speakerConfigProblems): a change re-checks, and re-applies since the
      // checks decide between the published and the last good node half.
      for (const inf of [this.inf.bgpPeers, this.inf.nodes, this.inf.bfdProfiles]) {
        inf.on(verb, () => {
          this.queue.add(CONFIG_STATE);
          if (this.bgpEnabled) this.queue.add(APPLY);
        });
      }
      this.inf.configStates.on(verb, () => this.queue.add(CONFIG_STATE));
    }
  }

  /** The Layer 2 part (undefined when L2 mode is off). */
  get layer2(): L2Speaker | undefined {
    return this.l2;
  }

  private l2PlanTimer: ReturnType<typeof setTimeout> | undefined;

  /** Joins the Layer 2 plan once per burst of shard/NodeConfig events (each join costs O(Services)). */
  private scheduleL2Plan(): void {
    if (this.l2 === undefined || this.l2PlanTimer !== undefined) return;
    this.l2PlanTimer = setTimeout(() => {
      this.l2PlanTimer = undefined;
      const t0 = performance.now();
      this.syncL2Plan();
      this.lastL2JoinMs = performance.now() - t0;
    }, l2PlanBatchMs(this.lastL2JoinMs));
  }

  /** How long the last BGP join + build + render took (O(Services)); FRR's own apply time is not counted. */
  private lastBgpPlanMs = 0;

  /**
   * A shard changed: re-plan BGP. While a plan is cheap (small clusters, tests) at once; once it costs more, after a
   * window in proportion to that cost (bgpApplyDelayMs), so a creation burst does not re-plan back to back.
   */
  private scheduleShardApply(): void {
    const delay = bgpApplyDelayMs(this.lastBgpPlanMs);
    if (delay === 0) this.queue.add(APPLY);
    else this.queue.addAfter(APPLY, delay);
  }

  /** How long the last Layer 2 join took (it costs O(Services)): the next batch waits in proportion. */
  private lastL2JoinMs = 0;

  private syncL2Plan(): void {
    if (this.l2 === undefined) return;
    const nodeConfigs = this.inf.nodeConfigs.cache.list();
    this.l2.setInputs(this.halves.nodes(nodeConfigs), this.serviceEntries(), this.halves.incarnations(nodeConfigs));
  }

  /** Every published Service half (decoded once per shard version; the same array while no shard changed). */
  private serviceEntries(): ServiceAnnouncement[] {
    return this.halves.serviceEntries(this.inf.shards.cache.list());
  }

  /**
   * metallb_ts_service_to_frr_applied_seconds: after an apply pass, each Service entry changed since the previous pass
   * is observed when FRR's configuration changed in this pass (`frrChanged`), and only taken as seen otherwise (the
   * change did not concern this node's FRR). O(Services), as the pass's plan is.
   */
  private accountServiceChanges(frrChanged: boolean): void {
    const first = this.changeTimesSeen === undefined;
    const seen = new Map<string, number>();
    const now = this.now();
    for (const [key, t] of this.halves.changeTimes()) {
      seen.set(key, t);
      if (first || !frrChanged || this.changeTimesSeen?.get(key) === t) continue;
      this.metrics.serviceToFrrApplied.observe(Math.max(0, now - t) / 1000);
    }
    this.changeTimesSeen = seen;
  }

  private syncL2Key(): void {
    if (this.l2 === undefined || this.deps.l2 === undefined) return;
    const secret = this.inf.secrets.cache.get(this.deps.l2.secretName, this.deps.settings.namespace);
    const b64 = secret?.data?.[L2_SECRET_KEY];
    this.l2.setKey(b64 === undefined || b64 === "" ? null : new Uint8Array(Buffer.from(b64, "base64")));
  }

  get sessions(): readonly BgpSessionState[] {
    return this.sessionsNow;
  }

  async start(): Promise<void> {
    await Promise.all(Object.values(this.inf).map((i) => i.start()));
    await Promise.all(Object.values(this.inf).map((i) => i.synced));
    if (this.l2 !== undefined) {
      this.l2.apiContact();
      const own = this.inf.nodeConfigs.cache.get(this.deps.settings.nodeName, this.deps.settings.namespace);
      await this.l2.start(own === undefined ? null : l2Incarnation(own));
      this.syncL2Key();
      this.syncL2Plan();
    }
    this.queue.start();
    this.queue.add(CONFIG_STATE);
    if (!this.bgpEnabled) return;
    this.queue.add(APPLY);
    this.stateTimer = setInterval(() => this.queue.add(STATE), this.deps.settings.stateIntervalMs);
    this.watchFrr();
  }

  /**
   * A restarted FRR daemon rewrites its pid file (next to its vty socket; chokidar does not report sockets). Whatever
   * watchfrr replayed (frr.conf) or did not, the speaker then re-reads FRR's running configuration and re-applies what
   * it wants, instead of trusting what it applied before.
   */
  private watchFrr(): void {
    const dir = this.deps.settings.frrSocketDir;
    if (dir === undefined) return;
    // Only the pid files: the sockets next to them (zserv.api) belong to user frr and cannot be watched by a speaker
    // without CAP_DAC_OVERRIDE.
    this.frrWatcher = watch(dir, { ignoreInitial: true, depth: 0, ignored: (path) => path !== dir && !path.endsWith(".pid") });
    const onDaemonFile = (path: string): void => {
      if (!/(bgpd|bfdd|zebra)\.pid$/.test(path)) return;
      this.deps.log.warn({ socket: path }, "FRR daemon (re)started: re-reading FRR and re-applying");
      this.deps.frr?.resync?.();
      this.lastApplied = "";
      this.queue.add(APPLY);
    };
    this.frrWatcher.on("add", onDaemonFile);
    this.frrWatcher.on("change", onDaemonFile);
    this.frrWatcher.on("error", (e: unknown) => this.deps.log.warn({ err: e, dir }, "watching FRR's socket directory failed"));
  }

  /**
   * Make before break for a stopping speaker (RFC 8326): re-advertises every prefix with the GRACEFUL_SHUTDOWN
   * community (and LOCAL_PREF 0 to iBGP peers) and waits until FRR has sent it to every peer, gives the routers
   * `settleMs` to prefer the other nodes, then withdraws the prefixes and waits until the withdrawals are sent. Peers
   * with graceful restart keep the prefixes (planAfterDrain): FRR's stop is then a restart they ride out with the
   * routes kept stale, which matters when this node is the only one announcing (a rolling update of the DaemonSet). The
   * whole drain is bounded by `timeoutMs`; stop() follows. A cordoned node announces with GRACEFUL_SHUTDOWN already
   * (NodeConfig draining); this covers the speaker's own exit (SIGTERM: rolling update, Pod deletion, node drain).
   * Layer 2 hands its IPs to their next owners at the same time (make before break, L2Speaker.leave()).
   */
  async drain(settings: DrainSettings): Promise<void> {
    // Layer 2 hands its IPs over meanwhile (bounded on its own; stop() waits for it in any case).
    const l2 = this.l2?.leave();
    if (this.bgpEnabled && settings.timeoutMs > 0) await this.drainBgp(settings);
    await l2;
  }

  private async drainBgp(settings: DrainSettings): Promise<void> {
    const log = this.deps.log.child({ op: "drain" });
    const deadline = this.now() + settings.timeoutMs;
    const until = async (done: () => Promise<boolean> | boolean): Promise<boolean> => {
      while (!(await done())) {
        if (this.now() >= deadline) return false;
        await sleep(DRAIN_POLL_MS);
      }
      return true;
    };
    for (const step of ["gracefulShutdown", "withdrawn"] as const) {
      const t0 = this.now();
      const before = await this.readSessions();
      this.drainStep = step;
      this.queue.add(APPLY);
      const applied = await until(() => this.appliedDrainStep === step);
      // Sessions with graceful restart keep their prefixes after the withdrawal (planAfterDrain).
      const told = (sessions: BgpSessionState[]): BgpSessionState[] =>
        step === "withdrawn" ? sessions.filter((s) => !this.restartingNeighbors.has(neighborPortKey(s.vrf, s.neighbor))) : sessions;
      const sent = applied && (await until(async () => peersUpdated(step, told(before), told(await this.readSessions()))));
      const fields = { step, applied, sent, durationMs: this.now() - t0, ...(step === "withdrawn" ? { keptForRestart: this.restartingNeighbors.size } : {}) };
      if (applied && sent) log.info(fields, "drain step done");
      else log.warn(fields, "drain step not confirmed before the deadline");
      if (step === "gracefulShutdown") await sleep(Math.max(0, Math.min(settings.settleMs, deadline - this.now())));
    }
  }

  /** FRR's BGP sessions now (empty when vtysh fails). */
  private async readSessions(): Promise<BgpSessionState[]> {
    const vtysh = this.deps.vtysh;
    if (vtysh === undefined) return [];
    try {
      return parseBgpNeighbors(JSON.parse(await vtysh("show bgp vrf all neighbors json")), this.neighborPorts);
    } catch (e) {
      this.deps.log.warn({ err: e }, "reading FRR sessions failed");
      return [];
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.l2PlanTimer !== undefined) clearTimeout(this.l2PlanTimer);
    await this.l2?.stop();
    await this.frrWatcher?.close();
    if (this.stateTimer !== undefined) clearInterval(this.stateTimer);
    await this.queue.stop();
    await this.statusSyncRunning;
    await Promise.all(Object.values(this.inf).map((i) => i.stop()));
  }

  /** Resolves when nothing is queued (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** A BGPPeer of the namespace names this Secret as its passwordSecret. */
  private referencedSecret(name: string): boolean {
    return this.inf.bgpPeers.cache.list().some((p) => (p.spec as { passwordSecret?: { name?: unknown } } | undefined)?.passwordSecret?.name === name);
  }

  private password(ref: PasswordRef): string | undefined {
    const ns = this.deps.settings.namespace;
    if ("secret" in ref) {
      const s = this.inf.secrets.cache.get(ref.secret, ns);
      const b64 = s?.data?.password;
      return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
    }
    const p = this.inf.bgpPeers.cache.get(ref.bgpPeer, ns)?.spec as { password?: string } | undefined;
    return p?.password;
  }

  private async applyConfig(): Promise<Outcome> {
    const { nodeName, namespace, frrLogLevel } = this.deps.settings;
    const log = this.deps.log.child({ controller: "bgp" });
    const obj = this.inf.nodeConfigs.cache.get(nodeName, namespace);
    const drainStep = this.drainStep;
    if (obj === undefined) {
      this.appliedDrainStep = drainStep;
      return DONE; // not published yet (or the node left): nothing to announce
    }
    const decoded = decodeNodeConfigSpec(obj.spec);
    if (!decoded.ok) {
      this.metrics.configStale.set(1);
      await this.writeStatus(obj, { result: "Invalid", message: decoded.error });
      return { kind: "failed", reason: decoded.error };
    }
    // The speaker's own checks (its ConfigurationState): while they fail, the last good node half stays applied
    // (with the current Services), as MetalLB's speaker keeps its last good configuration.
    const problems = this.speakerProblems();
    let source: DecodedNodeConfig;
    let secrets: ReadonlyMap<string, string>;
    if (problems === null || problems.length === 0) {
      source = decoded.value;
      const resolved = new Map<string, string>();
      const missing: string[] = [];
      for (const [peer, ref] of source.passwords) {
        const pw = this.password(ref);
        if (pw === undefined || pw === "") missing.push(`${peer} (${"secret" in ref ? `Secret ${ref.secret}` : `BGPPeer ${ref.bgpPeer}`})`);
        else resolved.set(peer, pw);
      }
      if (missing.length > 0) {
        const message = `waiting for the password of ${missing.join(", ")}`;
        await this.writeStatus(obj, { result: "Pending", message });
        return { kind: "retry", reason: message };
      }
      secrets = resolved;
      this.lastGood = { node: source, passwords: resolved };
    } else if (this.lastGood !== undefined) {
      // The last good node half with its own passwords, joined with the current Services: every prefix keeps converging.
      source = this.lastGood.node;
      secrets = this.lastGood.passwords;
    } else {
      log.warn({ problems }, "configuration invalid for this node and nothing applied yet: waiting");
      return DONE;
    }
    const planStarted = performance.now();
    const services = this.serviceEntries();
    // Draining (the speaker stops): first every prefix with graceful shutdown, then withdrawn from the peers without
    // graceful restart (those with it keep the routes through FRR's restart: planAfterDrain).
    const joined = joinBgp(source.node, services);
    const plan = drainStep === "withdrawn" ? planAfterDrain(joined) : joined;
    let text: string;
    let cfg: FrrConfig;
    try {
      cfg = buildFrrConfig(plan, source.node.bfdProfiles, { logLevel: frrLogLevel, namespace, gracefulShutdown: drainStep !== null });
      text = renderFrrConfig(cfg, secrets);
      this.neighborPorts = new Map(cfg.routers.flatMap((r) => r.neighbors.map((n) => [neighborPortKey(r.hasVrf ? r.vrf : "default", n.id), n.port] as const)));
      this.restartingNeighbors = new Set(
        cfg.routers.flatMap((r) => r.neighbors.filter((n) => n.gracefulRestart).map((n) => neighborPortKey(r.hasVrf ? r.vrf : "default", n.id))),
      );
      this.lastBgpPlanMs = performance.now() - planStarted;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.writeStatus(obj, { result: "Invalid", message });
      return { kind: "failed", reason: message };
    }
    this.announcedServices = plan.services.flatMap((s) => (s.announced ? [{ service: s.service, peers: [...s.peers] }] : []));
    if (text === this.lastApplied) {
      this.accountServiceChanges(false);
      this.appliedDrainStep = drainStep;
      this.syncAnnouncedSeries(plan.services, services);
      this.kickServiceStatuses();
      return DONE;
    }
    // Only for the logs: a configuration that did not change is not hashed again.
    const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
    if (this.deps.frr === undefined) return DONE;
    const socketDir = this.deps.settings.frrSocketDir;
    const notRunning = socketDir === undefined ? [] : frrDaemonsMissing(cfg, (d) => existsSync(join(socketDir, `${d}.vty`)));
    if (notRunning.length > 0) {
      // FRR is (re)starting: apply once every daemon the configuration needs answers, in one batch.
      log.debug({ missing: notRunning }, "waiting for FRR daemons before applying");
      this.queue.addAfter(APPLY, FRR_DAEMON_WAIT_MS);
      return DONE;
    }
    const res = await this.deps.frr.apply(text);
    if (!res.ok) {
      this.metrics.configStale.set(1);
      log.warn({ err: res.error, configHash: hash }, "FRR did not apply the configuration");
      await this.writeStatus(obj, { result: "Failed", message: res.error ?? "apply failed" });
      return { kind: "retry", reason: res.error ?? "apply failed" };
    }
    this.lastApplied = text;
    this.accountServiceChanges(res.changed);
    this.appliedDrainStep = drainStep;
    this.metrics.configStale.set(0);
    this.metrics.configLoaded.set(1);
    log.info({ configHash: hash, changed: res.changed, durationMs: res.durationMs, prefixes: plan.announcements.length }, "FRR configuration applied");
    // No hash, time or prefix count in the status: they change with every Service, and every node would write.
    await this.writeStatus(obj, { result: "Applied", message: "", sessionsConfigured: source.node.sessions.length });
    this.syncAnnouncedSeries(plan.services, services);
    this.kickServiceStatuses();
    this.queue.add(STATE);
    return DONE;
  }

  private readonly statusFields: Record<string, unknown> = {};

  private async writeStatus(obj: Raw | undefined, fields: Record<string, unknown>): Promise<void> {
    if (obj === undefined) return;
    Object.assign(this.statusFields, { observedGeneration: obj.metadata?.generation ?? 0 }, fields);
    await this.patchStatus();
  }

  private async patchStatus(): Promise<void> {
    const { nodeName, namespace } = this.deps.settings;
    if (this.inf.nodeConfigs.cache.get(nodeName, namespace) === undefined) return;
    const established = this.sessionsNow.filter((s) => s.established).length;
    // Transitions only: when a session became Established (not its uptime), no prefix counters.
    const since = (s: BgpSessionState): string | undefined => {
      const key = `${s.vrf}|${s.neighbor}`;
      if (!s.established) {
        this.establishedSince.delete(key);
        return undefined;
      }
      let t = this.establishedSince.get(key);
      if (t === undefined) {
        t = new Date(Math.floor((this.now() - s.uptimeMs) / 1000) * 1000).toISOString();
        this.establishedSince.set(key, t);
      }
      return t;
    };
    const bgp = {
      ...this.statusFields,
      sessionsEstablished: established,
      sessions: this.sessionsNow.map((s) => ({
        vrf: s.vrf,
        neighbor: s.neighbor,
        state: s.state,
        establishedSince: since(s),
        connectionsEstablished: s.connectionsEstablished,
        bfd: s.bfdStatus,
      })),
      bfd: this.bfdNow.map((b) => ({
        vrf: b.vrf,
        peer: b.peer,
        status: b.status,
        receiveIntervalMs: b.receiveIntervalMs,
        transmitIntervalMs: b.transmitIntervalMs,
        detectMultiplier: b.detectMultiplier,
      })),
    };
    const text = JSON.stringify(bgp);
    if (text === this.lastStatusText) return;
    const res = await kubeRequest(
      this.deps.kc,
      "PATCH",
      `${NODE_CONFIG_API}/namespaces/${namespace}/nodeconfigs/${nodeName}/status`,
      { status: { bgp } },
      "application/merge-patch+json",
    );
    if (res.status >= 300) {
      this.deps.log.warn({ err: statusMessage(res) }, "writing NodeConfig status failed");
      return;
    }
    this.lastStatusText = text;
  }

  private async readState(): Promise<Outcome> {
    const vtysh = this.deps.vtysh;
    if (vtysh === undefined) return DONE;
    try {
      const [neighbors, bfdPeers, bfdCounters] = await Promise.all([
        vtysh("show bgp vrf all neighbors json"),
        vtysh("show bfd peers json"),
        vtysh("show bfd peers counters json"),
      ]);
      this.sessionsNow = parseBgpNeighbors(JSON.parse(neighbors), this.neighborPorts);
      this.bfdNow = parseBfdPeers(JSON.parse(bfdPeers), JSON.parse(bfdCounters));
    } catch (e) {
      this.deps.log.warn({ err: e }, "reading FRR state failed");
      return DONE;
    }
    await this.patchStatus();
    return DONE;
  }

  private statusSyncRunning: Promise<void> | undefined;
  private statusSyncAgain = false;
  private stopping = false;

  /**
   * Brings the ServiceBGPStatus objects to what was last applied, off the apply path: after a burst of Services there
   * can be thousands to write, and FRR must not wait for them. One sync at a time; a change meanwhile runs it again.
   */
  private kickServiceStatuses(): void {
    if (this.statusSyncRunning !== undefined) {
      this.statusSyncAgain = true;
      return;
    }
    this.statusSyncRunning = (async (): Promise<void> => {
      do {
        this.statusSyncAgain = false;
        try {
          await this.syncServiceStatuses();
        } catch (e) {
          this.metrics.k8sUpdateErrors.inc();
          this.deps.log.warn({ err: e }, "syncing ServiceBGPStatus failed");
        }
      } while (this.statusSyncAgain && !this.stopping);
    })().finally(() => {
      this.statusSyncRunning = undefined;
    });
  }

  /**
   * metallb_speaker_announced{protocol="bgp"}: one series per Service and IP FRR now announces from this node (called
   * after FRR runs the plan's configuration); withdrawn ones removed.
   */
  private syncAnnouncedSeries(outcomes: ReadonlyArray<{ service: string; announced: boolean }>, services: readonly ServiceAnnouncement[]): void {
    const ips = new Map(services.map((s) => [s.key, s.ips]));
    const announced = outcomes.filter((o) => o.announced).map((o) => ({ service: o.service, ips: (ips.get(o.service) ?? []).map(formatIP) }));
    const want = bgpAnnouncedSeries(this.deps.settings.nodeName, announced);
    const diff = diffAnnouncedSeries(this.announcedSeries, want);
    for (const s of diff.remove) this.announcedGauge.remove({ ...s });
    for (const s of diff.set) this.announcedGauge.set({ ...s }, 1);
    this.announcedSeries = want;
  }

  /**
   * The formatted problems of the BGPPeers selecting this node (MetalLB's speaker validation); null while its Node is
   * not known (then nothing is judged: the operator placed the peers).
   */
  private speakerProblems(): string[] | null {
    const { nodeName } = this.deps.settings;
    const node = this.inf.nodes.cache.list().find((n) => n.metadata?.name === nodeName);
    if (node === undefined) return null;
    const byName = (a: Raw, b: Raw): number =>
      (a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : (a.metadata?.name ?? "") > (b.metadata?.name ?? "") ? 1 : 0;
    const problems = speakerConfigProblems({
      node: { name: nodeName, labels: node.metadata?.labels ?? {} },
      peers: [...this.inf.bgpPeers.cache.list()].sort(byName) as BGPPeerObject[],
      bfdProfiles: new Set(this.inf.bfdProfiles.cache.list().map((b) => b.metadata?.name ?? "")),
      secrets: new Map(this.inf.secrets.cache.list().map((x) => [x.metadata?.name ?? "", x as SecretObject])),
    });
    return problems.map(formatProblem);
  }

  /**
   * Its ConfigurationState (`speaker-<node>`): created when missing (also after someone deleted it), its status
   * written only when the outcome or the problems change, so a quiet cluster sees no writes.
   */
  private async syncConfigurationState(): Promise<Outcome> {
    const problems = this.speakerProblems();
    if (problems === null) return DONE; // the Node's add event queues this again
    const { nodeName, namespace, pod } = this.deps.settings;
    const log = this.deps.log.child({ controller: "configurationState" });
    const want = speakerConfigurationState(nodeName, namespace, pod);
    const path = `${METALLB_V1BETA1}/namespaces/${namespace}/configurationstates`;
    const cur = this.inf.configStates.cache.get(want.metadata.name, namespace);
    type Cond = { type?: string; status?: string; lastTransitionTime?: string };
    const curStatus = cur?.status as { result?: string; errorSummary?: string; conditions?: Cond[] } | undefined;
    const previous = curStatus?.conditions?.find((c) => c.type === CONFIG_RECONCILER_CONDITION);
    const status = speakerConfigurationStateStatus(problems, new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z"), previous);
    const key = JSON.stringify([status.result, status.errorSummary]);
    const metadataOk = cur !== undefined && speakerConfigurationStateMetadataMatches(cur.metadata ?? {}, want);
    if (metadataOk && JSON.stringify([curStatus?.result, curStatus?.errorSummary]) === key) return DONE;
    const rv = cur?.metadata?.resourceVersion ?? "";
    // Our own write, not yet back through the watch.
    if (this.configStateWritten?.key === key && this.configStateWritten.rv === rv && cur !== undefined) return DONE;
    if (cur === undefined) {
      const created = await kubeRequest(this.deps.kc, "POST", path, want);
      if (created.status >= 300 && created.status !== 409) return { kind: "retry", reason: `creating ConfigurationState: ${statusMessage(created)}` };
    } else if (!metadataOk) {
      const patched = await kubeRequest(
        this.deps.kc,
        "PATCH",
        `${path}/${want.metadata.name}`,
        {
          metadata: {
            labels: want.metadata.labels,
            ...(want.metadata.ownerReferences !== undefined ? { ownerReferences: want.metadata.ownerReferences } : {}),
          },
        },
        "application/merge-patch+json",
      );
      if (patched.status >= 300) return { kind: "retry", reason: `labelling ConfigurationState: ${statusMessage(patched)}` };
    }
    const res = await kubeRequest(this.deps.kc, "PATCH", `${path}/${want.metadata.name}/status`, { status }, "application/merge-patch+json");
    if (res.status >= 300) return { kind: "retry", reason: `writing ConfigurationState status: ${statusMessage(res)}` };
    this.configStateWritten = { key, rv };
    if (problems.length > 0) log.warn({ problems }, "configuration invalid for this node, keeping the last good one");
    else if (curStatus?.result !== "Valid") log.info({ created: cur === undefined }, "configuration valid for this node");
    return DONE;
  }

  /**
   * One ServiceBGPStatus per announced Service of this node (MetalLB's contract), stale ones deleted. Reads what exists
   * from a watch of this node's objects: only differences are written, a few at a time.
   */
  private async syncServiceStatuses(): Promise<void> {
    const { nodeName, namespace } = this.deps.settings;
    const path = `/apis/metallb.io/v1beta1/namespaces/${namespace}/servicebgpstatuses`;
    const existing = new Map(this.inf.bgpStatuses.cache.list().map((o) => [o.metadata?.name ?? "", o]));
    const wanted = new Set<string>();
    const fail = (what: string, res: { status: number; body: unknown }): void => {
      this.metrics.k8sUpdateErrors.inc();
      this.deps.log.warn({ err: statusMessage(res), status: res.status }, `${what} ServiceBGPStatus failed`);
    };
    const writes = new KeyedPipeline(STATUS_WRITE_CONCURRENCY);
    const write = async (
      name: string,
      cur: Raw | undefined,
      status: { node: string; serviceName: string; serviceNamespace: string; peers: string[] },
    ): Promise<void> => {
      const { serviceName: svcName, serviceNamespace: svcNs } = status;
      if (cur === undefined) {
        const created = await kubeRequest(this.deps.kc, "POST", path, {
          apiVersion: "metallb.io/v1beta1",
          kind: "ServiceBGPStatus",
          metadata: { name, namespace, labels: { "metallb.io/node": nodeName, "metallb.io/service-name": svcName, "metallb.io/service-namespace": svcNs } },
        });
        if (created.status >= 300 && created.status !== 409) {
          fail("creating", created);
          return;
        }
      }
      const patched = await kubeRequest(this.deps.kc, "PATCH", `${path}/${name}/status`, { status }, "application/merge-patch+json");
      if (patched.status >= 300) fail("writing", patched);
      else this.writtenBgpStatus.set(name, JSON.stringify(status));
    };
    for (const s of this.announcedServices) {
      const [svcNs = "", svcName = ""] = s.service.split("/");
      const name = `bgp-${createHash("sha256").update(`${nodeName}/${s.service}`).digest("hex").slice(0, 20)}`;
      wanted.add(name);
      const status = { node: nodeName, serviceName: svcName, serviceNamespace: svcNs, peers: [...s.peers].sort() };
      const cur = existing.get(name);
      if (cur !== undefined && JSON.stringify(cur.status) === JSON.stringify(status)) continue;
      if (this.writtenBgpStatus.get(name) === JSON.stringify(status)) continue; // our write, not in the cache yet
      void writes.run(name, () => write(name, cur, status));
    }
    for (const name of existing.keys()) {
      if (wanted.has(name)) continue;
      this.writtenBgpStatus.delete(name);
      void writes.run(name, async () => {
        const res = await kubeRequest(this.deps.kc, "DELETE", `${path}/${name}`);
        if (res.status >= 300 && res.status !== 404) fail("deleting", res);
      });
    }
    await writes.drain();
  }

  /** Status last written per ServiceBGPStatus (the watch may lag behind our own writes). */
  private readonly writtenBgpStatus = new Map<string, string>();
}
