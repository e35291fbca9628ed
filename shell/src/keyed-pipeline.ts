// Runs async jobs with bounded concurrency, in order per key: a key's next job starts after its previous one ends.
// Used to overlap API writes for different objects while the decisions that produce them stay serial.
export class KeyedPipeline {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly tails = new Map<string, Promise<void>>();
  private readonly all = new Set<Promise<void>>();

  constructor(private readonly concurrency: number) {}

  /** Queues a job; the returned promise settles with it (callers handle errors). */
  run(key: string, job: () => Promise<void>): Promise<void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const p = prev
      .catch(() => undefined)
      .then(() => this.slot())
      .then(async () => {
        try {
          await job();
        } finally {
          this.release();
        }
      });
    const tail = p.catch(() => undefined);
    this.tails.set(key, tail);
    this.all.add(tail);
    void tail.then(() => {
      this.all.delete(tail);
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return p;
  }

  /** Resolves when every job queued so far has settled. */
  async drain(): Promise<void> {
    while (this.all.size > 0) await Promise.all([...this.all]);
  }

  get size(): number {
    return this.all.size;
  }

  private slot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiting.push(() => r()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.active--;
  }
}
