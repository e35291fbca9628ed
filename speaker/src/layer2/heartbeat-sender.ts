// Heartbeats leave from a thread of their own.
//
// Why: the send timer ran on the main event loop, so it fired late whenever the loop ran a long task (a large watch
// batch, a replan, FRR rendering), and most of all on a starved node in a creation burst. A peer cannot tell a late
// heartbeat from a dead node: at 10,000 Services × 1,000 nodes peers took IPs over from a live, busy owner and handed
// them back seconds later, 13,466 times in one burst. The thread's only job is to send, so its timer is on time
// whatever the main loop does (a thread that mostly sleeps is scheduled at once when it wakes, even on a busy CPU).
//
// What a heartbeat then proves: the main loop signs heartbeats ahead of time, never more than a horizon (2 s) ahead,
// and the thread only sends what was signed. A process whose main loop stops (hung, dead-locked) runs dry within the
// horizon and goes silent, so peers take over as from a dead node, a horizon later than after a crash. A crash or a
// SIGSTOP stops the thread too, so peers notice those as soon as before. A status change (warm-up over, isolated,
// leaving) or a new key replaces everything signed ahead, so it goes out with the next heartbeat. Signed heartbeats
// never leave the process before their turn, and receivers only need growing sequence numbers, so signing ahead
// opens no replay.
//
// The thread's code is `senderThread` below, run with `eval` (so one file serves the build and the tests, which run
// the TypeScript sources): it may use only what it is given, node's `require` and its arguments.
import { Worker } from "node:worker_threads";
import type { Logger } from "../../../shell/src/logger.js";

/** Slots of the counters shared with the thread (Float64Array; only the thread writes them). */
const GENERATION = 0;
const TAKEN = 1;
const DATAGRAMS = 2;
const SEND_ERRORS = 3;
const SLOTS = 4;

export interface SenderThreadOptions {
  /** Peers' heartbeat port. */
  port: number;
  intervalMs: number;
  /** Source address of IPv4 datagrams ("0.0.0.0": any). */
  bindV4: string;
  /** Whether to open an IPv6 socket too. */
  ipv6: boolean;
  log: Logger;
}

type ToThread =
  { type: "peers"; addresses: string[] } | { type: "beats"; generation: number; replace: boolean; beats: Uint8Array[] } | { type: "flush"; id: number };

type FromThread = { type: "ready" } | { type: "error"; message: string } | { type: "flushed"; id: number };

interface ThreadData {
  port: number;
  intervalMs: number;
  bindV4: string;
  ipv6: boolean;
  counters: SharedArrayBuffer;
  slots: { generation: number; taken: number; datagrams: number; sendErrors: number };
}

/**
 * The thread: every interval it takes the next signed heartbeat (if any) and sends it to every peer. A flush sends
 * the next one at once. Heartbeats taken while there are no peers are dropped, so the sequence still advances.
 */
function senderThread(require: NodeJS.Require): void {
  const threads = require("node:worker_threads") as typeof import("node:worker_threads");
  const parentPort = threads.parentPort;
  const dgram = require("node:dgram") as typeof import("node:dgram");
  const net = require("node:net") as typeof import("node:net");
  if (parentPort === null) return;
  const port = parentPort;
  const data = threads.workerData as ThreadData;
  const counters = new Float64Array(data.counters);
  let queue: Uint8Array[] = [];
  let addresses: string[] = [];
  let lastErrorAt = -Infinity;
  const report = (message: string): void => {
    // At most one report per 10 s: a peer that is gone must not flood the main loop with errors.
    const now = performance.now();
    if (now - lastErrorAt < 10_000) return;
    lastErrorAt = now;
    port.postMessage({ type: "error", message } satisfies FromThread);
  };
  const v4 = dgram.createSocket("udp4");
  const v6 = data.ipv6 ? dgram.createSocket({ type: "udp6", ipv6Only: true }) : undefined;
  for (const s of [v4, v6]) s?.on("error", (e) => report(`heartbeat socket: ${e.message}`));
  const count = (slot: number): void => {
    counters[slot] = (counters[slot] ?? 0) + 1;
  };
  const sendNext = (): void => {
    const beat = queue.shift();
    if (beat === undefined) return;
    count(data.slots.taken);
    for (const address of addresses) {
      const sock = net.isIPv6(address) ? v6 : v4;
      if (sock === undefined) continue;
      count(data.slots.datagrams);
      sock.send(beat, data.port, address, (err) => {
        if (err === null || err === undefined) return;
        count(data.slots.sendErrors);
        report(`sending a heartbeat to ${address}: ${err.message}`);
      });
    }
  };
  // One timer per interval, each due one interval after the previous was due (not after it ran): no drift. The first
  // is due one interval after the sockets are bound.
  let due = 0;
  const tick = (): void => {
    sendNext();
    const now = performance.now();
    due += data.intervalMs;
    if (due <= now) due = now + data.intervalMs;
    setTimeout(tick, due - now);
  };
  port.on("message", (m: ToThread) => {
    if (m.type === "peers") addresses = m.addresses;
    else if (m.type === "beats") {
      if (m.replace) {
        queue = m.beats;
        counters[data.slots.taken] = 0;
        counters[data.slots.generation] = m.generation;
      } else if (m.generation === counters[data.slots.generation]) queue.push(...m.beats);
    } else {
      sendNext();
      port.postMessage({ type: "flushed", id: m.id } satisfies FromThread);
    }
  });
  let bound = 0;
  const bindDone = (): void => {
    bound += 1;
    if (bound < (v6 === undefined ? 1 : 2)) return;
    due = performance.now() + data.intervalMs;
    setTimeout(tick, data.intervalMs);
    port.postMessage({ type: "ready" } satisfies FromThread);
  };
  v4.bind(0, data.bindV4, bindDone);
  v6?.bind(0, "::", bindDone);
}

