// Liveness between speakers for Layer 2 failover: an authenticated UDP heartbeat message (codec) and the pure state
// machine that turns received heartbeats, own ticks and apiserver contact into "who is alive" and "am I fenced".
// The shell owns the socket and the timers; it feeds this module (heartbeats, apiserver probe results, its own
// stalls) and re-runs the election (election.ts) whenever `alive()`/`fenced()` may have changed (after each accepted
// heartbeat and at `nextChangeAt()`).
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { constantTimeEqual } from "../bytes.js";
import { ArrivalWindow, zForPhi } from "./detector.js";

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
  /**
   * Identifies one run of the sender's speaker (its boot nonce): larger for every restart (its start time in ms, and
   * above the one its previous run published in the API), so peers refuse every heartbeat of an earlier run.
   */
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
//
// Why it looks like this (issue 17): fixed deadlines (dead after 450 ms, fenced after 250 ms without contact) fenced
// healthy nodes in a loop on a busy machine. Now
// - each peer has a phi-accrual detector (detector.ts) over its observed heartbeat gaps, padded by an acceptable
//   pause and with a standard-deviation floor, capped so that failover stays bounded;
// - stalls of this process (event-loop lag, SIGSTOP, GC: the shell reports timers that fired late) are not counted
//   against anyone: the stalled time is subtracted from every silence, and gaps that span a stall are not learned;
// - this node fences itself only on evidence of isolation: it hears no peer (a lower phi than the one at which peers
//   give up on it, so it withdraws first) AND its last apiserver probe failed (refused or timed out) with no
//   apiserver answer since; a slow apiserver or a quiet LAN alone is not isolation;
// - heartbeats are fresh: each run has an incarnation that only grows (published in the node's NodeConfig status,
//   which peers read), heartbeats of an older run are always refused (not only while the newer one is alive), and
//   within a run the sequence number must grow.

/** Timing of the liveness protocol (see DEFAULT_LIVENESS_TIMING for the reasoning behind each default). */
export interface LivenessTiming {
  /** How often each speaker sends a heartbeat. */
  readonly intervalMs: number;
  /** Gap beyond the usual one that costs nothing (a GC pause or a throttled CPU quota of the sender). */
  readonly acceptablePauseMs: number;
  /** Floor of the standard deviation of the gaps. */
  readonly minStdDevMs: number;
  /** Gaps remembered per peer. */
  readonly windowSize: number;
  /** phi at which a peer is dead (its IPs are taken over). */
  readonly phiThreshold: number;
  /** phi at which this node no longer counts a peer as heard, for self-fencing; below phiThreshold. */
  readonly isolationPhiThreshold: number;
  /** Upper bound of every silence threshold, whatever the history. */
  readonly maxSuspectAfterMs: number;
  /** After start, this node does not claim anything for this long (it must hear every live peer first). */
  readonly warmupMs: number;
  /**
   * After becoming ready (warm-up over, or contact regained after being fenced) a node tells its peers it is ready
   * but waits this long before answering, so that the peer currently holding its IPs hears it and lets go first.
   */
  readonly handoverMs: number;
  /** A timer that fires at least this late means this process was stalled (and the lateness is excused). */
  readonly stallMinMs: number;
}

/**
 * Defaults: sub-second failover on an idle LAN, no false failover for stalls up to ~300 ms.
 * - intervalMs 100: ten small datagrams per second per peer pair is negligible;
 * - acceptablePauseMs 300 + minStdDevMs 50 + phiThreshold 8 (z ≈ 5.2): an idle peer is dead after ≈ 660 ms of
 *   silence (a SIGSTOP of 300 ms makes a gap of at most ≈ 400 ms), a jittery one later, never after maxSuspectAfterMs;
 * - isolationPhiThreshold 3 (z ≈ 2.6, ≈ 530 ms): a node cut off stops counting its peers before they give up on it;
 * - windowSize 100: the last ten seconds of gaps;
 * - warmupMs 700: longer than the first-contact silence threshold, so a started node has heard every live peer;
 * - handoverMs 200: two intervals for the "ready" heartbeat to reach the current holder and for it to react;
 * - stallMinMs 50: timers on a loaded node are often 10–20 ms late; 50 ms is a stall.
 */
