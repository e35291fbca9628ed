// Layer 2 mode of one speaker, wired together: the liveness tracker (pure), UDP heartbeats, the apiserver probe,
// the controller driving the per-interface ARP/NDP responders, ServiceL2Status objects and duplicate-responder
// Events. The Speaker feeds it the NodeConfig's spec.l2, the heartbeat key and every successful API contact.
import { performance } from "node:perf_hooks";
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import type { Registry } from "prom-client";
import { LivenessTracker, type LivenessTiming } from "../../../model/src/layer2/heartbeat.js";
import type { NodeAnnouncement, ServiceAnnouncement } from "../../../model/src/announce/plan.js";
import { joinL2 } from "../../../model/src/layer2/plan.js";
import { KeyedPipeline } from "../../../shell/src/keyed-pipeline.js";
import { ApiWriter } from "../../../shell/src/kube-writer.js";
import type { Logger } from "../../../shell/src/logger.js";
import { ApiserverProbe } from "./apiserver-probe.js";
import type { ServiceEvent } from "./announce-events.js";
import { L2Controller, type DuplicateResponder, type ResponderFactory } from "./controller.js";
import { HeartbeatTransport } from "./heartbeats.js";
import { listAnnounceInterfaces, type NodeInterface } from "./interfaces.js";
import { L2Responder } from "./responder.js";
import { L2StatusSync } from "./status.js";

export const DEFAULT_L2_PORT = 7947;
export const DEFAULT_L2_SECRET = "metallb-ts-l2-key";
/**
 * Service Events (nodeAssigned on every takeover) are written a few at a time, in order per Service; beyond this
 * backlog (a failover of thousands of Services with a slow apiserver) they are dropped, as client-go's event
 * broadcaster drops them when its queue is full.
 */
const SERVICE_EVENT_CONCURRENCY = 4;
const SERVICE_EVENT_BACKLOG = 1_000;
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
  /** Substitutes for tests. */
  openResponder?: ResponderFactory;
  listInterfaces?: () => NodeInterface[];
  burstMs?: readonly number[];
}

export class L2Speaker {
  readonly tracker: LivenessTracker;
  readonly controller: L2Controller;
  private readonly heartbeats: HeartbeatTransport;
  private readonly probe: ApiserverProbe;
  private readonly status: L2StatusSync;
  private readonly writer: ApiWriter;
  private readonly eventWrites = new KeyedPipeline(SERVICE_EVENT_CONCURRENCY);
  private readonly clock = (): number => performance.now();
  private nodes: readonly NodeAnnouncement[] = [];
  private services: readonly ServiceAnnouncement[] = [];
  /**
   * Nodes whose candidacy is ranked: this node and every node seen alive since this speaker started. Only they can
   * be the first live candidate, and ranking every node for every IP would cost O(IPs × nodes).
   */
  private readonly ranked = new Set<string>();
  private peersText = "";

  constructor(private readonly opts: L2SpeakerOptions) {
    const log = opts.log.child({ controller: "layer2" });
    this.tracker = new LivenessTracker({
      self: opts.nodeName,
      incarnation: Date.now(),
      startMs: this.clock(),
      ...(opts.timing !== undefined ? { timing: opts.timing } : {}),
    });
    this.writer = new ApiWriter(opts.kc, { component: "metallb-speaker" });
    this.status = new L2StatusSync({ kc: opts.kc, nodeName: opts.nodeName, namespace: opts.namespace, log, onApiSuccess: () => this.apiContact() });
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
      onAnnouncedChange: (a) => this.status.set(a),
      onDuplicate: (d) => this.reportDuplicate(d),
      onServiceEvent: (e) => this.reportServiceEvent(e),
      ...(opts.burstMs !== undefined ? { burstMs: opts.burstMs } : {}),
    });
    this.heartbeats = new HeartbeatTransport({
      tracker: this.tracker,
      port: opts.port,
      clock: this.clock,
      log,
      registry: opts.registry,
      onAccepted: () => this.onHeartbeat(),
    });
    this.probe = new ApiserverProbe({
      kc: opts.kc,
      intervalMs: opts.apiProbeIntervalMs ?? 150,
      timeoutMs: opts.apiProbeTimeoutMs ?? 500,
      onReachable: () => this.apiContact(),
      // Heartbeats from live peers are contact enough; ask the apiserver only when they have been quiet a while.
      msSinceContact: () => this.tracker.msSinceContact(this.clock()),
    });
  }

  async start(): Promise<void> {
    await this.heartbeats.start();
    this.controller.start();
    this.probe.start();
    this.controller.reelect();
  }

  /** Every node's half (NodeConfigs) and every published Service half (AnnouncementShards). */
  setInputs(nodes: readonly NodeAnnouncement[], services: readonly ServiceAnnouncement[]): void {
    this.nodes = nodes;
    this.services = services;
    const peers = nodes
      .flatMap((n) => (n.address === null ? [] : [{ node: n.node, address: n.address }]))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const peersText = JSON.stringify(peers);
    if (peersText !== this.peersText) {
      this.peersText = peersText;
      this.heartbeats.setPeers(peers);
    }
    this.replan();
  }

  /** Re-joins the halves for the ranked nodes and hands this node's entries to the controller (which re-elects). */
  private replan(): void {
    this.ranked.add(this.opts.nodeName);
    for (const n of this.tracker.alive(this.clock())) this.ranked.add(n);
    const plan = joinL2(this.services, this.nodes, this.ranked);
    this.controller.setPlan(plan.byNode.get(this.opts.nodeName) ?? []);
  }

  /** A heartbeat was accepted: a node alive for the first time must be ranked before the election runs. */
  private onHeartbeat(): void {
    for (const n of this.tracker.alive(this.clock())) {
      if (!this.ranked.has(n)) {
        this.replan();
        return;
      }
    }
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
    this.tracker.apiserverReachable(this.clock());
  }

  /** Leaves the cluster: tells peers at once ("leaving" heartbeat), stops answering, closes everything. */
  async stop(): Promise<void> {
    this.tracker.leave();
    // Stop answering first, then tell the peers (twice, against one lost datagram) so they take over at once.
    this.controller.releaseAll();
    await this.heartbeats.sendNow();
    await this.heartbeats.sendNow();
    this.probe.stop();
    this.status.stop();
    await this.heartbeats.stop();
    this.controller.close();
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