/**
 * The main loop's handle on the sending thread: it hands over signed heartbeats and the peers' addresses, and reads
 * how far the thread got.
 */
export class HeartbeatSenderThread {
  private readonly worker: Worker;
  private readonly counters = new Float64Array(new SharedArrayBuffer(SLOTS * Float64Array.BYTES_PER_ELEMENT));
  private readonly flushes = new Map<number, () => void>();
  private readonly ready: Promise<void>;
  private nextFlush = 1;
  private generation = 0;
  /** Heartbeats handed over in this generation (the thread's TAKEN counts those it took). */
  private handedOver = 0;
  private stopped = false;

  constructor(opts: SenderThreadOptions) {
    const data: ThreadData = {
      port: opts.port,
      intervalMs: opts.intervalMs,
      bindV4: opts.bindV4,
      ipv6: opts.ipv6,
      counters: this.counters.buffer,
      slots: { generation: GENERATION, taken: TAKEN, datagrams: DATAGRAMS, sendErrors: SEND_ERRORS },
    };
    this.worker = new Worker(`(${senderThread.toString()})(require);`, { eval: true, workerData: data, name: "heartbeat-sender" });
    // The thread must not keep a stopping process alive.
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.on("message", (m: FromThread) => {
        if (m.type === "ready") resolve();
        else if (m.type === "error") opts.log.debug({ error: m.message }, "heartbeat sender");
        else {
          this.flushes.get(m.id)?.();
          this.flushes.delete(m.id);
        }
      });
    });
    this.worker.on("error", (err) => opts.log.warn({ err }, "heartbeat sender thread failed"));
  }

  /** Resolves once the thread's sockets are bound and it sends. */
  started(): Promise<void> {
    return this.ready;
  }

  setPeers(addresses: readonly string[]): void {
    this.post({ type: "peers", addresses: [...addresses] });
  }

  /** Signed heartbeats handed over and not yet taken by the thread. */
  get pending(): number {
    const taken = this.counters[GENERATION] === this.generation ? (this.counters[TAKEN] ?? 0) : 0;
    return Math.max(0, this.handedOver - taken);
  }

  /** Datagrams the thread has sent (one per peer per heartbeat), and sends that failed. */
  get datagrams(): number {
    return this.counters[DATAGRAMS] ?? 0;
  }

  get sendErrors(): number {
    return this.counters[SEND_ERRORS] ?? 0;
  }

  /** Queues heartbeats after those already handed over. */
  append(beats: Uint8Array[]): void {
    if (beats.length === 0) return;
    this.handedOver += beats.length;
    this.post({ type: "beats", generation: this.generation, replace: false, beats });
  }

  /** Drops every heartbeat not yet sent and queues these instead (empty: stop sending). */
  replace(beats: Uint8Array[]): void {
    this.generation += 1;
    this.handedOver = beats.length;
    this.post({ type: "beats", generation: this.generation, replace: true, beats });
  }

  /** Sends the next queued heartbeat at once; resolves when it is handed to the sockets. */
  flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const id = this.nextFlush++;
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      this.post({ type: "flush", id });
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const resolve of this.flushes.values()) resolve();
    this.flushes.clear();
    await this.worker.terminate();
  }

  private post(m: ToThread): void {
    if (!this.stopped) this.worker.postMessage(m);
  }
}
