// The Layer 2 controller of one speaker: holds this node's published entries (NodeConfig.spec.l2), re-runs the
// pure election (model/src/layer2/election.ts) on every plan change, every accepted heartbeat and at the tracker's
// next change time, and moves the responders to the result: on takeover it starts answering and announces at once
// (gratuitous ARP / unsolicited NA) plus a short burst; on losing ownership or being fenced it stops answering at
// once. A dead owner's IPs are taken over immediately; when the previous holder may still be alive (this node just
// started or came back from a fence, or preempts a lower candidate) the IP is probed first and taken once nobody
// answers, so a holder that has not heard this node yet (asymmetric loss after a partition) never overlaps with it.
// It also reports other stations claiming an owned IP, and publishes MetalLB's metrics. Election decisions stay in
// the pure core (model/src/layer2/election.ts).
import { Counter, Gauge, type Registry } from "prom-client";
import { shouldAnnounce, type L2SkipReason } from "../../../model/src/layer2/election.js";
import type { LivenessTracker } from "../../../model/src/layer2/heartbeat.js";
import type { L2NodeEntry } from "../../../model/src/layer2/plan.js";
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
  /** How often owned IPs are probed (ARP probe / DAD) to provoke a second responder's answer; 0 disables. */
  probeIntervalMs?: number;
  /** How often the interface list is re-read. */
  interfaceScanMs?: number;
  /**
   * Before taking an IP over from a node that may still hold it (this node just became ready, or it preempts a live
   * lower-priority candidate), probe the IP and wait this long for an answer; take over once a probe goes
   * unanswered. 0 disables probing. A dead owner's IPs are always taken over at once.
   */
  takeoverProbeMs?: number;
  /** Give up waiting for the holder to let go after this long (then take over; duplicates get reported). */
  takeoverMaxWaitMs?: number;
  /**
   * An IP won but without an interface is reported (announceFailed) once that has held this long: a node that has
   * just learned its peers (a first plan) may win an IP for a moment before their heartbeats arrive.
   */
  announceFailedAfterMs?: number;
}

export const DEFAULT_BURST_MS: readonly number[] = Object.freeze([50, 150, 400, 1_000, 2_000]);
export const DEFAULT_TAKEOVER_PROBE_MS = 100;
export const DEFAULT_TAKEOVER_MAX_WAIT_MS = 3_000;
export const DEFAULT_ANNOUNCE_FAILED_AFTER_MS = 2_000;
const DUPLICATE_REPORT_EVERY_MS = 30_000;

/** An IP this node should own but is still probing for, waiting for the previous holder to let go. */
interface PendingTakeover {
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

const ipKey = (ip: IPAddress): string => `${ip.family}/${ip.value.toString(16)}`;

export class L2Controller {
  private entries: readonly L2NodeEntry[] = [];
  private readonly announced = new Map<string, Announcement>();
  private readonly pending = new Map<string, PendingTakeover>();
  /** Last election result per IP: reason and owner (who held the IP in this node's view). */
  private readonly lastDecision = new Map<string, { reason: string; owner: string | null }>();
  private readonly responders = new Map<string, ResponderLike>();
  private interfaces: NodeInterface[] = [];
  private changeTimer: ReturnType<typeof setTimeout> | undefined;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private scanTimer: ReturnType<typeof setInterval> | undefined;
  private readonly lastDuplicate = new Map<string, number>();
  private readonly lastReason = new Map<string, string>();
  private closed = false;
  private lastView = "";
  private readonly events: AnnounceEventTracker;
  /** IP key → since when (clock) this node wins it without an interface to announce on. */
  private readonly noInterfaceSince = new Map<string, number>();
  private failTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly m: {
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
    const probeMs = this.opts.probeIntervalMs ?? 2_000;
    if (probeMs > 0) this.probeTimer = setInterval(() => this.probe(), probeMs);
  }

  /** Replaces the entries (a new NodeConfig.spec.l2) and re-elects. */
  setPlan(entries: readonly L2NodeEntry[]): void {
    this.entries = entries;
    this.interfaces = this.opts.listInterfaces();
    this.openResponders();
    this.reelect();
  }

  /** IPs this node answers for now, as text (tests, debugging). */
  ownedIPs(): string[] {
    return [...this.announced.values()].map((a) => formatIP(a.entry.ip));
  }

