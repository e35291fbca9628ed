// Layer 2 mode of one speaker, wired together: the liveness tracker (pure), UDP heartbeats, the apiserver probe,
// the controller driving the per-interface ARP/NDP responders, ServiceL2Status objects and duplicate-responder
// Events. The Speaker feeds it the NodeConfig's spec.l2, the heartbeat key, every successful API contact and the
// incarnations other speakers published.
//
// Run identity (no replay, issue 17 item 3): each run's incarnation is its start time in ms, raised above the one
// its previous run published, and is written once per run into the node's NodeConfig status (`status.l2`; a merge
// patch of its own key, retried until it lands, never periodic). Peers read every NodeConfig anyway (the election
// ranks all candidates) and refuse heartbeats of any older run from then on; within a run the sequence number must
// grow. What is left: an observer that restarts accepts, until the node's next restart, replayed heartbeats of the
// node's latest run with sequence numbers above the first it hears — but only for a node whose speaker died, and it
// stops as soon as that node's next run publishes.
//
// Bounded heartbeats (issue 12): a speaker heartbeats only its watch peers (model/src/layer2/watch.ts): for each IP
// the first DEFAULT_WATCH_DEPTH candidates, ranked over the nodes that run a speaker (published a run, or were
// heard), watch each other; speakers outside its groups are presumed alive in the election unless their Node is not
// Ready (NodeConfig spec.notReady): such a suspect is probed (heartbeated) by the candidates ranked below it and counts
// dead unless heard, so a whole group dying at once still fails over (watch.ts header). It also heartbeats back
// every speaker it heard lately (whoever watches it hears it, even while their views of the speakers differ). Before,
// it sent to every node of the cluster (999 datagrams per interval at 1,000 nodes, most without a speaker), which
// delayed its real peer's heartbeats enough for false "owner silent" takeovers. Since peers send only to runs they
// know, a started speaker warms up only once it has read its own published run back from the API (identityVisible):
// every peer that published before it is then known to it (and heartbeated), and every later one knows it.
//
// Heartbeats leave from their own thread (heartbeat-sender.ts), signed up to 2 s ahead by the main loop: at 10,000
// Services on a starved node the main loop's timer fired late often enough for peers to take a live owner's IPs over
// and hand them back (13,466 moves in one burst).
import { performance } from "node:perf_hooks";
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { Counter, Gauge, type Registry } from "prom-client";
import { LivenessTracker, type LivenessTiming } from "../../../model/src/layer2/heartbeat.js";
import { DEFAULT_WATCH_DEPTH, electionView, probePeers, watchPeers } from "../../../model/src/layer2/watch.js";
import type { NodeAnnouncement, ServiceAnnouncement } from "../../../model/src/announce/plan.js";
import { IncrementalL2Join } from "../../../model/src/layer2/join.js";
import { parseIP, type IPAddress } from "../../../model/src/net/ip.js";
import { KeyedPipeline } from "../../../shell/src/keyed-pipeline.js";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { ApiWriter } from "../../../shell/src/kube-writer.js";
import type { Logger } from "../../../shell/src/logger.js";
import { ApiserverProbe } from "./apiserver-probe.js";
import type { ServiceEvent } from "./announce-events.js";
import { L2Controller, type DuplicateResponder, type ResponderFactory } from "./controller.js";
import { HandoverForwarding } from "./handover-forward.js";
import { HeartbeatTransport } from "./heartbeats.js";
import { listAnnounceInterfaces, type NodeInterface } from "./interfaces.js";
import { L2Responder } from "./responder.js";
import { L2StatusSync } from "./status.js";

export const DEFAULT_L2_PORT = 7947;
export const DEFAULT_L2_SECRET = "metallb-ts-l2-key";
/**
 * How long the new owner of an IP handed over by a live owner forwards the previous owner's connections back to it
 * (handover-forward.ts): HTTP requests and most short connections end within it; longer ones break as without it.
 */
export const DEFAULT_HANDOVER_FORWARD_MS = 60_000;
/**
 * Service Events (nodeAssigned on every takeover) are written a few at a time, in order per Service; beyond this
 * backlog (a failover of thousands of Services with a slow apiserver) they are dropped, as client-go's event
 * broadcaster drops them when its queue is full.
 */
