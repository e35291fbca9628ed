// The Layer 2 controller of one speaker: holds this node's published entries (NodeConfig.spec.l2), re-runs the
// pure election (model/src/layer2/election.ts) on every plan change, every accepted heartbeat and at the tracker's
// next change time, and moves the responders to the result: on takeover it starts answering and announces at once
// (gratuitous ARP / unsolicited NA) plus a short burst; on losing ownership or being fenced it stops answering at
// once. Before taking an IP over it probes it (ARP probe / DAD) and takes it once nobody answers, except from an owner
// that said it was leaving:
// - when the previous holder may still be alive (this node just started or came back from a fence, or preempts a
//   lower candidate) it waits for the holder to let go (bounded by takeoverMaxWaitMs);
// - when the previous owner went silent, an answer means its heartbeats are lost but it still serves the LAN (a
//   heartbeat partition): then the holder keeps the IP for as long as it answers, and this node never takes it. That
//   is the partition's tie-break: the data plane itself is the arbiter (no API write on the failover path, and it is
//   exactly what the clients see), so each IP keeps exactly one responder — the one that had it — on both sides of
//   the cut. A holder that is really dead (or stopped) does not answer, and the IP moves after one probe interval.
// Make before break: an owner that lets an IP go on purpose (it is leaving: SIGTERM; or it is cordoned: NodeConfig
// draining, which ranks it last) keeps answering until it sees the next owner's gratuitous ARP/NA for the IP, or
// until handoverMaxMs passes; that next owner claims at once, without a probe (the old owner would answer it).
// Second-chance forwarding: when the IP comes from an owner that is still alive (it left, is cordoned, or is preempted),
// the hand-over forwarder is started first (nft, bounded wait) and only then does this node answer and announce, so
// packets of the previous owner's connections that follow the client's neighbor entry here are passed back to it.
// The forwarding ends when this node stops announcing the IP (or its window passes).
// It also reports other stations claiming an owned IP, and publishes MetalLB's metrics. Election decisions stay in
// the pure core (model/src/layer2/election.ts).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import {
  handedOver,
  handoverTarget,
  OWNERSHIP_CHANGE_TEXT,
  ownershipChangeReason,
  shouldAnnounce,
  type L2SkipReason,
  type OwnershipChangeReason,
} from "../../../model/src/layer2/election.js";
import { forwardsToPreviousOwner, presumedHolder } from "../../../model/src/layer2/handover-forward.js";
import type { LivenessTracker } from "../../../model/src/layer2/heartbeat.js";
import type { L2NodeEntry } from "../../../model/src/layer2/plan.js";
import { DEFAULT_PROBE_ROUND_TIMING, probeRoundTicks, probesDueBy, type ProbeRoundTiming } from "../../../model/src/layer2/probe-rounds.js";
import { formatIP, type IPAddress } from "../../../model/src/net/ip.js";
import type { Logger } from "../../../shell/src/logger.js";
import { AnnounceEventTracker, type AnnounceOutcome, type ServiceEvent } from "./announce-events.js";
import type { ForeignClaim } from "./claims.js";
import { selectInterfaces, type NodeInterface } from "./interfaces.js";
import type { L2ResponderHooks } from "./responder.js";
import type { AnnouncedService } from "./status.js";
import { speakerAnnouncedGauge } from "../metrics.js";

/** What the controller needs of a per-interface responder (L2Responder fits). */
export interface ResponderLike {
  readonly mac: string;
  addIP(ip: IPAddress): void;
  removeIP(ip: IPAddress): void;
  sendGratuitous(ip: IPAddress): number;
  sendProbe(ip: IPAddress): number;
  close(): void;
}

export type ResponderFactory = (ifname: string, hooks: L2ResponderHooks) => ResponderLike;

/** Second-chance forwarding after a hand-over (HandoverForwarding fits). */
export interface HandoverForwarder {
  /**
   * Passes the packets of `ip`'s connections this node did not start to `previous` on `ifaces`, for a window;
   * resolves once that is in place or failed. Null: nothing is forwarded (nothing to wait for).
   */
  begin(ip: IPAddress, previous: string, ifaces: readonly string[]): Promise<void> | null;
  /** This node no longer announces `ip`. */
  end(ip: IPAddress): void;
}

export interface DuplicateResponder {
  ip: string;
  mac: string;
  iface: string;
  kind: ForeignClaim["kind"];
  services: readonly string[];
}