  /** Runs the election for every entry and applies the result. Synchronous: no decision spans an await. */
  reelect(): void {
    if (this.closed) return;
    const now = this.opts.clock();
    const tracker = this.opts.tracker;
    const fenced = tracker.fenced(now);
    const alive = tracker.alive(now);
    const ready = this.opts.ready();
    const view = `${[...alive].sort().join(",")}|${tracker.fenceStatus(now).reason ?? ""}|${ready}`;
    if (view !== this.lastView) {
      this.lastView = view;
      this.opts.log.info({ alive: [...alive].sort(), fence: tracker.fenceStatus(now).reason, keyKnown: ready }, "liveness view changed");
    }
    const want = new Map<string, { entry: L2NodeEntry; ifaces: string[] }>();
    const noInterface = new Set<string>();
    for (const entry of this.entries) {
      const key = ipKey(entry.ip);
      const d = ready ? shouldAnnounce(entry, this.opts.nodeName, alive, fenced) : { announce: false as const, reason: "fenced" as L2SkipReason, owner: null };
      const reason = d.announce ? "owner" : ready ? d.reason : "noKey";
      this.noteReason(key, entry, reason, d.owner);
      const prev = this.lastDecision.get(key);
      this.lastDecision.set(key, { reason, owner: d.owner });
      if (!d.announce) continue;
      // A fresh takeover from a holder that may still answer: probe first (see takeoverProbeMs).
      if (!this.announced.has(key) && !this.pending.has(key) && this.mustProbe(prev, alive)) {
        const ifaces = selectInterfaces(entry.interfaces, this.interfaces, this.opts.allowInterfaces).filter((i) => this.responders.has(i));
        if (ifaces.length > 0) {
          this.startPending(key, entry, ifaces, now);
          continue;
        }
        // No interface to probe on: noted as noInterface below.
      }
      if (this.pending.has(key)) continue;
      const ifaces = selectInterfaces(entry.interfaces, this.interfaces, this.opts.allowInterfaces).filter((i) => this.responders.has(i));
      if (ifaces.length === 0) {
        this.noteReason(key, entry, "noInterface", d.owner);
        noInterface.add(key);
        continue;
      }
      want.set(key, { entry, ifaces });
    }
    for (const [key, p] of this.pending) {
      if (this.lastDecision.get(key)?.reason === "owner" && this.entries.some((e) => ipKey(e.ip) === key)) continue;
      if (p.timer !== undefined) clearTimeout(p.timer);
      this.pending.delete(key);
    }
    let changed = false;
    for (const [key, cur] of this.announced) {
      const w = want.get(key);
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
      if (cur.ifaces.size === 0 || w === undefined) {
        for (const t of cur.timers) clearTimeout(t);
        this.announced.delete(key);
        for (const s of cur.entry.services) this.m.announced.remove({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(cur.entry.ip) });
        changed = true;
      }
    }
    for (const [key, w] of want) {
      let cur = this.announced.get(key);
      if (cur === undefined) {
        cur = { entry: w.entry, ifaces: new Set(), timers: [] };
        this.announced.set(key, cur);
        changed = true;
      }
      cur.entry = w.entry;
      for (const iface of w.ifaces) {
        if (cur.ifaces.has(iface)) continue;
        this.takeOver(cur, iface);
        changed = true;
      }
      for (const s of w.entry.services) this.m.announced.set({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(w.entry.ip) }, 1);
    }
    this.m.owned.set(this.announced.size);
    if (changed) this.opts.onAnnouncedChange?.(this.announcedServices());
    this.reportOutcomes(noInterface, now);
    this.armChangeTimer(now);
  }

  close(): void {
    this.closed = true;
    for (const t of [this.changeTimer, this.failTimer]) if (t !== undefined) clearTimeout(t);
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    for (const a of this.announced.values()) for (const t of a.timers) clearTimeout(t);
    this.announced.clear();
    for (const p of this.pending.values()) if (p.timer !== undefined) clearTimeout(p.timer);
    this.pending.clear();
    for (const r of this.responders.values()) r.close();
    this.responders.clear();
  }

  /** Stops answering for everything at once (shutdown), keeping the responders open. */
  releaseAll(): void {
    for (const p of this.pending.values()) if (p.timer !== undefined) clearTimeout(p.timer);
    this.pending.clear();
    for (const a of this.announced.values()) {
      for (const t of a.timers) clearTimeout(t);
      for (const iface of a.ifaces) this.responders.get(iface)?.removeIP(a.entry.ip);
      // Only the layer2 series: the gauge is shared with the BGP path's protocol="bgp" series.
      for (const s of a.entry.services) this.m.announced.remove({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(a.entry.ip) });
    }
    this.announced.clear();
    this.m.owned.set(0);
  }