const SERVICE_EVENT_CONCURRENCY = 4;
const SERVICE_EVENT_BACKLOG = 1_000;
/** A speaker heard within this long is heartbeated back, watch peer or not. */
const HEARD_BACK_MS = 10_000;
/**
 * A peer whose Node turned not Ready is probed at once, but counted dead (if not heard) only after this long: time
 * for a speaker that still runs (only its kubelet is down) to hear the probe and answer, so it loses nothing.
 */
const NOT_READY_GRACE_MS = 2_000;
/** Published run identity not read back from the API after this long: publish it again (NodeConfig re-created). */
const IDENTITY_ECHO_TIMEOUT_MS = 5_000;
/** The Secret key holding the shared heartbeat key (as MetalLB's memberlist Secret). */
export const L2_SECRET_KEY = "secretkey";

export interface L2SpeakerOptions {
  kc: KubeConfigLike;
  nodeName: string;
  namespace: string;
  log: Logger;
  registry: Registry;
  /** UDP port of the heartbeats (the same on every node). */
  port: number;
  /** Only announce on these interfaces (null = any usable interface). */
  allowInterfaces: readonly string[] | null;
  timing?: Partial<LivenessTiming>;
  apiProbeIntervalMs?: number;
  apiProbeTimeoutMs?: number;
  /** Candidates per IP that heartbeat each other (DEFAULT_WATCH_DEPTH). */
  watchDepth?: number;
  /** Substitutes for tests. */
  openResponder?: ResponderFactory;
  listInterfaces?: () => NodeInterface[];
  burstMs?: readonly number[];
  /** Second-chance forwarding window after a hand-over from a live owner (0 = off; DEFAULT_HANDOVER_FORWARD_MS). */
  handoverForwardMs?: number;
}

export class L2Speaker {
  readonly tracker: LivenessTracker;
  readonly controller: L2Controller;
  private readonly heartbeats: HeartbeatTransport;
  private readonly probe: ApiserverProbe;
  private readonly forwarding: HandoverForwarding | undefined;
  private readonly status: L2StatusSync;
  private readonly writer: ApiWriter;
  private readonly eventWrites = new KeyedPipeline(SERVICE_EVENT_CONCURRENCY);
  private readonly clock = (): number => performance.now();
  /** The Layer 2 join, kept up to date: a replan costs what changed, not IPs × speakers (model/src/layer2/join.ts). */
  private readonly join: IncrementalL2Join;
  private nodes: readonly NodeAnnouncement[] = [];
  /** `nodes` by name → address, rebuilt when `nodes` is replaced (see nodeAddresses). */
  private addressIndex: { of: readonly NodeAnnouncement[]; byNode: Map<string, string> } | undefined;
  private services: readonly ServiceAnnouncement[] = [];
  /** Runs the other nodes' speakers published (NodeConfig status.l2.incarnation). */
  private publishedRuns: ReadonlyMap<string, number> = new Map();
  /** Nodes heard since this speaker started (a run not yet published still counts as a speaker). */
  private readonly heardEver = new Set<string>();
  /** When each peer was last heard (tracker time): heard back for HEARD_BACK_MS. */
  private readonly heardAt = new Map<string, number>();
  /**
   * Nodes running a speaker: this one, those that published a run and those heard. Candidates are ranked among them
   * (a node without a speaker is never a candidate, and ranking every node for every IP costs O(IPs × nodes)).
   */
  private speakers = new Set<string>();
  /** The watch peers: the other members of this node's watch groups. */
  private watched: ReadonlySet<string> = new Set();
  /** Peers whose NodeConfig says their Node is not Ready, and since when (tracker time). */
  private readonly notReadySince = new Map<string, number>();
  /**
   * Suspects (watch.ts): not Ready for NOT_READY_GRACE_MS, and not heard since their Node was Ready again. Not
   * presumed alive in the election: dead unless heard.
   */
  private readonly suspects = new Set<string>();
  private suspectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Suspects (and peers in their grace) ranked above this node in its IPs: heartbeated so a live one is heard. */
  private probes: ReadonlySet<string> = new Set();
  private targets = new Set<string>();
  private peersText = "";
  private readonly heartbeatPeers: Gauge;
  private echoTimer: ReturnType<typeof setTimeout> | undefined;
  private ownNodeSeen = false;
  private readonly stalls: Counter;
  private readonly stalledSeconds: Counter;
  private publishTimer: ReturnType<typeof setTimeout> | undefined;
  private publishing = false;
  private published = false;
  private stopped = false;
  /** The hand-over of leave(), once started. */
  private leaving: Promise<void> | undefined;

