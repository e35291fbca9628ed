// Heartbeats between speakers over UDP: every interval this node sends its heartbeat (authenticated with the shared
// key) to every other speaker's address, and feeds the verified heartbeats it receives into the liveness tracker.
// Unauthenticated, foreign or replayed datagrams are dropped and counted. The tracker (model/src/layer2/heartbeat.ts)
// owns all decisions; this file owns the sockets and the timer.
//
// A flood at the port must not crowd real heartbeats out (issue 17: 382 of 5,000 datagrams were processed, the rest
// overflowed the socket buffer while the process verified junk). So the receive path is as cheap as it can be and
// runs before anything else touches the datagram: a length check, then a per-source token bucket (a peer sends 10
// per second; a source beyond the bucket is dropped before any MAC is computed), then the MAC. The socket's receive
// buffer is raised (up to what the kernel allows without privileges) to ride out bursts while the loop is busy.
// Sending is done by a thread of its own (heartbeat-sender.ts), fed with heartbeats signed up to `signAheadMs` ahead,
// so that a busy main loop does not make this node look dead. The main loop's tick (once per interval) tops that
// queue up and watches this process: when it fires late by a stall, the tracker is told (noteStall).
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { Counter, type Registry } from "prom-client";
import {
  decodeHeartbeat,
  encodeHeartbeat,
  HEARTBEAT_MAX_NODE_BYTES,
  HEARTBEAT_MIN_KEY_BYTES,
  heartbeatLength,
  type HeartbeatDecodeError,
  type LivenessTracker,
  type ObserveResult,
} from "../../../model/src/layer2/heartbeat.js";
import type { Logger } from "../../../shell/src/logger.js";
import { HeartbeatSenderThread } from "./heartbeat-sender.js";

export interface SpeakerAddress {
  node: string;
  address: string;
}

/** Why a received datagram was not counted as liveness. */
export type HeartbeatDropReason = HeartbeatDecodeError | Exclude<ObserveResult, "accepted"> | "noKey" | "rateLimited";

/** Per-source budget: a burst of this many datagrams, refilled at this rate (a peer sends 1 per interval). */
export const SOURCE_BURST = 20;
export const SOURCE_PER_SECOND = 20;
/** Sources tracked at once; beyond, new sources share one bucket. */
const MAX_SOURCES = 1_024;
const SHARED = "*";
/**
 * How far ahead heartbeats are signed for the sending thread: a main loop stalled longer than this goes silent (and
 * its IPs fail over). Far above the stalls a busy node has (hundreds of ms), below what a user would wait.
 */
export const DEFAULT_SIGN_AHEAD_MS = 2_000;
/** Receive buffer asked for (the kernel caps it at net.core.rmem_max; never changed here). */
const RECV_BUFFER_BYTES = 1 << 20;

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets per source "address:port"; pure except for the clock passed in. */
export class SourceLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly burst = SOURCE_BURST,
    private readonly perSecond = SOURCE_PER_SECOND,
  ) {}

  /** Takes one token for `source` at `nowMs`; false when its budget is spent. */
  take(source: string, nowMs: number): boolean {
    let b = this.buckets.get(source);
    if (b === undefined) {
      if (this.buckets.size >= MAX_SOURCES && source !== SHARED) this.sweep(nowMs);
      if (this.buckets.size >= MAX_SOURCES && source !== SHARED) return this.take(SHARED, nowMs);
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) * this.perSecond) / 1000);
    b.at = nowMs;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Forgets sources whose bucket has refilled (idle long enough). */
  private sweep(nowMs: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((nowMs - b.at) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(k);
  }
}

export interface HeartbeatTransportOptions {
  tracker: LivenessTracker;
  port: number;
  /** IPv4 address to bind (default 0.0.0.0); when set, no IPv6 socket is opened (tests bind 127.0.0.x). */
  bindAddress?: string;
  /** Monotonic clock in ms (the tracker's time base) and the wall clock (informational sentAtMs). */
  clock: () => number;
  wallClock?: () => number;
  log: Logger;
  registry: Registry;
  /** Called after every accepted heartbeat, with its sender (the controller re-elects if liveness changed; the sender is heard back). */
  onAccepted: (node: string) => void;
  /** The tick meant for `fromMs` fired at `toMs` (stall detection, see L2Controller's option). */
  noteStall?: (fromMs: number, toMs: number) => boolean;
  /** How far ahead heartbeats are signed (DEFAULT_SIGN_AHEAD_MS). */
  signAheadMs?: number;
}