export interface L2ControllerOptions {
  nodeName: string;
  tracker: LivenessTracker;
  /** The tracker's monotonic clock (ms). */
  clock: () => number;
  log: Logger;
  registry: Registry;
  openResponder: ResponderFactory;
  listInterfaces: () => NodeInterface[];
  /** Only ever announce on these interfaces (null = no restriction). */
  allowInterfaces: readonly string[] | null;
  /**
   * The liveness view the election runs on, from the nodes heard alive (default: those alone). L2Speaker adds the
   * speakers it does not watch unless their Node is not Ready (presumed alive, model/src/layer2/watch.ts).
   */
  electionView?: (heardAlive: ReadonlySet<string>) => ReadonlySet<string>;
  /** Whether the liveness protocol can run (the shared key is known); without it nothing is announced. */
  ready: () => boolean;
  /** What this node announces changed (ServiceL2Status). */
  onAnnouncedChange?: (announced: AnnouncedService[]) => void;
  /** A Service Event on a transition of an IP this node wins: announced (nodeAssigned) or no interface (announceFailed). */
  onServiceEvent?: (e: ServiceEvent) => void;
  /** Another station answers for an IP this node announces (rate-limited per IP and MAC). */
  onDuplicate?: (d: DuplicateResponder) => void;
  /** Delays after the immediate announcement at which it is repeated. */
  burstMs?: readonly number[];
  /**
   * How often owned IPs are probed (ARP probe / DAD) to provoke a second responder's answer, at most
   * `probesPerSecond` IPs a second (model/src/layer2/probe-rounds.ts); 0 disables.
   */
  probeIntervalMs?: number;
  probesPerSecond?: number;
  /** How often the interface list is re-read. */
  interfaceScanMs?: number;
  /**
   * Before taking an IP over (this node just became ready, preempts a live lower-priority candidate, or the owner
   * went silent), probe the IP and wait this long for an answer; take over once a probe goes unanswered. 0 disables
   * probing. The IPs of an owner that said it was leaving are taken over at once.
   */
  takeoverProbeMs?: number;
  /**
   * Give up waiting for a holder that is alive in this node's view to let go after this long (then take over;
   * duplicates get reported). An owner whose heartbeats stopped but which still answers keeps the IP (see above).
   */
  takeoverMaxWaitMs?: number;
  /** While a silent owner still answers (heartbeat partition), re-probe this often. */
  partitionProbeMs?: number;
  /**
   * Make before break: how long an owner that hands an IP over (leaving, or cordoned) keeps answering for it at most,
   * waiting to see the next owner's claim; 0 = stop answering at once.
   */
  handoverMaxMs?: number;
  /**
   * A timer meant for `fromMs` fired at `toMs`: reports a possible stall of this process (the tracker excuses it);
   * returns whether it was one. Decisions then wait for the socket to be read (setImmediate).
   */
  noteStall?: (fromMs: number, toMs: number) => boolean;
  /**
   * An IP won but without an interface is reported (announceFailed) once that has held this long: a node that has
   * just learned its peers (a first plan) may win an IP for a moment before their heartbeats arrive.
   */
  announceFailedAfterMs?: number;
  /** Second-chance forwarding after taking an IP over from a live owner; none = off. */
  handoverForwarder?: HandoverForwarder;
}

/** What an election reads of liveness: the nodes heard alive, this node's fence, the key, and who said it leaves. */
function livenessKey(heard: ReadonlySet<string>, fence: string | null, ready: boolean, left: ReadonlySet<string>): string {
  return `${[...heard].sort().join(",")}|${fence ?? ""}|${ready}|${[...left].sort().join(",")}`;
}

export const DEFAULT_BURST_MS: readonly number[] = Object.freeze([50, 150, 400, 1_000, 2_000]);
export const DEFAULT_TAKEOVER_PROBE_MS = 100;
export const DEFAULT_TAKEOVER_MAX_WAIT_MS = 3_000;
export const DEFAULT_PARTITION_PROBE_MS = 500;
export const DEFAULT_HANDOVER_MAX_MS = 1_000;
/** Buckets of metallb_ts_l2_takeover_seconds: sub-second failover is the goal, 2 s the bound under load. */
const TAKEOVER_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2, 3, 5, 10];
export const DEFAULT_ANNOUNCE_FAILED_AFTER_MS = 2_000;
const DUPLICATE_REPORT_EVERY_MS = 30_000;
/**
 * At most this long an IP taken over waits for its hand-over forwarding to be in place before it is answered: the
 * previous owner answers meanwhile (make before break), but only for DEFAULT_HANDOVER_MAX_MS.
 */
export const FORWARD_GATE_MAX_MS = 500;

/** An IP this node should own but is still probing for, waiting for the previous holder to let go. */
interface PendingTakeover {
  /** Why the IP moves here (null: first owner) and from whom. */
  change: OwnershipChangeReason | null;
  previous: string | null;
  /** Logged once: the silent previous owner still answers. */
  partitionLogged: boolean;
  entry: L2NodeEntry;
  ifaces: string[];
  since: number;
  probedAt: number;
  answeredAt: number | null;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Announcement {
  entry: L2NodeEntry;
  ifaces: Set<string>;
  timers: Array<ReturnType<typeof setTimeout>>;
}

/** An IP this node still answers for while it hands it over (make before break). */
interface Handover {
  /** The node expected to claim it. */
  target: string;
  since: number;
  timer: ReturnType<typeof setTimeout>;
}

const ipKey = (ip: IPAddress): string => `${ip.family}/${ip.value.toString(16)}`;

export class L2Controller {
  private entries: readonly L2NodeEntry[] = [];
  /** Nodes published as draining (cordoned), this one included when it is. */
  private draining: ReadonlySet<string> = new Set();
  /**
   * ipKey of each entry (same index) and the set of them, computed once per plan: an election runs ~10 times a second
   * over every entry, and a key is a bigint formatted to text. (Checking each pending takeover against the plan with
   * `entries.some(ipKey…)` cost pending × entries of those per election: at 5,000 IPs taken over at once, seconds of
   * blocked event loop per election, long enough for the peer to find this node silent — issue 12.)
   */
  private entryKeys: readonly string[] = [];
  private planKeys: ReadonlySet<string> = new Set();
  /** What this node announces changed outside an election (a takeover after its probe): reported once per turn. */
  private announcedDirty: ReturnType<typeof setTimeout> | undefined;
  private readonly announced = new Map<string, Announcement>();
  /** IP key → the hand-over in progress (the IP is still in `announced`, answered). */
  private readonly handingOver = new Map<string, Handover>();
  /** IP keys whose hand-over ended (claimed or timed out): not held again until this node wants them back. */
  private readonly handoverDone = new Set<string>();
  /** Resolved when no hand-over is left (handOverAll). */
  private handoverWaiters: Array<() => void> = [];
  /** IP key → when another station last claimed it while this node announced it (clock). */
  private readonly lastForeignClaim = new Map<string, number>();
  private readonly pending = new Map<string, PendingTakeover>();
  /** Last election result per IP: reason and owner (who held the IP in this node's view). */
  private readonly lastDecision = new Map<string, { reason: string; owner: string | null }>();
  /**
   * An election ran with the key known and this node not fenced: from then on an IP seen for the first time is a new
   * one that nobody held (a new Service), not one another node held while this one was starting.
   */
  private electedReady = false;
  private readonly responders = new Map<string, ResponderLike>();
  private interfaces: NodeInterface[] = [];
  private changeTimer: ReturnType<typeof setTimeout> | undefined;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  /** The current round of duplicate probes: the owned IPs when it began, and how far it got (probe-rounds.ts). */
  private probeRound: { keys: string[]; ticks: number; tick: number; sent: number } = { keys: [], ticks: 0, tick: 0, sent: 0 };
  private scanTimer: ReturnType<typeof setInterval> | undefined;
  private readonly lastDuplicate = new Map<string, number>();
  /** IP key → the silent or leaving owner it is being taken from (for the takeover histogram at the first GARP). */
  private readonly takeoverFrom = new Map<string, string>();
  private readonly lastReason = new Map<string, string>();
  private closed = false;
  private lastView = "";
  /** Liveness as the last election saw it (see livenessSignature): a heartbeat that leaves it unchanged elects nothing. */
  private lastLiveness = "";
  /** Peers alive in the last election: one missing now is confirmed after the socket was read (see reelect). */
  private lastHeard: ReadonlySet<string> = new Set();
  private deathCheck: "none" | "scheduled" | "confirming" = "none";
  private readonly events: AnnounceEventTracker;
  /** IP key → since when (clock) this node wins it without an interface to announce on. */
  private readonly noInterfaceSince = new Map<string, number>();
  private failTimer: ReturnType<typeof setTimeout> | undefined;
  /** IP key → why it just moved here (for its nodeAssigned Event), until the Event is sent. */
  private readonly changeDetail = new Map<string, string>();
  /** IP keys taken over but not answered yet: their hand-over forwarding is being put in place (with its bound). */
  private readonly forwardGates = new Map<string, ReturnType<typeof setTimeout>>();
  /** One election for every gate opened in the same turn (thousands open together when one nft batch lands). */
  private gateElection: ReturnType<typeof setTimeout> | undefined;
  private readonly m: {
    takeover: Histogram;
    ownershipChanges: Counter<"reason">;
    fenceChanges: Counter<"reason">;
    announced: Gauge<"service" | "protocol" | "node" | "ip">;
    requests: Counter<"ip">;
    responses: Counter<"ip">;
    gratuitous: Counter<"ip">;
    duplicates: Counter<"ip">;
    owned: Gauge;
  };