export const DEFAULT_LIVENESS_TIMING: LivenessTiming = Object.freeze({
  intervalMs: 100,
  acceptablePauseMs: 300,
  minStdDevMs: 50,
  windowSize: 100,
  phiThreshold: 8,
  isolationPhiThreshold: 3,
  maxSuspectAfterMs: 3_000,
  warmupMs: 700,
  handoverMs: 200,
  stallMinMs: 50,
});

/** Violated invariants of a timing, as messages; empty when it is usable. */
export function livenessTimingProblems(t: LivenessTiming): string[] {
  const problems: string[] = [];
  for (const [name, v] of Object.entries(t)) if (!(Number.isFinite(v) && (v as number) >= 0)) problems.push(`${name} must be a non-negative number`);
  for (const name of ["intervalMs", "minStdDevMs", "phiThreshold", "isolationPhiThreshold", "maxSuspectAfterMs", "stallMinMs"] as const) {
    if (!(t[name] > 0)) problems.push(`${name} must be a positive number`);
  }
  if (problems.length > 0) return problems;
  if (!Number.isInteger(t.windowSize) || t.windowSize < 2) problems.push("windowSize must be an integer of at least 2");
  if (t.isolationPhiThreshold >= t.phiThreshold) {
    problems.push("isolationPhiThreshold must be below phiThreshold (an isolated owner must withdraw before peers take over)");
  }
  if (t.maxSuspectAfterMs < 2 * t.intervalMs) problems.push("maxSuspectAfterMs must be at least 2 × intervalMs (one lost heartbeat must not kill)");
  if (t.warmupMs < 2 * t.intervalMs) problems.push("warmupMs must be at least 2 × intervalMs (a started node must hear its peers)");
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
  /** Older incarnation than one already seen or published for the node: a replay of a previous run. */
  | "staleIncarnation";

/** Why this node must not answer for IPs others could take over. */
export type FenceReason =
  /** Less than warmupMs since start: it has not yet heard every live peer. */
  | "warmingUp"
  /** It hears no peer and its last apiserver probe failed: it may be the one cut off. */
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
  /** Ready and not suspected (phi below phiThreshold). */
  readonly alive: boolean;
  /** phi of its current silence (stalls of this process excluded). */
  readonly phi: number;
  /** Silence after which it is dead, from its observed gaps. */
  readonly suspectAfterMs: number;
}

export interface LivenessTrackerInit {
  /** This node's name. */
  readonly self: string;
  /** This run's incarnation, put into own heartbeats; must grow across restarts (e.g. wall-clock start time in ms). */
  readonly incarnation: number;
  /** Tracker time at start. All tracker times come from one monotonic clock in ms (e.g. performance.now()). */
  readonly startMs: number;
  readonly timing?: Partial<LivenessTiming>;
  /**
   * Warm up only once this run's identity is visible to the peers (`identityVisible`): until then the node is
   * warming up, whatever the time. Peers heartbeat only the nodes whose run they know (watch.ts), so a node must not
   * conclude "nobody else is alive" before they can know it exists.
   */
  readonly awaitIdentity?: boolean;
}

interface PeerState {
  incarnation: number;
  seq: number;
  status: HeartbeatStatus;
  lastSeenMs: number;
  /** This process's stalled total when the last heartbeat was accepted (what stalled since is excused). */
  stalledAtSeen: number;
  window: ArrivalWindow;
}

/**
 * Pure liveness state machine of one speaker. Time is always passed in; the tracker never reads a clock.
 *
 * - A peer is alive while it says "ready" and phi of its silence (this process's stalls excluded) is below
 *   phiThreshold.
 * - This node is alive in its own view unless fenced: while warming up, while isolated (no peer heard at
 *   isolationPhiThreshold and the apiserver unreachable), during the hand-over hold after becoming ready, and once
 *   leaving.
 * - Heartbeats must come from the node's newest known incarnation (seen, or published in the API) with a growing seq.
 */