  constructor(private readonly opts: L2SpeakerOptions) {
    const log = opts.log.child({ controller: "layer2" });
    this.join = new IncrementalL2Join({ self: opts.nodeName });
    this.tracker = new LivenessTracker({
      self: opts.nodeName,
      incarnation: Date.now(),
      startMs: this.clock(),
      awaitIdentity: true,
      ...(opts.timing !== undefined ? { timing: opts.timing } : {}),
    });
    this.stalls = new Counter({
      name: "metallb_ts_layer2_stalls_total",
      help: "Times this speaker's timers fired late enough to count as a stall of the process (excused from every silence)",
      registers: [opts.registry],
    });
    this.stalledSeconds = new Counter({
      name: "metallb_ts_layer2_stalled_seconds_total",
      help: "Time this speaker was stalled (late timers), excused from every peer's silence",
      registers: [opts.registry],
    });
    this.heartbeatPeers = new Gauge({
      name: "metallb_ts_layer2_heartbeat_peers",
      help: "Speakers this one sends heartbeats to (its watch peers and the speakers that heartbeat it)",
      registers: [opts.registry],
    });
    const noteStall = (fromMs: number, toMs: number): boolean => this.noteStall(fromMs, toMs);
    this.writer = new ApiWriter(opts.kc, { component: "metallb-speaker" });
    this.status = new L2StatusSync({ kc: opts.kc, nodeName: opts.nodeName, namespace: opts.namespace, log, onApiSuccess: () => this.apiContact() });
    const forwardMs = opts.handoverForwardMs ?? DEFAULT_HANDOVER_FORWARD_MS;
    this.forwarding =
      forwardMs > 0
        ? new HandoverForwarding({ log, registry: opts.registry, windowMs: forwardMs, nodeAddresses: (node) => this.nodeAddresses(node) })
        : undefined;
    const openResponder: ResponderFactory = opts.openResponder ?? ((ifname, hooks) => new L2Responder({ ifname, hooks, log }));
    this.controller = new L2Controller({
      nodeName: opts.nodeName,
      tracker: this.tracker,
      clock: this.clock,
      log,
      registry: opts.registry,
      openResponder,
      listInterfaces: opts.listInterfaces ?? (() => listAnnounceInterfaces()),
      allowInterfaces: opts.allowInterfaces,
      ready: () => this.heartbeats.hasKey,
      electionView: (heard) => electionView(heard, this.speakers, this.watched, opts.nodeName, this.suspects),
      onAnnouncedChange: (a) => this.status.set(a),
      onDuplicate: (d) => this.reportDuplicate(d),
      onServiceEvent: (e) => this.reportServiceEvent(e),
      noteStall,
      ...(opts.burstMs !== undefined ? { burstMs: opts.burstMs } : {}),
      ...(this.forwarding !== undefined ? { handoverForwarder: this.forwarding } : {}),
    });
    this.heartbeats = new HeartbeatTransport({
      tracker: this.tracker,
      port: opts.port,
      clock: this.clock,
      log,
      registry: opts.registry,
      onAccepted: (node) => this.onHeartbeat(node),
      noteStall,
    });
    this.probe = new ApiserverProbe({
      kc: opts.kc,
      intervalMs: opts.apiProbeIntervalMs ?? 150,
      timeoutMs: opts.apiProbeTimeoutMs ?? 500,
      onReachable: () => this.apiContact(),
      onUnreachable: (sentAt) => this.fenceMayChange(() => this.tracker.apiserverUnreachable(sentAt, this.clock())),
      clock: this.clock,
      // Heartbeats from live peers are contact enough; ask the apiserver only when they have been quiet a while.
      msSinceContact: () => this.tracker.msSinceContact(this.clock()),
    });
  }

  /**
   * Starts the heartbeats, the probe and the controller. `previousIncarnation` is what this node's previous run
   * published (NodeConfig status.l2.incarnation), if anything: this run's incarnation is made larger.
   */
  async start(previousIncarnation: number | null = null): Promise<void> {
    if (previousIncarnation !== null) this.tracker.adoptIncarnationAbove(previousIncarnation);
    this.opts.log.info({ incarnation: this.tracker.incarnation, previousIncarnation }, "layer 2 run identity");
    this.publishIncarnation();
    // A table an earlier run left (killed) may forward IPs this node no longer owns.
    await this.forwarding?.start();
    await this.heartbeats.start();
    this.controller.start();
    this.probe.start();
    this.controller.reelect();
  }

