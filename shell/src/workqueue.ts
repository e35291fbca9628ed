// One serial, keyed, de-duplicating work queue per process: everything that touches the allocator or the announcer
// runs through it, one item at a time, so no decision is ever split by an `await` of another handler.
// A key is pending at most once; a key added while it is being processed runs again afterwards. A handler that asks
// for a retry is re-queued with per-key exponential backoff (base doubling to max), reset on success.
import type { Logger } from "./logger.js";

export type Outcome = { kind: "done" } | { kind: "retry"; reason: string } | { kind: "failed"; reason: string };

export const DONE: Outcome = Object.freeze({ kind: "done" });

export interface WorkQueueOptions {
  log: Logger;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called after each handled item (metrics). */
  onHandled?: (key: string, outcome: Outcome, durationMs: number) => void;
}

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly pendingSet = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, ReturnType<typeof setTimeout>>();
  private processing: string | undefined;
  private dirty = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly handler: (key: string) => Promise<Outcome>,
    private readonly opts: WorkQueueOptions,
  ) {
    this.baseDelayMs = opts.baseDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
  }

  /** Queues a key now (cancels a pending delayed retry of it). */
  add(key: string): void {
    const timer = this.delayed.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.delayed.delete(key);
    }
    if (this.processing === key) {
      this.dirty = true;
      return;
    }
    if (this.pendingSet.has(key)) return;
    this.pendingSet.add(key);
    this.pending.push(key);
    this.wake?.();
  }

  /** Queues a key after a delay (a no-op if it is queued sooner by add()). */
  addAfter(key: string, delayMs: number): void {
    if (this.delayed.has(key) || this.pendingSet.has(key)) return;
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, timer);
  }

  get length(): number {
    return this.pending.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the item in progress; drops delayed retries. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
    this.wake?.();
    await this.loop;
  }

  /** Resolves when nothing is pending or processing (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.processing === undefined) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async run(): Promise<void> {
    while (this.running) {
      const key = this.pending.shift();
      if (key === undefined) {
        for (const w of this.idleWaiters.splice(0)) w();
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      this.pendingSet.delete(key);
      this.processing = key;
      this.dirty = false;
      const t0 = Date.now();
      let outcome: Outcome;
      try {
        outcome = await this.handler(key);
      } catch (e) {
        this.opts.log.error({ key, err: e }, "work item threw");
        outcome = { kind: "retry", reason: e instanceof Error ? e.message : String(e) };
      }
      this.processing = undefined;
      this.opts.onHandled?.(key, outcome, Date.now() - t0);
      if (outcome.kind === "retry") {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const delay = Math.min(this.baseDelayMs * 2 ** (n - 1), this.maxDelayMs);
        this.opts.log.debug({ key, reason: outcome.reason, retryMs: delay }, "retrying work item");
        if (this.dirty) this.add(key);
        else this.addAfter(key, delay);
      } else {
        this.failures.delete(key);
        if (this.dirty) this.add(key);
      }
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