export class LivenessTracker {
  readonly self: string;
  readonly timing: LivenessTiming;
  private incarnationValue: number;
  private startMs: number;
  private identityPending: boolean;
  private readonly peers = new Map<string, PeerState>();
  /** Lowest acceptable incarnation per node, from the API (a newer run was published). */
  private readonly minIncarnation = new Map<string, number>();
  private readonly zDead: number;
  private readonly zIsolation: number;
  private seq = 0;
  private lastContactMs: number | null = null;
  private lastApiOkMs: number | null = null;
  private lastApiFailMs: number | null = null;
  private readySinceMs: number;
  private stalledTotalMs = 0;
  private stallCoveredUntilMs = Number.NEGATIVE_INFINITY;
  private leaving = false;

  constructor(init: LivenessTrackerInit) {
    const timing: LivenessTiming = { ...DEFAULT_LIVENESS_TIMING, ...init.timing };
    const problems = livenessTimingProblems(timing);
    if (problems.length > 0) throw new RangeError(`liveness timing: ${problems.join("; ")}`);
    if (!validUint(init.incarnation)) throw new RangeError("liveness: incarnation must be a safe non-negative integer");
    this.self = init.self;
    this.incarnationValue = init.incarnation;
    this.startMs = init.startMs;
    this.identityPending = init.awaitIdentity === true;
    this.timing = Object.freeze(timing);
    this.zDead = zForPhi(timing.phiThreshold);
    this.zIsolation = zForPhi(timing.isolationPhiThreshold);
    this.readySinceMs = init.startMs + timing.warmupMs;
  }

  get incarnation(): number {
    return this.incarnationValue;
  }

  /**
   * Makes this run's incarnation larger than `floor` (the one a previous run published), so that peers which
   * learned the previous run from the API accept this one even if this node's clock went back. Only before the first
   * heartbeat: a run never changes its identity.
   */
  adoptIncarnationAbove(floor: number): void {
    if (this.seq > 0) throw new Error("liveness: incarnation can only change before the first heartbeat");
    if (validUint(floor) && floor >= this.incarnationValue) this.incarnationValue = floor + 1;
  }

  /**
   * The incarnation a node published (its NodeConfig status): heartbeats of older runs are refused from now on, and
   * what was tracked of an older run is forgotten. Returns whether anything changed.
   */
  setPublishedIncarnation(node: string, incarnation: number): boolean {
    if (node === this.self || !validUint(incarnation)) return false;
    const min = this.minIncarnation.get(node);
    if (min !== undefined && min >= incarnation) return false;
    this.minIncarnation.set(node, incarnation);
    const known = this.peers.get(node);
    if (known !== undefined && known.incarnation < incarnation) this.peers.delete(node);
    return true;
  }

  /**
   * This run's identity became visible to the peers at `nowMs` (this node read its own published incarnation back from
   * the API: every peer that published before it is known to it, and every peer publishing later will see it first).
   * The warm-up starts now. Returns whether it was awaited (see LivenessTrackerInit.awaitIdentity).
   */
  identityVisible(nowMs: number): boolean {
    if (!this.identityPending) return false;
    this.identityPending = false;
    this.startMs = Math.max(this.startMs, nowMs);
    this.readySinceMs = this.startMs + this.timing.warmupMs;
    return true;
  }

  /** Whether the warm-up still waits for this run's identity to be visible. */
  get awaitingIdentity(): boolean {
    return this.identityPending;
  }