  constructor(private readonly opts: L2ControllerOptions) {
    this.events = new AnnounceEventTracker(opts.nodeName);
    const r = [opts.registry];
    this.m = {
      takeover: new Histogram({
        name: "metallb_ts_l2_takeover_seconds",
        help: "Layer 2 failover: from the last heartbeat of the previous (silent or leaving) owner to this node's first gratuitous ARP/NA for the IP",
        buckets: TAKEOVER_BUCKETS,
        registers: r,
      }),
      ownershipChanges: new Counter({
        name: "metallb_ts_layer2_ownership_changes_total",
        help: "IPs this node took over from another owner, by reason (ownerSilent, ownerLeft, nodeExcluded, drain, preference)",
        labelNames: ["reason"],
        registers: r,
      }),
      fenceChanges: new Counter({
        name: "metallb_ts_layer2_fence_changes_total",
        help: "Transitions of this node's fence state, by the new state (none = unfenced)",
        labelNames: ["reason"],
        registers: r,
      }),
      announced: speakerAnnouncedGauge(opts.registry),
      requests: new Counter({
        name: "metallb_layer2_requests_received",
        help: "Number of layer2 requests received for owned IPs",
        labelNames: ["ip"],
        registers: r,
      }),
      responses: new Counter({
        name: "metallb_layer2_responses_sent",
        help: "Number of layer2 responses sent for owned IPs",
        labelNames: ["ip"],
        registers: r,
      }),
      gratuitous: new Counter({
        name: "metallb_layer2_gratuitous_sent",
        help: "Number of gratuitous layer2 packets sent for owned IPs",
        labelNames: ["ip"],
        registers: r,
      }),
      duplicates: new Counter({
        name: "metallb_ts_layer2_duplicate_responders_total",
        help: "Frames from another station claiming an IP this node announces",
        labelNames: ["ip"],
        registers: r,
      }),
      owned: new Gauge({ name: "metallb_ts_layer2_owned_ips", help: "IPs this node currently answers for", registers: r }),
    };
  }

  /** Starts the periodic interface scan and duplicate probes. */
  start(): void {
    this.interfaces = this.opts.listInterfaces();
    this.scanTimer = setInterval(() => this.rescanInterfaces(), this.opts.interfaceScanMs ?? 10_000);
    const timing: ProbeRoundTiming = {
      ...DEFAULT_PROBE_ROUND_TIMING,
      ...(this.opts.probeIntervalMs !== undefined ? { intervalMs: this.opts.probeIntervalMs } : {}),
      ...(this.opts.probesPerSecond !== undefined ? { perSecond: this.opts.probesPerSecond } : {}),
    };
    if (timing.intervalMs > 0 && timing.perSecond > 0) this.probeTimer = setInterval(() => this.probeTick(timing), timing.tickMs);
  }

  /** Replaces the entries (a new NodeConfig.spec.l2) and the set of draining (cordoned) nodes, and re-elects. */
  setPlan(entries: readonly L2NodeEntry[], draining: ReadonlySet<string> = new Set()): void {
    this.entries = entries;
    this.draining = draining;
    this.entryKeys = entries.map((e) => ipKey(e.ip));
    this.planKeys = new Set(this.entryKeys);
    this.interfaces = this.opts.listInterfaces();
    this.openResponders();
    this.reelect();
  }

  /** IPs this node answers for now, as text (tests, debugging). */
  ownedIPs(): string[] {
    return [...this.announced.values()].map((a) => formatIP(a.entry.ip));
  }