  /**
   * Every node's half (NodeConfigs), every published Service half (AnnouncementShards), and the incarnation each
   * node's speaker published (NodeConfig status.l2.incarnation).
   */
  setInputs(nodes: readonly NodeAnnouncement[], services: readonly ServiceAnnouncement[], incarnations: ReadonlyMap<string, number> = new Map()): void {
    // (This node's own entry is ignored: a NodeConfig re-created by the operator loses it until the next restart,
    // which is harmless — peers keep the floor they learned, and the cache would echo our own write back late.)
    const others = new Map<string, number>();
    for (const [node, inc] of incarnations) {
      if (node === this.opts.nodeName) {
        // Our own run read back from the API: peers can know it now (see the file header).
        if (inc === this.tracker.incarnation && this.tracker.identityVisible(this.clock())) this.identityVisible();
        continue;
      }
      others.set(node, inc);
      if (this.tracker.setPublishedIncarnation(node, inc)) this.opts.log.info({ peer: node, incarnation: inc }, "peer run published");
    }
    this.publishedRuns = others;
    const ownNode = nodes.some((n) => n.node === this.opts.nodeName);
    if (ownNode && !this.ownNodeSeen && !this.published && !this.publishing && this.publishTimer !== undefined) {
      // Our NodeConfig appeared (the operator created it after we started): publish now, not after the backoff.
      clearTimeout(this.publishTimer);
      this.publishTimer = undefined;
      this.publishIncarnation();
    }
    this.ownNodeSeen = ownNode;
    this.nodes = nodes;
    this.services = services;
    this.noteReadiness(nodes);
    this.replan();
  }

  /** Tracks the peers' Ready condition (NodeConfig spec.notReady); a node gone from the API is forgotten. */
  private noteReadiness(nodes: readonly NodeAnnouncement[]): void {
    const now = this.clock();
    const present = new Set<string>();
    for (const n of nodes) {
      present.add(n.node);
      if (n.node === this.opts.nodeName) continue;
      if (!n.notReady) this.notReadySince.delete(n.node);
      else if (!this.notReadySince.has(n.node)) {
        this.notReadySince.set(n.node, now);
        this.opts.log.info({ peer: n.node }, "peer node not Ready: probing it");
      }
    }
    for (const node of [...this.notReadySince.keys()]) if (!present.has(node)) this.notReadySince.delete(node);
    for (const node of [...this.suspects]) if (!present.has(node)) this.suspects.delete(node);
    this.promoteSuspects(now);
  }

  /**
   * Peers not Ready for the grace period become suspects; re-arms the timer for the next one. True when the set of
   * suspects grew.
   */
  private promoteSuspects(now: number): boolean {
    let grew = false;
    let next = Infinity;
    for (const [node, since] of this.notReadySince) {
      if (this.suspects.has(node)) continue;
      const due = since + NOT_READY_GRACE_MS;
      if (due <= now) {
        this.suspects.add(node);
        grew = true;
        this.opts.log.info({ peer: node }, "peer node not Ready: no longer presumed alive (dead unless heard)");
      } else next = Math.min(next, due);
    }
    if (this.suspectTimer !== undefined) clearTimeout(this.suspectTimer);
    this.suspectTimer = undefined;
    if (next !== Infinity && !this.stopped) {
      this.suspectTimer = setTimeout(
        () => {
          this.suspectTimer = undefined;
          if (this.promoteSuspects(this.clock())) {
            this.replan();
            this.controller.reelect();
          }
        },
        Math.ceil(next - now) + 1,
      );
    }
    return grew;
  }

  /**
   * Re-joins the halves (incrementally: only what changed since the last replan), ranked over the nodes running a
   * speaker, hands this node's entries to the controller (which re-elects) and heartbeats this node's watch peers.
   */
  private replan(): void {
    this.speakers = new Set([this.opts.nodeName, ...this.publishedRuns.keys(), ...this.heardEver]);
    this.join.update(this.services, this.nodes, this.speakers);
    const entries = this.join.entries();
    this.watched = watchPeers(this.opts.nodeName, entries, this.opts.watchDepth ?? DEFAULT_WATCH_DEPTH);
    this.probes = probePeers(this.opts.nodeName, entries, new Set([...this.suspects, ...this.notReadySince.keys()]));
    this.updateTargets();
    this.controller.setPlan(entries, new Set(this.nodes.filter((n) => n.draining).map((n) => n.node)));
  }