  /** Feeds a verified heartbeat received at `nowMs`. */
  observe(hb: Heartbeat, nowMs: number): ObserveResult {
    if (hb.node === this.self) return "self";
    const min = this.minIncarnation.get(hb.node);
    if (min !== undefined && hb.incarnation < min) return "staleIncarnation";
    const known = this.peers.get(hb.node);
    if (known !== undefined) {
      if (hb.incarnation < known.incarnation) return "staleIncarnation";
      if (hb.incarnation === known.incarnation && hb.seq <= known.seq) return "replay";
    }
    this.becomeReadyIfIsolated(nowMs);
    if (known !== undefined && known.incarnation === hb.incarnation) {
      // A gap that spans a stall of this process says nothing about the peer; one beyond the death threshold was a
      // death (or a partition), not jitter to adapt to.
      const gap = nowMs - known.lastSeenMs;
      if (known.stalledAtSeen === this.stalledTotalMs && gap < known.window.silenceForZ(this.zDead)) known.window.add(gap);
      known.seq = hb.seq;
      known.status = hb.status;
      known.lastSeenMs = nowMs;
      known.stalledAtSeen = this.stalledTotalMs;
    } else {
      const window = new ArrivalWindow({
        windowSize: this.timing.windowSize,
        minStdDevMs: this.timing.minStdDevMs,
        acceptablePauseMs: this.timing.acceptablePauseMs,
        expectedIntervalMs: this.timing.intervalMs,
        maxSuspectAfterMs: this.timing.maxSuspectAfterMs,
      });
      this.peers.set(hb.node, { incarnation: hb.incarnation, seq: hb.seq, status: hb.status, lastSeenMs: nowMs, stalledAtSeen: this.stalledTotalMs, window });
    }
    this.contact(nowMs);
    return "accepted";
  }

  /** Records a successful apiserver round trip at `nowMs` (any response proves this node is not cut off). */
  apiserverReachable(nowMs: number): void {
    this.becomeReadyIfIsolated(nowMs);
    if (this.lastApiOkMs === null || nowMs > this.lastApiOkMs) this.lastApiOkMs = nowMs;
    this.contact(nowMs);
  }

  /**
   * Records a failed apiserver probe (connection refused, reset or timed out) that was sent at `sentAtMs`. Ignored
   * when this process stalled meanwhile (the timeout may be its own). Returns whether it was recorded.
   */
  apiserverUnreachable(sentAtMs: number, nowMs: number): boolean {
    if (this.stallCoveredUntilMs > sentAtMs) return false;
    if (this.lastApiFailMs === null || nowMs > this.lastApiFailMs) this.lastApiFailMs = nowMs;
    return true;
  }

  /**
   * This process could not run from `fromMs` to `toMs` (a timer due at `fromMs` fired at `toMs`). Stalls of at least
   * stallMinMs are excused: that time is not counted in any silence. Overlapping reports count once. Returns whether
   * it counted as a stall.
   */
  noteStall(fromMs: number, toMs: number): boolean {
    if (!(toMs - fromMs >= this.timing.stallMinMs)) return false;
    const added = toMs - Math.max(fromMs, this.stallCoveredUntilMs);
    if (added > 0) this.stalledTotalMs += added;
    this.stallCoveredUntilMs = Math.max(this.stallCoveredUntilMs, toMs);
    return true;
  }

  /** Total stalled time excused so far (ms). */
  get stalledMs(): number {
    return this.stalledTotalMs;
  }

  /** Time since the last contact (accepted heartbeat or apiserver answer); Infinity before the first. */
  msSinceContact(nowMs: number): number {
    return this.lastContactMs === null ? Number.POSITIVE_INFINITY : nowMs - this.lastContactMs;
  }

  /** When the last accepted heartbeat of `node` arrived (tracker time), or null. */
  lastSeenMs(node: string): number | null {
    return this.peers.get(node)?.lastSeenMs ?? null;
  }

  /** Own tick: the next heartbeat to send (sequence number incremented, status from the fence state). */
  nextHeartbeat(nowMs: number, sentAtMs: number): Heartbeat {
    this.seq += 1;
    return { node: this.self, incarnation: this.incarnationValue, seq: this.seq, sentAtMs, status: this.ownStatus(nowMs) };
  }

  /** Marks this node as shutting down: fenced from now on; heartbeats say "leaving". */
  leave(): void {
    this.leaving = true;
  }