  /**
   * A heartbeat was accepted: elect again only if it changed what the election reads of liveness (a peer came back or
   * changed its status, this node's fence). An election costs O(IPs); running one for every heartbeat from every peer
   * (10 a second each) was the speaker's largest CPU cost at 5,000 IPs, which delayed its event loop enough to make
   * it see live peers as silent.
   */
  livenessChanged(): void {
    if (this.closed) return;
    const now = this.opts.clock();
    const tracker = this.opts.tracker;
    const liveness = livenessKey(tracker.alive(now), tracker.fenceStatus(now).reason, this.opts.ready(), this.leavingPeers(now));
    if (liveness !== this.lastLiveness) this.reelect();
  }

  /** Runs the election for every entry and applies the result. Synchronous: no decision spans an await. */
  reelect(): void {
    if (this.closed) return;
    const now = this.opts.clock();
    const tracker = this.opts.tracker;
    const fenced = tracker.fenced(now);
    const heard = tracker.alive(now);
    // A peer alive at the last election and not now may only look silent because this process was busy (a long task
    // since the socket was last read). Decide after the loop has read it: two setImmediate turns have a poll phase in
    // between, wherever this runs. A dead peer costs a loop turn; a live one's queued heartbeat is read first.
    if (this.deathCheck !== "confirming" && this.someWentSilent(heard, now)) {
      if (this.deathCheck === "none") {
        this.deathCheck = "scheduled";
        setImmediate(() =>
          setImmediate(() => {
            this.deathCheck = "confirming";
            try {
              this.reelect();
            } finally {
              this.deathCheck = "none";
            }
          }),
        );
      }
      return;
    }
    const alive = this.opts.electionView?.(heard) ?? heard;
    const ready = this.opts.ready();
    const fence = tracker.fenceStatus(now).reason;
    const left = this.leavingPeers(now);
    this.lastHeard = heard;
    this.lastLiveness = livenessKey(heard, fence, ready, left);
    const view = `${[...heard].sort().join(",")}|${fence ?? ""}|${ready}`;
    if (view !== this.lastView) {
      if (this.lastView.split("|")[1] !== (fence ?? "")) this.m.fenceChanges.inc({ reason: fence ?? "none" });
      this.lastView = view;
      this.opts.log.info({ alive: [...heard].sort(), fence, keyKnown: ready }, "liveness view changed");
    }
    const want = new Map<string, { entry: L2NodeEntry; ifaces: string[] }>();
    const noInterface = new Set<string>();
    for (const [i, entry] of this.entries.entries()) {
      const key = this.entryKeys[i] ?? ipKey(entry.ip);
      const d = ready ? shouldAnnounce(entry, this.opts.nodeName, alive, fenced) : { announce: false as const, reason: "fenced" as L2SkipReason, owner: null };
      const reason = d.announce ? "owner" : ready ? d.reason : "noKey";
      this.noteReason(key, entry, reason, d.owner);
      const prev = this.lastDecision.get(key);
      this.lastDecision.set(key, { reason, owner: d.owner });
      if (!d.announce) continue;
      const fresh = !this.announced.has(key) && !this.pending.has(key);
      const previous = prev?.reason === "notOwner" ? prev.owner : null;
      const change = fresh ? ownershipChangeReason(previous, this.opts.nodeName, entry.candidates, { alive, left, draining: this.draining }) : null;
      // A fresh takeover from a holder that may still answer: probe first (see takeoverProbeMs).
      if (fresh && this.mustProbe(change)) {
        const ifaces = this.answeringInterfaces(entry);
        if (ifaces.length > 0) {
          // No previous owner known because this node just started or was fenced (its last decision for the IP was
          // no election, or it never elected before): the live one it takes the IP from, for the hand-over forwarding
          // only (the change stays unreported, as before). An IP first seen after that is new: nobody to forward to.
          const unknownHolder = prev === undefined ? !this.electedReady : prev.reason === "fenced" || prev.reason === "noKey";
          const holder = previous ?? (change === null && unknownHolder ? presumedHolder(entry.candidates, this.opts.nodeName, alive) : null);
          this.startPending(key, entry, ifaces, now, { change, previous: holder });
          continue;
        }
        // No interface to probe on: noted as noInterface below.
      }
      if (fresh && change !== null) this.noteChange(key, entry, change, previous);
      if (this.pending.has(key)) continue;
      const ifaces = this.answeringInterfaces(entry);
      if (ifaces.length === 0) {
        this.noteReason(key, entry, "noInterface", d.owner);
        noInterface.add(key);
        continue;
      }
      want.set(key, { entry, ifaces });
    }
    if (ready && !fenced && this.entries.length > 0) this.electedReady = true;
    for (const [key, p] of this.pending) {
      if (this.lastDecision.get(key)?.reason === "owner" && this.planKeys.has(key)) continue;
      if (p.timer !== undefined) clearTimeout(p.timer);
      this.pending.delete(key);
    }
    let changed = false;
    for (const [key, cur] of this.announced) {
      const w = want.get(key);
      if (w === undefined && this.holdForHandover(key, cur, alive, now)) continue;
      if (w !== undefined) {
        this.cancelHandover(key);
        this.handoverDone.delete(key);
      }
      for (const iface of [...cur.ifaces]) {
        if (w !== undefined && w.ifaces.includes(iface)) continue;
        this.responders.get(iface)?.removeIP(cur.entry.ip);
        cur.ifaces.delete(iface);
        this.opts.log.info(
          { ip: formatIP(cur.entry.ip), iface, reason: this.lastReason.get(key)?.split("|")[0], fence: tracker.fenceStatus(now).reason },
          "withdrawn",
        );
        changed = true;
      }
      // Still wanted (on other interfaces, or not answered yet behind its forwarding gate): kept, the loop below adds
      // its interfaces.
      if (w === undefined) {
        for (const t of cur.timers) clearTimeout(t);
        this.closeGate(key);
        this.opts.handoverForwarder?.end(cur.entry.ip);
        this.cancelHandover(key);
        this.handoverDone.delete(key);
        this.announced.delete(key);
        this.takeoverFrom.delete(key);
        this.changeDetail.delete(key);
        for (const s of cur.entry.services) this.m.announced.remove({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(cur.entry.ip) });
        changed = true;
      }
    }
    for (const [key, w] of want) {
      let cur = this.announced.get(key);
      const entryChanged = cur === undefined || cur.entry !== w.entry;
      if (cur === undefined) {
        cur = { entry: w.entry, ifaces: new Set(), timers: [] };
        this.announced.set(key, cur);
        changed = true;
      }
      cur.entry = w.entry;
      for (const iface of w.ifaces) {
        if (cur.ifaces.has(iface) || this.forwardGates.has(key)) continue;
        this.takeOver(cur, iface);
        changed = true;
      }
      // Only when the entry is new or changed: formatting and hashing labels for every owned IP at every election
      // cost as much as the election itself.
      if (entryChanged)
        for (const s of w.entry.services) this.m.announced.set({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(w.entry.ip) }, 1);
    }
    this.m.owned.set(this.announced.size);
    if (changed) this.reportAnnounced();
    this.reportOutcomes(noInterface, now);
    this.armChangeTimer(now);
  }

