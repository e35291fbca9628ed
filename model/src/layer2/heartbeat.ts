// Liveness between speakers for Layer 2 failover: an authenticated UDP heartbeat message (codec) and the pure state
// machine that turns received heartbeats, own ticks and apiserver contact into "who is alive" and "am I fenced".
// The shell owns the socket and the timers; it feeds this module and re-runs the election (election.ts) whenever
// `alive()`/`fenced()` may have changed (after each accepted heartbeat and at `nextChangeAt()`).
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { constantTimeEqual } from "../bytes.js";

// ---------------------------------------------------------------------------------------------------------
// Codec
//
// Version 1 wire format (all integers big-endian):
//   off      size  field
//   0        4     magic "L2HB"
//   4        1     version = 1
//   5        1     status: 0 ready, 1 standby, 2 leaving
//   6        1     N = length of the node name (1..253)
//   7        N     node name, printable ASCII
//   7+N      8     incarnation (uint64, at most 2^53-1)
//   15+N     8     seq         (uint64, at most 2^53-1)
//   23+N     8     sentAtMs    (uint64, at most 2^53-1)
//   31+N     16    MAC = first 16 bytes of HMAC-SHA256(key, bytes 0 .. 31+N)
// Total 47+N bytes; anything longer is rejected. The MAC is checked before any field after the length is
// interpreted.

/** Node state carried in each heartbeat. Only `ready` nodes are election candidates for their peers. */
export type HeartbeatStatus =
  /** Up, connected, and taking part in the election. */
  | "ready"
  /** Up but not (yet) eligible: warming up after start or rejoin, or cut off. Counts as contact, not as a candidate. */
  | "standby"
  /** Shutting down: peers treat the node as dead at once (fast hand-over on rolling restarts). */
  | "leaving";

export interface Heartbeat {
  /** Kubernetes node name of the sender. */
  readonly node: string;
  /** Identifies one run of the sender's speaker; a restart must use a larger value (e.g. its start time in ms). */
  readonly incarnation: number;
  /** Increases with every heartbeat of one incarnation. */
  readonly seq: number;
  /** Sender's wall clock when sending; informational (latency metrics), never used for liveness. */
  readonly sentAtMs: number;
  readonly status: HeartbeatStatus;
}

/** What `encodeHeartbeat` takes: `status` defaults to "ready". */
export type HeartbeatFields = Omit<Heartbeat, "status"> & { readonly status?: HeartbeatStatus };

export type HeartbeatDecodeError = "truncated" | "badMagic" | "badVersion" | "badMac" | "malformed";

export type HeartbeatDecodeResult = { readonly ok: true; readonly hb: Heartbeat } | { readonly ok: false; readonly reason: HeartbeatDecodeError };

export const HEARTBEAT_VERSION = 1;
/** Bytes of the truncated HMAC-SHA256 tag. 128 bits is RFC 4231's truncation example and NIST's recommended floor. */
export const HEARTBEAT_MAC_BYTES = 16;
/** Shortest accepted key. Keys are shared by all speakers (a Secret); 32 random bytes are recommended. */
export const HEARTBEAT_MIN_KEY_BYTES = 16;
/** Longest node name (a DNS subdomain). */
export const HEARTBEAT_MAX_NODE_BYTES = 253;

const MAGIC: readonly number[] = Object.freeze([0x4c, 0x32, 0x48, 0x42]); // "L2HB"
const HEADER_BYTES = 7;
const FIXED_BYTES = HEADER_BYTES + 3 * 8 + HEARTBEAT_MAC_BYTES;
const STATUS_CODES: readonly HeartbeatStatus[] = Object.freeze(["ready", "standby", "leaving"]);
const TWO_32 = 0x1_0000_0000;

/** Total encoded length for a node name of `nodeBytes` bytes. */
export const heartbeatLength = (nodeBytes: number): number => FIXED_BYTES + nodeBytes;

const isPrintableAscii = (code: number): boolean => code >= 0x21 && code <= 0x7e;