  /**
   * Whether taking the IP over needs a probe first: not when the node that owned it in this node's view has just
   * died or left (failover must be immediate), but when this node just became ready (start, end of a fence) or
   * preempts a live candidate: the holder may not have heard this node yet.
   */
  private mustProbe(prev: { reason: string; owner: string | null } | undefined, alive: ReadonlySet<string>): boolean {
    if ((this.opts.takeoverProbeMs ?? DEFAULT_TAKEOVER_PROBE_MS) <= 0) return false;
    if (prev !== undefined && prev.reason === "notOwner" && prev.owner !== null && !alive.has(prev.owner)) return false;
    return true;
  }

  private startPending(key: string, entry: L2NodeEntry, ifaces: string[], now: number): void {
    const p: PendingTakeover = { entry, ifaces, since: now, probedAt: now, answeredAt: null, timer: undefined };
    this.pending.set(key, p);
    this.opts.log.debug({ ip: formatIP(entry.ip), ifaces }, "probing before takeover");
    this.probePending(key, p);
  }

  private probePending(key: string, p: PendingTakeover): void {
    p.probedAt = this.opts.clock();
    for (const iface of p.ifaces) this.responders.get(iface)?.sendProbe(p.entry.ip);
    p.timer = setTimeout(() => this.checkPending(key, p), this.opts.takeoverProbeMs ?? DEFAULT_TAKEOVER_PROBE_MS);
  }

  private checkPending(key: string, p: PendingTakeover): void {
    if (this.pending.get(key) !== p || this.closed) return;
    const now = this.opts.clock();
    const answered = p.answeredAt !== null && p.answeredAt >= p.probedAt;
    const waited = now - p.since;
    if (answered && waited < (this.opts.takeoverMaxWaitMs ?? DEFAULT_TAKEOVER_MAX_WAIT_MS)) {
      this.probePending(key, p);
      return;
    }
    if (answered) this.opts.log.warn({ ip: formatIP(p.entry.ip), waitedMs: Math.round(waited) }, "the previous holder still answers, taking over anyway");
    this.pending.delete(key);
    // Every re-election since the probe started kept this pending entry only while this node was still the owner.
    if (!this.announced.has(key) && this.lastDecision.get(key)?.reason === "owner") this.commitTakeover(key, p.entry);
  }

  private commitTakeover(key: string, entry: L2NodeEntry): void {
    const ifaces = selectInterfaces(entry.interfaces, this.interfaces, this.opts.allowInterfaces).filter((i) => this.responders.has(i));
    if (ifaces.length === 0) return;
    const a: Announcement = { entry, ifaces: new Set(), timers: [] };
    this.announced.set(key, a);
    for (const iface of ifaces) this.takeOver(a, iface);
    for (const s of entry.services) this.m.announced.set({ service: s, protocol: "layer2", node: this.opts.nodeName, ip: formatIP(entry.ip) }, 1);
    this.m.owned.set(this.announced.size);
    this.opts.onAnnouncedChange?.(this.announcedServices());
    for (const e of this.events.set(formatIP(entry.ip), entry.services, "announced", key)) this.opts.onServiceEvent?.(e);
  }

  /** Service Events for the IPs whose outcome changed (announceFailed / nodeAssigned); probing IPs keep theirs. */
  private reportOutcomes(noInterface: ReadonlySet<string>, now: number): void {
    const inPlan = new Set<string>();
    const holdMs = this.opts.announceFailedAfterMs ?? DEFAULT_ANNOUNCE_FAILED_AFTER_MS;
    let recheckIn: number | undefined;
    for (const entry of this.entries) {
      const key = ipKey(entry.ip);
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
      for (const e of this.events.set(formatIP(entry.ip), entry.services, outcome, key)) this.opts.onServiceEvent?.(e);
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

  private armChangeTimer(now: number): void {
    if (this.changeTimer !== undefined) clearTimeout(this.changeTimer);
    this.changeTimer = undefined;
    const at = this.opts.tracker.nextChangeAt(now);
    if (at === null) return;
    this.changeTimer = setTimeout(() => this.reelect(), Math.max(0, Math.ceil(at - now)) + 1);
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

  /** Periodic probes of every owned IP (ARP probe / DAD solicitation): a silent second holder has to answer them. */
  private probe(): void {
    for (const a of this.announced.values()) {
      for (const iface of a.ifaces) this.responders.get(iface)?.sendProbe(a.entry.ip);
    }
  }
}