  /** Heartbeat targets: the watch peers and every speaker heard lately, at their NodeConfig address. */
  private updateTargets(): void {
    const now = this.clock();
    const targets = new Set([...this.watched, ...this.probes]);
    for (const [node, at] of this.heardAt) {
      if (now - at <= HEARD_BACK_MS) targets.add(node);
      else this.heardAt.delete(node);
    }
    targets.delete(this.opts.nodeName);
    this.targets = targets;
    const peers = this.nodes
      .flatMap((n) => (n.address === null || !targets.has(n.node) ? [] : [{ node: n.node, address: n.address }]))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const peersText = JSON.stringify(peers);
    if (peersText === this.peersText) return;
    this.peersText = peersText;
    this.heartbeats.setPeers(peers);
    this.heartbeatPeers.set(peers.length);
    this.opts.log.info({ peers: peers.length, watched: this.watched.size, speakers: this.speakers.size }, "heartbeat peers changed");
  }

  /**
   * A heartbeat was accepted: a speaker heard for the first time must be ranked before the election runs; one that
   * is not a target yet is heartbeated back (it watches this node).
   */
  private onHeartbeat(node: string): void {
    this.heardAt.set(node, this.clock());
    if (this.suspects.has(node) && !this.notReadySince.has(node)) {
      // Ready again and heard: its speaker runs, presumed alive again outside the watch groups.
      this.suspects.delete(node);
      this.opts.log.info({ peer: node }, "peer node Ready and heard again: presumed alive");
      this.heardEver.add(node);
      this.replan();
      this.controller.reelect();
      return;
    }
    if (!this.heardEver.has(node)) {
      this.heardEver.add(node);
      this.replan();
      return;
    }
    if (!this.targets.has(node)) this.updateTargets();
    this.controller.livenessChanged();
  }

  /** This run's identity was read back: the warm-up runs from now (re-elect to arm its timer). */
  private identityVisible(): void {
    if (this.echoTimer !== undefined) clearTimeout(this.echoTimer);
    this.echoTimer = undefined;
    this.opts.log.info({ incarnation: this.tracker.incarnation }, "layer 2 run identity visible: warming up");
    this.controller.reelect();
  }

  /** The shared heartbeat key (null when the Secret is missing). */
  setKey(key: Uint8Array | null): void {
    const had = this.heartbeats.hasKey;
    this.heartbeats.setKey(key);
    if (had !== this.heartbeats.hasKey) this.controller.reelect();
  }

  /** A successful apiserver round trip happened now. */
  apiContact(): void {
    this.fenceMayChange(() => this.tracker.apiserverReachable(this.clock()));
  }

  /** Runs a tracker update and re-elects only if it changed this node's fence state (contact is frequent). */
  private fenceMayChange(update: () => unknown): void {
    const before = this.tracker.fenceStatus(this.clock()).reason;
    update();
    if (this.tracker.fenceStatus(this.clock()).reason !== before) this.controller.reelect();
  }

  private noteStall(fromMs: number, toMs: number): boolean {
    const before = this.tracker.stalledMs;
    if (!this.tracker.noteStall(fromMs, toMs)) return false;
    const added = this.tracker.stalledMs - before;
    if (added > 0) {
      this.stalls.inc();
      this.stalledSeconds.inc(added / 1000);
      this.opts.log.debug({ stalledMs: Math.round(added) }, "this process was stalled: not counted against peers");
    }
    return true;
  }