  close(): void {
    this.closed = true;
    for (const t of [this.changeTimer, this.failTimer, this.announcedDirty, this.gateElection]) if (t !== undefined) clearTimeout(t);
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    for (const a of this.announced.values()) for (const t of a.timers) clearTimeout(t);
    this.announced.clear();
    for (const p of this.pending.values()) if (p.timer !== undefined) clearTimeout(p.timer);
    this.pending.clear();
    for (const key of [...this.handingOver.keys()]) this.cancelHandover(key);
    for (const key of [...this.forwardGates.keys()]) this.closeGate(key);
    for (const r of this.responders.values()) r.close();
    this.responders.clear();
  }

  /**
   * Make before break on shutdown (after the tracker's leave()): re-elects, so every owned IP with another live
   * candidate is handed over (still answered until its next owner claims it, bounded by handoverMaxMs), and resolves
   * once no hand-over is left. The caller tells the peers (leaving heartbeats) meanwhile, then calls releaseAll().
   */
  handOverAll(): Promise<void> {
    this.reelect();
    if (this.handingOver.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.handoverWaiters.push(resolve));
  }

  /** Stops answering for everything at once (shutdown), keeping the responders open. */
  releaseAll(): void {
    for (const p of this.pending.values()) if (p.timer !== undefined) clearTimeout(p.timer);
    this.pending.clear();
    for (const key of [...this.handingOver.keys()]) this.cancelHandover(key);
    for (const key of [...this.forwardGates.keys()]) this.closeGate(key);
    for (const a of this.announced.values()) {
      for (const t of a.timers) clearTimeout(t);
      this.opts.handoverForwarder?.end(a.entry.ip);
      for (const iface of a.ifaces) this.responders.get(iface)?.removeIP(a.entry.ip);
      // Only the layer2 series: the gauge is shared with the BGP path's protocol="bgp" series.
      for (const s of a.entry.services) this.m.announced.remove({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(a.entry.ip) });
    }
    this.announced.clear();
    this.m.owned.set(0);
  }

  /**
   * Whether taking the IP over needs a probe first: always, except from an owner that said it was leaving (it
   * stopped answering before it said so). A silent owner may be cut off from the heartbeats only, and a holder that
   * is alive may not have heard this node yet.
   */
  private mustProbe(change: OwnershipChangeReason | null): boolean {
    if ((this.opts.takeoverProbeMs ?? DEFAULT_TAKEOVER_PROBE_MS) <= 0) return false;
    return !handedOver(change);
  }

  /** Whether this node lets its IPs go on purpose now: it is leaving (shutdown) or cordoned. */
  private handingOff(now: number): boolean {
    return this.opts.tracker.fenceStatus(now).reason === "leaving" || this.draining.has(this.opts.nodeName);
  }

  /**
   * Keeps answering for an IP this node no longer wants, when it hands it over (see handoverTarget): until the next
   * owner's claim is seen (duplicate()) or handoverMaxMs passes. False: let it go now.
   */
  private holdForHandover(key: string, cur: Announcement, alive: ReadonlySet<string>, now: number): boolean {
    if (this.handingOver.has(key)) return true;
    const maxMs = this.opts.handoverMaxMs ?? DEFAULT_HANDOVER_MAX_MS;
    if (maxMs <= 0 || this.handoverDone.has(key)) return false;
    const target = handoverTarget(cur.entry.candidates, this.opts.nodeName, alive, this.handingOff(now));
    if (target === null) return false;
    // The next owner may have claimed it already (it saw the cordon first): nothing to wait for.
    const claimed = this.lastForeignClaim.get(key);
    if (claimed !== undefined && now - claimed <= maxMs) return false;
    const timer = setTimeout(() => this.endHandover(key, "timeout"), maxMs);
    this.handingOver.set(key, { target, since: now, timer });
    this.opts.log.info({ ip: formatIP(cur.entry.ip), to: target }, "handing over: answering until the next owner claims the IP");
    return true;
  }

  /** The hand-over of an IP ended (claimed by the next owner, or the bound passed): stop answering for it. */
  private endHandover(key: string, why: "claimed" | "timeout"): void {
    const h = this.handingOver.get(key);
    if (h === undefined || this.closed) return;
    const cur = this.announced.get(key);
    const fields = { ip: cur === undefined ? key : formatIP(cur.entry.ip), to: h.target, waitedMs: Math.round(this.opts.clock() - h.since) };
    if (why === "claimed") this.opts.log.info(fields, "handed over");
    else this.opts.log.warn(fields, "hand-over not confirmed by a claim in time, stopping anyway");
    this.cancelHandover(key);
    this.handoverDone.add(key);
    // The election no longer wants it (a hand-over is cancelled when it does): reelect drops it now.
    this.reelect();
  }