  fenceStatus(nowMs: number): FenceStatus {
    if (this.leaving) return { fenced: true, reason: "leaving" };
    if (this.identityPending || nowMs < this.startMs + this.timing.warmupMs) return { fenced: true, reason: "warmingUp" };
    if (this.isolated(nowMs)) return { fenced: true, reason: "isolated" };
    if (nowMs < this.readySinceMs + this.timing.handoverMs) return { fenced: true, reason: "handover" };
    return { fenced: false, reason: null };
  }

  fenced(nowMs: number): boolean {
    return this.fenceStatus(nowMs).fenced;
  }

  /** Nodes alive in this node's view: ready peers not suspected, plus itself unless fenced. */
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
      .map(([node, p]) => ({
        node,
        incarnation: p.incarnation,
        seq: p.seq,
        status: p.status,
        lastSeenMs: p.lastSeenMs,
        alive: this.peerAlive(p, nowMs),
        phi: p.window.phi(this.silence(p, nowMs)),
        suspectAfterMs: p.window.silenceForZ(this.zDead),
      }));
  }

  /**
   * The earliest time after `nowMs` at which `alive()` or `fenced()` changes if nothing new is fed in (a peer
   * becomes suspect or unheard, warm-up or hand-over ends); null when nothing is pending. The shell arms one timer
   * for it instead of polling. A stall noted later moves these times back; an early timer just re-arms.
   */
  nextChangeAt(nowMs: number): number | null {
    const times: number[] = [];
    for (const p of this.peers.values()) {
      if (p.status === "leaving") continue;
      const base = p.lastSeenMs + (this.stalledTotalMs - p.stalledAtSeen);
      times.push(base + p.window.silenceForZ(this.zDead), base + p.window.silenceForZ(this.zIsolation));
    }
    if (!this.leaving && !this.identityPending) times.push(this.startMs + this.timing.warmupMs, this.readySinceMs + this.timing.handoverMs);
    const future = times.filter((t) => t > nowMs);
    return future.length === 0 ? null : Math.min(...future);
  }

  /** Silence of a peer at `nowMs`, without the time this process was stalled since its last heartbeat. */
  private silence(p: PeerState, nowMs: number): number {
    return nowMs - p.lastSeenMs - (this.stalledTotalMs - p.stalledAtSeen);
  }

  private peerAlive(p: PeerState, nowMs: number): boolean {
    return p.status === "ready" && this.silence(p, nowMs) < p.window.silenceForZ(this.zDead);
  }

  /** Whether any peer (ready or standby) was heard recently enough to prove this node is not cut off. */
  private hearsAPeer(nowMs: number): boolean {
    for (const p of this.peers.values()) {
      if (p.status !== "leaving" && this.silence(p, nowMs) < p.window.silenceForZ(this.zIsolation)) return true;
    }
    return false;
  }

  private apiserverUnreachableNow(): boolean {
    return this.lastApiFailMs !== null && (this.lastApiOkMs === null || this.lastApiFailMs >= this.lastApiOkMs);
  }

  private isolated(nowMs: number): boolean {
    return this.apiserverUnreachableNow() && !this.hearsAPeer(nowMs);
  }

  /** Contact regained after isolation: ready again, after the hand-over hold. Called before the contact is recorded. */
  private becomeReadyIfIsolated(nowMs: number): void {
    if (!this.leaving && !this.identityPending && nowMs >= this.startMs + this.timing.warmupMs && this.isolated(nowMs)) this.readySinceMs = nowMs;
  }

  private contact(nowMs: number): void {
    if (this.lastContactMs === null || nowMs > this.lastContactMs) this.lastContactMs = nowMs;
  }

  /** The status this node's heartbeats carry at `nowMs` (from its fence state). */
  ownStatus(nowMs: number): HeartbeatStatus {
    const { reason } = this.fenceStatus(nowMs);
    if (reason === "leaving") return "leaving";
    return reason === "warmingUp" || reason === "isolated" ? "standby" : "ready";
  }
}