  /** Writes this run's incarnation into the node's NodeConfig status, once; retried with backoff until it lands. */
  private publishIncarnation(delayMs = 0): void {
    if (this.stopped || this.published || this.publishing || this.publishTimer !== undefined) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.publishing = true;
      const incarnation = this.tracker.incarnation;
      const path = `/apis/metallb-ts.dev/v1alpha1/namespaces/${this.opts.namespace}/nodeconfigs/${this.opts.nodeName}/status`;
      const body = { status: { l2: { incarnation, startedAt: new Date().toISOString() } } };
      const retry = (why: unknown): void => {
        this.publishing = false;
        const next = Math.min(Math.max(delayMs * 2, 1_000), 30_000);
        this.opts.log.debug({ err: why, retryMs: next }, "publishing the layer 2 run identity failed");
        this.publishIncarnation(next);
      };
      kubeRequest(this.opts.kc, "PATCH", path, body, "application/merge-patch+json").then((res) => {
        if (res.status >= 300) return retry(statusMessage(res));
        this.publishing = false;
        this.published = true;
        this.apiContact();
        this.opts.log.info({ incarnation }, "layer 2 run identity published");
        // Written but never read back (the NodeConfig was re-created meanwhile, losing its status): write it again.
        this.echoTimer = setTimeout(() => {
          this.echoTimer = undefined;
          if (!this.tracker.awaitingIdentity || this.stopped) return;
          this.opts.log.warn({ incarnation }, "layer 2 run identity not read back from the API: publishing it again");
          this.published = false;
          this.publishIncarnation();
        }, IDENTITY_ECHO_TIMEOUT_MS);
      }, retry);
    }, delayMs);
  }

  /**
   * Leaves the cluster, make before break: hands every owned IP over (still answering), tells the peers at once
   * ("leaving" heartbeat, twice against one lost datagram) so the next owner claims it without a probe, and stops
   * answering for each IP once its claim is seen (bounded). Once per run; the SIGTERM drain starts it next to the BGP
   * drain, stop() waits for it.
   */
  leave(): Promise<void> {
    this.leaving ??= this.handOver();
    return this.leaving;
  }

  private async handOver(): Promise<void> {
    this.tracker.leave();
    const handedOver = this.controller.handOverAll();
    await this.heartbeats.sendNow();
    await this.heartbeats.sendNow();
    await handedOver;
    this.controller.releaseAll();
  }

  /** Leaves the cluster (leave()), then closes everything. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.publishTimer !== undefined) clearTimeout(this.publishTimer);
    if (this.echoTimer !== undefined) clearTimeout(this.echoTimer);
    if (this.suspectTimer !== undefined) clearTimeout(this.suspectTimer);
    await this.leave();
    this.probe.stop();
    await this.status.stop();
    await this.heartbeats.stop();
    this.controller.close();
    await this.forwarding?.stop();
  }

  /**
   * A node's address as its NodeConfig publishes it (the InternalIP the heartbeats go to). Asked once per IP handed
   * over, so the nodes are indexed by name once per input, not searched per IP.
   */
  private nodeAddresses(node: string): IPAddress[] {
    if (this.addressIndex?.of !== this.nodes) {
      const byNode = new Map<string, string>();
      for (const n of this.nodes) if (n.address !== null) byNode.set(n.node, n.address);
      this.addressIndex = { of: this.nodes, byNode };
    }
    const text = this.addressIndex.byNode.get(node) ?? null;
    const ip = text === null ? null : parseIP(text);
    return ip?.ok === true ? [ip.value] : [];
  }

  private reportServiceEvent(e: ServiceEvent): void {
    const [namespace = "", name = ""] = e.service.split("/");
    if (e.type === "Warning") this.opts.log.warn({ service: e.service, reason: e.reason }, e.message);
    if (this.eventWrites.size >= SERVICE_EVENT_BACKLOG) {
      this.opts.log.debug({ service: e.service, reason: e.reason }, "service event dropped: too many pending");
      return;
    }
    this.eventWrites
      .run(e.service, () => this.writer.createEvent({ apiVersion: "v1", kind: "Service", namespace, name }, e.type, e.reason, e.message))
      .catch((err: unknown) => this.opts.log.warn({ err, service: e.service, reason: e.reason }, "recording service event failed"));
  }

  private reportDuplicate(d: DuplicateResponder): void {
    const message = `another station (${d.mac}) answers for ${d.ip} on ${d.iface}, which node ${this.opts.nodeName} announces (${d.kind})`;
    for (const service of d.services) {
      const [namespace = "", name = ""] = service.split("/");
      this.writer
        .createEvent({ apiVersion: "v1", kind: "Service", namespace, name }, "Warning", "DuplicateResponder", message)
        .catch((e: unknown) => this.opts.log.warn({ err: e, service }, "recording DuplicateResponder event failed"));
    }
  }
}