  private cancelHandover(key: string): void {
    const h = this.handingOver.get(key);
    if (h === undefined) return;
    clearTimeout(h.timer);
    this.handingOver.delete(key);
    if (this.handingOver.size > 0) return;
    const waiters = this.handoverWaiters;
    this.handoverWaiters = [];
    for (const w of waiters) w();
  }

  /** Records why the IP moved here: a metric, a log line and the detail of its nodeAssigned Event. */
  private noteChange(key: string, entry: L2NodeEntry, change: OwnershipChangeReason, previous: string | null): void {
    this.m.ownershipChanges.inc({ reason: change });
    const text = `${OWNERSHIP_CHANGE_TEXT[change]}: took over from node "${previous ?? ""}"`;
    this.changeDetail.set(key, text);
    this.opts.log.info({ ip: formatIP(entry.ip), previous, reason: change, services: entry.services }, "taking over");
    if ((change === "ownerSilent" || change === "ownerLeft") && previous !== null) this.takeoverFrom.set(key, previous);
    this.startForwarding(key, entry, change, previous);
  }

  /**
   * From an owner still alive: forwards its connections back to it (see the file header). The IP is answered once
   * that is in place, or after FORWARD_GATE_MAX_MS.
   */
  private startForwarding(key: string, entry: L2NodeEntry, change: OwnershipChangeReason, previous: string | null): void {
    const forwarder = this.opts.handoverForwarder;
    if (forwarder === undefined || previous === null || !forwardsToPreviousOwner(change)) return;
    const ifaces = this.answeringInterfaces(entry);
    const ready = forwarder.begin(entry.ip, previous, ifaces);
    if (ready === null) return;
    this.closeGate(key);
    this.forwardGates.set(
      key,
      setTimeout(() => this.openGate(key), FORWARD_GATE_MAX_MS),
    );
    void ready.then(
      () => this.openGate(key),
      () => this.openGate(key),
    );
  }

  /**
   * The forwarding of a taken-over IP is in place (or took too long): answer and announce it, at the next turn's
   * election, shared by every gate opened meanwhile (one election per gate would cost O(IPs²) after a mass hand-over).
   */
  private openGate(key: string): void {
    if (!this.forwardGates.has(key)) return;
    this.closeGate(key);
    if (this.closed || this.gateElection !== undefined) return;
    this.gateElection = setTimeout(() => {
      this.gateElection = undefined;
      if (!this.closed) this.reelect();
    }, 0);
  }

  /** The interfaces this node answers an entry's IP on: its advertisements' selection, among those with a responder. */
  private answeringInterfaces(entry: L2NodeEntry): string[] {
    return selectInterfaces(entry.interfaces, this.interfaces, this.opts.allowInterfaces).filter((i) => this.responders.has(i));
  }

  private closeGate(key: string): void {
    const t = this.forwardGates.get(key);
    if (t !== undefined) clearTimeout(t);
    this.forwardGates.delete(key);
  }

  private startPending(
    key: string,
    entry: L2NodeEntry,
    ifaces: string[],
    now: number,
    { change, previous }: { change: OwnershipChangeReason | null; previous: string | null },
  ): void {
    const p: PendingTakeover = { change, previous, partitionLogged: false, entry, ifaces, since: now, probedAt: now, answeredAt: null, timer: undefined };
    this.pending.set(key, p);
    this.opts.log.debug({ ip: formatIP(entry.ip), ifaces }, "probing before takeover");
    this.probePending(key, p);
  }

  private probePending(key: string, p: PendingTakeover, waitMs = this.opts.takeoverProbeMs ?? DEFAULT_TAKEOVER_PROBE_MS): void {
    p.probedAt = this.opts.clock();
    for (const iface of p.ifaces) this.responders.get(iface)?.sendProbe(p.entry.ip);
    p.timer = setTimeout(() => this.checkPending(key, p), waitMs);
  }

  private checkPending(key: string, p: PendingTakeover): void {
    if (this.pending.get(key) !== p || this.closed) return;
    const now = this.opts.clock();
    const answered = p.answeredAt !== null && p.answeredAt >= p.probedAt;
    const waited = now - p.since;
    if (answered && p.change === "ownerSilent") {
      // Heartbeat partition: the silent owner still serves the LAN, so it keeps the IP (see the file header).
      if (!p.partitionLogged) {
        this.opts.log.warn({ ip: formatIP(p.entry.ip), previous: p.previous }, "the silent owner still answers (heartbeats lost, LAN fine): it keeps the IP");
        p.partitionLogged = true;
      }
      this.probePending(key, p, this.opts.partitionProbeMs ?? DEFAULT_PARTITION_PROBE_MS);
      return;
    }
    if (answered && waited < (this.opts.takeoverMaxWaitMs ?? DEFAULT_TAKEOVER_MAX_WAIT_MS)) {
      this.probePending(key, p);
      return;
    }
    if (answered) this.opts.log.warn({ ip: formatIP(p.entry.ip), waitedMs: Math.round(waited) }, "the previous holder still answers, taking over anyway");
    this.pending.delete(key);
    // Every re-election since the probe started kept this pending entry only while this node was still the owner.
    if (!this.announced.has(key) && this.lastDecision.get(key)?.reason === "owner") {
      if (p.change !== null) this.noteChange(key, p.entry, p.change, p.previous);
      // Taken back by a node that just started: its holder is alive and ranks after it, as in a preference change.
      else if (p.previous !== null) this.startForwarding(key, p.entry, "preference", p.previous);
      this.commitTakeover(key, p.entry);
    }
  }