export class HeartbeatTransport {
  private readonly sockets: { v4: Socket | undefined; v6: Socket | undefined } = { v4: undefined, v6: undefined };
  private key: Uint8Array | null = null;
  private peers: SpeakerAddress[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly limiter = new SourceLimiter();
  private readonly dropped: Counter<"reason">;
  private readonly received: Counter;
  private readonly sent: Counter;
  private readonly wallClock: () => number;
  private warnedNoKey = false;
  private readonly peerStatus = new Map<string, string>();
  private sender: HeartbeatSenderThread | undefined;
  /** Status and key of the heartbeats handed to the thread (a change replaces them). */
  private signedStatus: string | undefined;
  private signedKey: Uint8Array | null = null;
  private datagramsCounted = 0;

  constructor(private readonly opts: HeartbeatTransportOptions) {
    this.wallClock = opts.wallClock ?? Date.now;
    this.dropped = new Counter({
      name: "metallb_ts_layer2_heartbeats_dropped_total",
      help: "Layer 2 heartbeat datagrams dropped, by reason (badMac = not signed with the shared key)",
      labelNames: ["reason"],
      registers: [opts.registry],
    });
    this.received = new Counter({
      name: "metallb_ts_layer2_heartbeats_received_total",
      help: "Layer 2 heartbeats accepted from peers",
      registers: [opts.registry],
    });
    this.sent = new Counter({ name: "metallb_ts_layer2_heartbeats_sent_total", help: "Layer 2 heartbeats sent to peers", registers: [opts.registry] });
  }

  /** Binds the UDP sockets (IPv4, and IPv6 when available) and starts the send timer. */
  async start(): Promise<void> {
    this.sockets.v4 = await this.bind("udp4", this.opts.bindAddress ?? "0.0.0.0");
    if (this.opts.bindAddress === undefined) {
      try {
        this.sockets.v6 = await this.bind("udp6", "::");
      } catch (e) {
        this.opts.log.debug({ err: e }, "no IPv6 heartbeat socket");
      }
    }
    this.sender = new HeartbeatSenderThread({
      port: this.opts.port,
      intervalMs: this.opts.tracker.timing.intervalMs,
      bindV4: this.opts.bindAddress ?? "0.0.0.0",
      ipv6: this.sockets.v6 !== undefined,
      log: this.opts.log,
    });
    await this.sender.started();
    this.sender.setPeers(this.peers.map((p) => p.address));
    this.topUp();
    this.scheduleTick(this.opts.clock() + this.opts.tracker.timing.intervalMs);
  }

  /** One timer per interval (not setInterval): it knows when it was due, so a late firing reveals a stall. */
  private scheduleTick(dueAt: number): void {
    this.timer = setTimeout(
      () => {
        const now = this.opts.clock();
        this.opts.noteStall?.(dueAt, now);
        this.topUp();
        const next = dueAt + this.opts.tracker.timing.intervalMs;
        if (this.timer !== undefined) this.scheduleTick(next > now ? next : now + this.opts.tracker.timing.intervalMs);
      },
      Math.max(0, dueAt - this.opts.clock()),
    );
  }

  /**
   * Keeps the sending thread's queue `signAheadMs` long: signs what is missing, or replaces it all when this node's
   * status or the key changed since. Without a key, nothing is queued (nothing is sent).
   */
  private topUp(replace = false): void {
    const sender = this.sender;
    if (sender === undefined) return;
    this.countDatagrams();
    const key = this.key;
    if (key === null) {
      if (!this.warnedNoKey) this.opts.log.warn({}, "no layer 2 heartbeat key yet: not sending heartbeats");
      this.warnedNoKey = true;
      if (this.signedKey !== null || this.signedStatus === undefined) sender.replace([]);
      this.signedKey = null;
      this.signedStatus = "none";
      return;
    }
    const interval = this.opts.tracker.timing.intervalMs;
    const want = Math.max(1, Math.ceil((this.opts.signAheadMs ?? DEFAULT_SIGN_AHEAD_MS) / interval));
    const now = this.opts.clock();
    const status = this.opts.tracker.ownStatus(now);
    const renew = replace || key !== this.signedKey || status !== this.signedStatus;
    const pending = renew ? 0 : sender.pending;
    if (pending >= want) return;
    const wall = this.wallClock();
    const beats: Uint8Array[] = [];
    // sentAtMs is when each is due to leave (informational: receivers never use it for liveness).
    for (let i = 0; i < want - pending; i++) beats.push(encodeHeartbeat(this.opts.tracker.nextHeartbeat(now, wall + (pending + i) * interval), key));
    if (renew) sender.replace(beats);
    else sender.append(beats);
    this.signedKey = key;
    this.signedStatus = status;
  }

  /** Adds the thread's datagrams since the last look to the sent counter. */
  private countDatagrams(): void {
    const total = this.sender?.datagrams ?? 0;
    if (total > this.datagramsCounted) this.sent.inc(total - this.datagramsCounted);
    this.datagramsCounted = total;
  }

  /** The shared key (raw bytes of the Secret's `secretkey`); null stops sending and drops everything received. */
  setKey(key: Uint8Array | null): void {
    if (key !== null && key.length < HEARTBEAT_MIN_KEY_BYTES) {
      this.opts.log.warn({ bytes: key.length, min: HEARTBEAT_MIN_KEY_BYTES }, "layer 2 heartbeat key too short, ignored");
      key = null;
    }
    this.key = key;
    if (key !== null) this.warnedNoKey = false;
  }

  get hasKey(): boolean {
    return this.key !== null;
  }

  /** The speakers to heartbeat (this node's entry is skipped when sending): its watch peers (model/src/layer2/watch.ts). */
  setPeers(peers: readonly SpeakerAddress[]): void {
    this.peers = peers.filter((p) => p.node !== this.opts.tracker.self);
    this.sender?.setPeers(this.peers.map((p) => p.address));
  }

  /**
   * Sends a heartbeat with this node's current status to every peer now (e.g. "leaving" at shutdown), replacing what
   * was signed ahead; resolves once the datagrams are handed to the sockets.
   */
  async sendNow(): Promise<void> {
    if (this.sender === undefined) return;
    this.topUp(true);
    await this.sender.flush();
    this.countDatagrams();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sender?.stop();
    this.sender = undefined;
    const close = (s: Socket | undefined): Promise<void> => (s === undefined ? Promise.resolve() : new Promise((r) => s.close(() => r())));
    await Promise.all([close(this.sockets.v4), close(this.sockets.v6)]);
    this.sockets.v4 = undefined;
    this.sockets.v6 = undefined;
  }

  private bind(type: "udp4" | "udp6", address: string): Promise<Socket> {
    const sock = createSocket({ type, reuseAddr: true, ...(type === "udp6" ? { ipv6Only: true } : {}) });
    sock.on("message", (msg, rinfo) => this.receive(msg, rinfo));
    sock.on("error", (err) => this.opts.log.warn({ err }, "heartbeat socket error"));
    return new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(this.opts.port, address, () => {
        sock.off("error", reject);
        try {
          sock.setRecvBufferSize(RECV_BUFFER_BYTES);
        } catch (e) {
          this.opts.log.debug({ err: e }, "could not raise the heartbeat socket's receive buffer");
        }
        resolve(sock);
      });
    });
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    // Cheapest checks first: no heartbeat is shorter or longer than these, whatever the key.
    if (msg.length < heartbeatLength(1)) {
      this.drop("truncated");
      return;
    }
    if (msg.length > heartbeatLength(HEARTBEAT_MAX_NODE_BYTES)) {
      this.drop("malformed");
      return;
    }
    if (!this.limiter.take(`${rinfo.address}:${rinfo.port}`, this.opts.clock())) {
      this.drop("rateLimited");
      return;
    }
    if (this.key === null) {
      this.drop("noKey");
      return;
    }
    const d = decodeHeartbeat(msg, this.key);
    if (!d.ok) {
      this.drop(d.reason);
      this.opts.log.debug({ from: rinfo.address, reason: d.reason }, "heartbeat dropped");
      return;
    }
    const res = this.opts.tracker.observe(d.hb, this.opts.clock());
    if (res !== "accepted") {
      this.drop(res);
      this.opts.log.debug({ from: rinfo.address, peer: d.hb.node, incarnation: d.hb.incarnation, seq: d.hb.seq, reason: res }, "heartbeat dropped");
      return;
    }
    this.received.inc();
    if (this.peerStatus.get(d.hb.node) !== d.hb.status) {
      this.peerStatus.set(d.hb.node, d.hb.status);
      this.opts.log.info({ peer: d.hb.node, status: d.hb.status, incarnation: d.hb.incarnation, seq: d.hb.seq, from: rinfo.address }, "peer status");
    }
    this.opts.onAccepted(d.hb.node);
  }

  private drop(reason: HeartbeatDropReason): void {
    this.dropped.inc({ reason });
  }
}