function validNodeName(node: string): boolean {
  if (node.length === 0 || node.length > HEARTBEAT_MAX_NODE_BYTES) return false;
  for (let i = 0; i < node.length; i++) if (!isPrintableAscii(node.charCodeAt(i))) return false;
  return true;
}

const validUint = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

function mac(key: Uint8Array, signed: Uint8Array): Uint8Array {
  return hmac(sha256, key, signed).subarray(0, HEARTBEAT_MAC_BYTES);
}

function setUint53(view: DataView, offset: number, n: number): void {
  view.setUint32(offset, Math.floor(n / TWO_32));
  view.setUint32(offset + 4, n % TWO_32);
}

/** A uint64 field as a number, or null when it exceeds 2^53-1. */
function getUint53(view: DataView, offset: number): number | null {
  const n = view.getUint32(offset) * TWO_32 + view.getUint32(offset + 4);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Encodes and authenticates a heartbeat. Throws RangeError on invalid fields (node name not 1..253 printable ASCII
 * characters, negative or non-integer numbers) or a key shorter than HEARTBEAT_MIN_KEY_BYTES: those are programming
 * or configuration errors of the sender, never data from the network.
 */
export function encodeHeartbeat(fields: HeartbeatFields, key: Uint8Array): Uint8Array {
  if (!validNodeName(fields.node)) throw new RangeError(`heartbeat: invalid node name ${JSON.stringify(fields.node)}`);
  for (const name of ["incarnation", "seq", "sentAtMs"] as const) {
    if (!validUint(fields[name])) throw new RangeError(`heartbeat: ${name} must be a safe non-negative integer, got ${fields[name]}`);
  }
  if (key.length < HEARTBEAT_MIN_KEY_BYTES) throw new RangeError(`heartbeat: key must be at least ${HEARTBEAT_MIN_KEY_BYTES} bytes`);
  const n = fields.node.length;
  const out = new Uint8Array(heartbeatLength(n));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = HEARTBEAT_VERSION;
  out[5] = STATUS_CODES.indexOf(fields.status ?? "ready");
  out[6] = n;
  for (let i = 0; i < n; i++) out[HEADER_BYTES + i] = fields.node.charCodeAt(i);
  setUint53(view, HEADER_BYTES + n, fields.incarnation);
  setUint53(view, HEADER_BYTES + n + 8, fields.seq);
  setUint53(view, HEADER_BYTES + n + 16, fields.sentAtMs);
  const signedEnd = out.length - HEARTBEAT_MAC_BYTES;
  out.set(mac(key, out.subarray(0, signedEnd)), signedEnd);
  return out;
}

/** True when the tag matches under one of the keys. Every usable key is tried, so timing does not reveal which. */
function macMatches(keys: readonly Uint8Array[], signed: Uint8Array, tag: Uint8Array): boolean {
  let ok = false;
  for (const key of keys) {
    if (key.length >= HEARTBEAT_MIN_KEY_BYTES && constantTimeEqual(mac(key, signed), tag)) ok = true;
  }
  return ok;
}

/** The authenticated fields; null when one is out of range (only a sender bug with a valid key can get here). */
function fieldsOf(bytes: Uint8Array, n: number): Heartbeat | null {
  const status = STATUS_CODES[bytes[5] ?? 0xff];
  if (status === undefined) return null;
  let node = "";
  for (let i = 0; i < n; i++) {
    const code = bytes[HEADER_BYTES + i] ?? 0;
    if (!isPrintableAscii(code)) return null;
    node += String.fromCharCode(code);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const incarnation = getUint53(view, HEADER_BYTES + n);
  const seq = getUint53(view, HEADER_BYTES + n + 8);
  const sentAtMs = getUint53(view, HEADER_BYTES + n + 16);
  if (incarnation === null || seq === null || sentAtMs === null) return null;
  return { node, incarnation, seq, sentAtMs, status };
}

/**
 * Decodes and verifies a heartbeat. Accepts one key or several (key rotation: the message is valid under any of
 * them; keys shorter than HEARTBEAT_MIN_KEY_BYTES never match). Never throws, whatever the bytes.
 */
export function decodeHeartbeat(bytes: Uint8Array, key: Uint8Array | readonly Uint8Array[]): HeartbeatDecodeResult {
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: "truncated" };
  if (MAGIC.some((b, i) => bytes[i] !== b)) return { ok: false, reason: "badMagic" };
  if (bytes[4] !== HEARTBEAT_VERSION) return { ok: false, reason: "badVersion" };
  const n = bytes[6] ?? 0;
  if (n === 0 || n > HEARTBEAT_MAX_NODE_BYTES) return { ok: false, reason: "malformed" };
  const length = heartbeatLength(n);
  if (bytes.length < length) return { ok: false, reason: "truncated" };
  if (bytes.length > length) return { ok: false, reason: "malformed" };
  const signedEnd = length - HEARTBEAT_MAC_BYTES;
  const keys = key instanceof Uint8Array ? [key] : key;
  if (!macMatches(keys, bytes.subarray(0, signedEnd), bytes.subarray(signedEnd))) return { ok: false, reason: "badMac" };
  const hb = fieldsOf(bytes, n);
  return hb === null ? { ok: false, reason: "malformed" } : { ok: true, hb };
}

// ---------------------------------------------------------------------------------------------------------
// Liveness

/**
 * Timing of the liveness protocol. With the defaults a dead owner is replaced 350–450 ms after it stops (plus one
 * network latency and the GARP), and an owner cut off from everyone stops answering at least 100 ms before its
 * peers take its IPs over.
 */
export interface LivenessTiming {
  /** How often each speaker sends a heartbeat. */
  readonly intervalMs: number;
  /** A peer is dead once its last accepted heartbeat is this old. Also the warm-up after start. */
  readonly deadAfterMs: number;
  /** This node is fenced once it has had no peer heartbeat and no apiserver contact for this long. */
  readonly fenceAfterMs: number;
  /**
   * After becoming ready (warm-up over, or contact regained after being fenced) a node tells its peers it is ready
   * but waits this long before answering, so that the peer currently holding its IPs hears it and lets go first.
   */
  readonly handoverMs: number;
}

/**
 * Defaults for sub-second failover on a LAN:
 * - intervalMs 100: ten small UDP datagrams per second per peer pair is negligible, and it bounds every other delay;
 * - deadAfterMs 450: tolerates three consecutive lost heartbeats (a gap of 400 ms) plus 50 ms of jitter;
 * - fenceAfterMs 250: tolerates one lost heartbeat (a gap of 200 ms) plus jitter, and satisfies
 *   fenceAfter + interval + 100 ms margin ≤ deadAfter, so an isolated owner withdraws before it is declared dead;
 * - handoverMs 200: two intervals for the "ready" heartbeat to reach the current holder and for it to react.
 */
export const DEFAULT_LIVENESS_TIMING: LivenessTiming = Object.freeze({ intervalMs: 100, deadAfterMs: 450, fenceAfterMs: 250, handoverMs: 200 });

/** Violated invariants of a timing, as messages; empty when it is usable. */
export function livenessTimingProblems(t: LivenessTiming): string[] {
  const problems: string[] = [];
  for (const [name, v] of Object.entries(t)) if (!(Number.isFinite(v) && v > 0)) problems.push(`${name} must be a positive number`);
  if (problems.length > 0) return problems;
  if (t.fenceAfterMs < 2 * t.intervalMs) problems.push("fenceAfterMs must be at least 2 × intervalMs (one lost heartbeat must not fence)");
  if (t.fenceAfterMs + t.intervalMs >= t.deadAfterMs) {
    problems.push("fenceAfterMs + intervalMs must be below deadAfterMs (an isolated owner must withdraw before peers take over)");
  }
  if (t.handoverMs < t.intervalMs) problems.push("handoverMs must be at least intervalMs (the ready heartbeat must reach the holder)");
  return problems;
}

/** What happened to a received heartbeat. Only `accepted` ones count as liveness or contact. */
export type ObserveResult =
  | "accepted"
  /** Our own node name (multicast loopback, or a second speaker misconfigured with our name). */
  | "self"
  /** Same incarnation, sequence number not above the last accepted one: duplicate, reordered or replayed. */
  | "replay"
  /** Older incarnation while the current one is alive: a replay of a previous run. */
  | "staleIncarnation";

/** Why this node must not answer for IPs others could take over. */
export type FenceReason =
  /** Less than deadAfterMs since start: it has not yet heard every live peer. */
  | "warmingUp"
  /** No peer heartbeat and no apiserver contact for fenceAfterMs: it may be the one cut off. */
  | "isolated"
  /** Ready, but waiting handoverMs for the current holders to let go. */
  | "handover"
  /** `leave()` was called: shutting down. */
  | "leaving";

export type FenceStatus = { readonly fenced: false; readonly reason: null } | { readonly fenced: true; readonly reason: FenceReason };

export interface PeerLiveness {
  readonly node: string;
  readonly incarnation: number;
  readonly seq: number;
  readonly status: HeartbeatStatus;
  /** When the last accepted heartbeat arrived (tracker time). */
  readonly lastSeenMs: number;
  /** Ready and heard within deadAfterMs. */
  readonly alive: boolean;
}

export interface LivenessTrackerInit {
  /** This node's name. */
  readonly self: string;
  /** This run's incarnation, put into own heartbeats; must grow across restarts (e.g. wall-clock start time in ms). */
  readonly incarnation: number;
  /** Tracker time at start. All tracker times come from one monotonic clock in ms (e.g. performance.now()). */
  readonly startMs: number;
  readonly timing?: Partial<LivenessTiming>;
}

interface PeerState {
  incarnation: number;
  seq: number;
  status: HeartbeatStatus;
  lastSeenMs: number;
}

/**
 * Pure liveness state machine of one speaker. Time is always passed in; the tracker never reads a clock.
 *
 * - A peer is alive while its last accepted heartbeat is younger than deadAfterMs and says "ready".
 * - This node is alive in its own view unless fenced. It is fenced while warming up (first deadAfterMs after start:
 *   it cannot yet tell a dead peer from one it has not heard), while isolated (no accepted peer heartbeat and no
 *   apiserver contact for fenceAfterMs), during the hand-over hold after becoming ready, and once leaving.
 * - Heartbeats from the same incarnation must have increasing seq; a lower incarnation is refused while the current
 *   one is alive (replay of an earlier run) and accepted once it is not (a restarted node whose clock went back).
 */
export class LivenessTracker {
  readonly self: string;
  readonly incarnation: number;
  readonly timing: LivenessTiming;
  private readonly startMs: number;
  private readonly peers = new Map<string, PeerState>();
  private seq = 0;
  private lastContactMs: number | null = null;
  /** Start of the current run of contacts without a gap of fenceAfterMs. */
  private contactRunStartMs = 0;
  private leaving = false;

  constructor(init: LivenessTrackerInit) {
    const timing: LivenessTiming = { ...DEFAULT_LIVENESS_TIMING, ...init.timing };
    const problems = livenessTimingProblems(timing);
    if (problems.length > 0) throw new RangeError(`liveness timing: ${problems.join("; ")}`);
    if (!validUint(init.incarnation)) throw new RangeError("liveness: incarnation must be a safe non-negative integer");
    this.self = init.self;
    this.incarnation = init.incarnation;
    this.startMs = init.startMs;
    this.timing = Object.freeze(timing);
  }

  /** Feeds a verified heartbeat received at `nowMs`. */
  observe(hb: Heartbeat, nowMs: number): ObserveResult {
    if (hb.node === this.self) return "self";
    const known = this.peers.get(hb.node);
    if (known !== undefined) {
      if (hb.incarnation === known.incarnation && hb.seq <= known.seq) return "replay";
      const knownAlive = known.status !== "leaving" && nowMs - known.lastSeenMs < this.timing.deadAfterMs;
      if (hb.incarnation < known.incarnation && knownAlive) return "staleIncarnation";
    }
    this.peers.set(hb.node, { incarnation: hb.incarnation, seq: hb.seq, status: hb.status, lastSeenMs: nowMs });
    this.contact(nowMs);
    return "accepted";
  }

  /** Records a successful apiserver round trip at `nowMs` (any response proves this node is not cut off). */
  apiserverReachable(nowMs: number): void {
    this.contact(nowMs);
  }

  /** Time since the last contact (accepted heartbeat or apiserver answer); Infinity before the first. */
  msSinceContact(nowMs: number): number {
    return this.lastContactMs === null ? Number.POSITIVE_INFINITY : nowMs - this.lastContactMs;
  }

  /** Own tick: the next heartbeat to send (sequence number incremented, status from the fence state). */
  nextHeartbeat(nowMs: number, sentAtMs: number): Heartbeat {
    this.seq += 1;
    return { node: this.self, incarnation: this.incarnation, seq: this.seq, sentAtMs, status: this.ownStatus(nowMs) };
  }

  /** Marks this node as shutting down: fenced from now on; heartbeats say "leaving". */
  leave(): void {
    this.leaving = true;
  }

  fenceStatus(nowMs: number): FenceStatus {
    if (this.leaving) return { fenced: true, reason: "leaving" };
    if (nowMs < this.warmupEndMs()) return { fenced: true, reason: "warmingUp" };
    if (this.lastContactMs === null || nowMs - this.lastContactMs >= this.timing.fenceAfterMs) return { fenced: true, reason: "isolated" };
    if (nowMs < this.readySinceMs() + this.timing.handoverMs) return { fenced: true, reason: "handover" };
    return { fenced: false, reason: null };
  }

  fenced(nowMs: number): boolean {
    return this.fenceStatus(nowMs).fenced;
  }

  /** Nodes alive in this node's view: ready peers heard within deadAfterMs, plus itself unless fenced. */
  alive(nowMs: number): Set<string> {
    const out = new Set<string>();
    if (!this.fenced(nowMs)) out.add(this.self);
    for (const [node, p] of this.peers) if (this.peerAlive(p, nowMs)) out.add(node);
    return out;
  }

  /** Every peer ever accepted, sorted by name (for metrics and debugging). */
  peerStates(nowMs: number): PeerLiveness[] {
    return [...this.peers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([node, p]) => ({ node, incarnation: p.incarnation, seq: p.seq, status: p.status, lastSeenMs: p.lastSeenMs, alive: this.peerAlive(p, nowMs) }));
  }

  /**
   * The earliest time after `nowMs` at which `alive()` or `fenced()` changes if nothing new is fed in (a peer
   * expires, warm-up or hand-over ends, the fence closes); null when nothing is pending. The shell arms one timer
   * for it instead of polling, so expiry is acted on without tick lag.
   */
  nextChangeAt(nowMs: number): number | null {
    const times: number[] = [];
    for (const p of this.peers.values()) if (this.peerAlive(p, nowMs)) times.push(p.lastSeenMs + this.timing.deadAfterMs);
    if (!this.leaving) {
      times.push(this.warmupEndMs());
      if (this.lastContactMs !== null) {
        times.push(this.lastContactMs + this.timing.fenceAfterMs);
        times.push(this.readySinceMs() + this.timing.handoverMs);
      }
    }
    const future = times.filter((t) => t > nowMs);
    return future.length === 0 ? null : Math.min(...future);
  }

  private contact(nowMs: number): void {
    if (this.lastContactMs === null || nowMs - this.lastContactMs >= this.timing.fenceAfterMs) this.contactRunStartMs = nowMs;
    if (this.lastContactMs === null || nowMs > this.lastContactMs) this.lastContactMs = nowMs;
  }

  private warmupEndMs(): number {
    return this.startMs + this.timing.deadAfterMs;
  }

  /** When this node last became ready: end of warm-up, or the first contact after a fence. */
  private readySinceMs(): number {
    return Math.max(this.contactRunStartMs, this.warmupEndMs());
  }

  private peerAlive(p: PeerState, nowMs: number): boolean {
    return p.status === "ready" && nowMs - p.lastSeenMs < this.timing.deadAfterMs;
  }

  private ownStatus(nowMs: number): HeartbeatStatus {
    const { reason } = this.fenceStatus(nowMs);
    if (reason === "leaving") return "leaving";
    return reason === "warmingUp" || reason === "isolated" ? "standby" : "ready";
  }
}