  private commitTakeover(key: string, entry: L2NodeEntry): void {
    const ifaces = this.answeringInterfaces(entry);
    if (ifaces.length === 0) return;
    const a: Announcement = { entry, ifaces: new Set(), timers: [] };
    this.announced.set(key, a);
    // Waiting for its hand-over forwarding: answered by the election that opens the gate.
    if (!this.forwardGates.has(key)) for (const iface of ifaces) this.takeOver(a, iface);
    for (const s of entry.services) this.m.announced.set({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(entry.ip) }, 1);
    this.m.owned.set(this.announced.size);
    // Thousands of probes end together after a burst: one report for all of them, not one O(owned) list per IP.
    if (this.announcedDirty === undefined) this.announcedDirty = setTimeout(() => this.reportAnnounced(), 0);
    for (const e of this.events.set(formatIP(entry.ip), entry.services, "announced", key, this.takeDetail(key))) this.opts.onServiceEvent?.(e);
  }

  private reportAnnounced(): void {
    if (this.announcedDirty !== undefined) clearTimeout(this.announcedDirty);
    this.announcedDirty = undefined;
    if (!this.closed) this.opts.onAnnouncedChange?.(this.announcedServices());
  }

  private takeDetail(key: string): string | undefined {
    const d = this.changeDetail.get(key);
    this.changeDetail.delete(key);
    return d;
  }

  /** Service Events for the IPs whose outcome changed (announceFailed / nodeAssigned); probing IPs keep theirs. */
  private reportOutcomes(noInterface: ReadonlySet<string>, now: number): void {
    const inPlan = new Set<string>();
    const holdMs = this.opts.announceFailedAfterMs ?? DEFAULT_ANNOUNCE_FAILED_AFTER_MS;
    let recheckIn: number | undefined;
    for (const [i, entry] of this.entries.entries()) {
      const key = this.entryKeys[i] ?? ipKey(entry.ip);
      inPlan.add(key);
      if (!noInterface.has(key)) this.noInterfaceSince.delete(key);
      if (this.pending.has(key)) continue;
      let outcome: AnnounceOutcome | null = this.announced.has(key) ? "announced" : null;
      if (noInterface.has(key)) {
        const since = this.noInterfaceSince.get(key) ?? now;
        this.noInterfaceSince.set(key, since);
        const left = since + holdMs - now;
        if (left > 0) {
          recheckIn = Math.min(recheckIn ?? left, left);
          continue;
        }
        outcome = "announceFailed";
      }
      if ((this.events.outcomeOf(key) ?? null) === outcome) continue;
      const detail = outcome === "announced" ? this.takeDetail(key) : undefined;
      for (const e of this.events.set(formatIP(entry.ip), entry.services, outcome, key, detail)) this.opts.onServiceEvent?.(e);
    }
    for (const key of this.noInterfaceSince.keys()) if (!noInterface.has(key)) this.noInterfaceSince.delete(key);
    this.events.retain(inPlan);
    if (this.failTimer !== undefined) clearTimeout(this.failTimer);
    this.failTimer = recheckIn === undefined ? undefined : setTimeout(() => this.reelect(), Math.ceil(recheckIn) + 1);
  }

  private takeOver(a: Announcement, iface: string): void {
    const r = this.responders.get(iface);
    if (r === undefined) return;
    const ip = a.entry.ip;
    r.addIP(ip);
    a.ifaces.add(iface);
    this.announce(r, ip);
    // Failover time, as the new owner sees it: from the previous owner's last heartbeat to this first announcement.
    const from = this.takeoverFrom.get(ipKey(ip));
    if (from !== undefined) {
      this.takeoverFrom.delete(ipKey(ip));
      const lastSeen = this.opts.tracker.lastSeenMs(from);
      if (lastSeen !== null) this.m.takeover.observe(Math.max(0, this.opts.clock() - lastSeen) / 1000);
    }
    this.opts.log.info({ ip: formatIP(ip), iface, services: a.entry.services, alive: [...this.opts.tracker.alive(this.opts.clock())] }, "announcing");
    for (const delay of this.opts.burstMs ?? DEFAULT_BURST_MS) {
      const t = setTimeout(() => {
        if (this.announced.get(ipKey(ip))?.ifaces.has(iface) === true) this.announce(r, ip);
      }, delay);
      a.timers.push(t);
    }
  }

  private announce(r: ResponderLike, ip: IPAddress): void {
    if (r.sendGratuitous(ip) > 0) this.m.gratuitous.inc({ ip: formatIP(ip) });
  }

  private noteReason(key: string, entry: L2NodeEntry, reason: string, owner: string | null): void {
    const text = `${reason}|${owner ?? ""}`;
    if (this.lastReason.get(key) === text) return;
    this.lastReason.set(key, text);
    this.opts.log.debug({ ip: formatIP(entry.ip), reason, owner, services: entry.services }, "layer 2 election");
  }

  /** Whether a peer alive at the last election is not now, without having said so (leaving, standby): it went silent. */
  private someWentSilent(heard: ReadonlySet<string>, now: number): boolean {
    // The peer states (a sorted copy) only when someone is missing, which is rare.
    if (![...this.lastHeard].some((n) => n !== this.opts.nodeName && !heard.has(n))) return false;
    return this.opts.tracker.peerStates(now).some((p) => p.status === "ready" && this.lastHeard.has(p.node) && !heard.has(p.node));
  }

  /** Peers whose last heartbeat said they are leaving. */
  private leavingPeers(now: number): Set<string> {
    const left = new Set<string>();
    for (const p of this.opts.tracker.peerStates(now)) if (p.status === "leaving") left.add(p.node);
    return left;
  }

  private armChangeTimer(now: number): void {
    if (this.changeTimer !== undefined) clearTimeout(this.changeTimer);
    this.changeTimer = undefined;
    const at = this.opts.tracker.nextChangeAt(now);
    if (at === null) return;
    const delay = Math.max(0, Math.ceil(at - now)) + 1;
    const due = now + delay;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      // Late by a stall of this process: the peers' heartbeats may be waiting in the socket. Excuse the stall and
      // decide after the I/O phase has read them (setImmediate runs after poll), never before.
      if (this.opts.noteStall?.(due, this.opts.clock()) === true) setImmediate(() => this.reelect());
      else this.reelect();
    }, delay);
  }

  private announcedServices(): AnnouncedService[] {
    const byService = new Map<string, Set<string>>();
    const restricted = new Map<string, boolean>();
    for (const a of this.announced.values()) {
      for (const s of a.entry.services) {
        const set = byService.get(s) ?? new Set<string>();
        for (const i of a.ifaces) set.add(i);
        byService.set(s, set);
        restricted.set(s, (restricted.get(s) ?? false) || a.entry.interfaces.length > 0);
      }
    }
    return [...byService.entries()].map(([service, ifaces]) => ({ service, interfaces: restricted.get(service) === true ? [...ifaces].sort() : [] }));
  }

  /** Opens a responder on every interface some entry of this node may be announced on; closes unused ones. */
  private openResponders(): void {
    const needed = new Set<string>();
    for (const e of this.entries) for (const i of selectInterfaces(e.interfaces, this.interfaces, this.opts.allowInterfaces)) needed.add(i);
    for (const iface of needed) {
      if (this.responders.has(iface)) continue;
      try {
        this.responders.set(iface, this.opts.openResponder(iface, this.hooksFor(iface)));
        this.opts.log.info({ iface }, "layer 2 responder opened");
      } catch (e) {
        this.opts.log.warn({ err: e, iface }, "opening layer 2 responder failed");
      }
    }
    for (const [iface, r] of this.responders) {
      if (needed.has(iface)) continue;
      for (const a of this.announced.values()) {
        if (!a.ifaces.delete(iface)) continue;
        r.removeIP(a.entry.ip);
      }
      r.close();
      this.responders.delete(iface);
    }
  }

  private rescanInterfaces(): void {
    const next = this.opts.listInterfaces();
    const text = (l: NodeInterface[]): string => l.map((i) => `${i.name}=${i.mac}`).join(",");
    if (text(next) === text(this.interfaces)) return;
    this.interfaces = next;
    this.openResponders();
    this.reelect();
  }

  private hooksFor(iface: string): L2ResponderHooks {
    return {
      request: (ip) => this.m.requests.inc({ ip: formatIP(ip) }),
      reply: (ip) => this.m.responses.inc({ ip: formatIP(ip) }),
      claim: (c) => this.duplicate(iface, c),
    };
  }

  private duplicate(iface: string, c: ForeignClaim): void {
    // Another interface of this node on the same segment (e.g. two NICs on one VLAN) is not a second responder.
    if (this.interfaces.some((i) => i.mac === c.mac) || [...this.responders.values()].some((r) => r.mac === c.mac)) return;
    const pending = this.pending.get(ipKey(c.ip));
    if (pending !== undefined) {
      pending.answeredAt = this.opts.clock();
      return;
    }
    const a = this.announced.get(ipKey(c.ip));
    if (a === undefined) return;
    const now = this.opts.clock();
    this.lastForeignClaim.set(ipKey(c.ip), now);
    if (this.handingOver.has(ipKey(c.ip))) {
      // The next owner's claim: make before break is done for this IP.
      this.endHandover(ipKey(c.ip), "claimed");
      return;
    }
    // A claim while this node still owns the IP may be the next owner of a hand-over this node has not started yet
    // (it learned of this node's cordon first): reported only if this node still answers for it after the bound.
    const graceMs = this.opts.handoverMaxMs ?? DEFAULT_HANDOVER_MAX_MS;
    if (graceMs > 0 && a.entry.candidates.length > 1) {
      setTimeout(() => {
        if (!this.closed && this.announced.has(ipKey(c.ip)) && !this.handingOver.has(ipKey(c.ip))) this.reportDuplicate(iface, c, a);
      }, graceMs);
      return;
    }
    this.reportDuplicate(iface, c, a);
  }

  private reportDuplicate(iface: string, c: ForeignClaim, a: Announcement): void {
    const ip = formatIP(c.ip);
    this.m.duplicates.inc({ ip });
    const key = `${ip}|${c.mac}`;
    const now = this.opts.clock();
    const last = this.lastDuplicate.get(key);
    if (last !== undefined && now - last < DUPLICATE_REPORT_EVERY_MS) return;
    this.lastDuplicate.set(key, now);
    this.opts.log.warn({ ip, mac: c.mac, iface, kind: c.kind }, "another station answers for an announced IP");
    this.opts.onDuplicate?.({ ip, mac: c.mac, iface, kind: c.kind, services: a.entry.services });
  }

  /**
   * Periodic probes of the owned IPs (ARP probe / DAD solicitation), which a silent second holder has to answer: each
   * tick sends those of the current round that are due; an IP no longer announced is skipped.
   */
  private probeTick(timing: ProbeRoundTiming): void {
    let round = this.probeRound;
    if (round.tick >= round.ticks && round.sent >= round.keys.length) {
      const keys = [...this.announced.keys()];
      round = this.probeRound = { keys, ticks: probeRoundTicks(keys.length, timing), tick: 0, sent: 0 };
    }
    round.tick += 1;
    const due = probesDueBy(round.tick, round.keys.length, round.ticks);
    for (; round.sent < due; round.sent++) {
      const a = this.announced.get(round.keys[round.sent] ?? "");
      if (a !== undefined) for (const iface of a.ifaces) this.responders.get(iface)?.sendProbe(a.entry.ip);
    }
  }
}
