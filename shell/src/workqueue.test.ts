import { describe, expect, test } from "@jest/globals";
import { silentLogger } from "./logger.js";
import { DONE, WorkQueue, type Outcome } from "./workqueue.js";

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("WorkQueue", () => {
  test("processes keys serially in FIFO order and de-duplicates pending keys", async () => {
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(
      async (k) => {
        active++;
        maxActive = Math.max(maxActive, active);
        seen.push(k);
        await tick(2);
        active--;
        return DONE;
      },
      { log: silentLogger },
    );
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    q.start();
    await q.idle();
    await q.stop();
    expect(seen).toEqual(["a", "b", "c"]);
    expect(maxActive).toBe(1);
  });

  test("a key added while it is processed runs once more afterwards", async () => {
    const seen: string[] = [];
    const q: WorkQueue = new WorkQueue(
      async (k) => {
        seen.push(k);
        if (seen.length === 1) {
          q.add("a");
          q.add("a");
        }
        await tick();
        return DONE;
      },
      { log: silentLogger },
    );
    q.add("a");
    q.start();
    await tick(20);
    await q.idle();
    await q.stop();
    expect(seen).toEqual(["a", "a"]);
  });

  test("retries with exponential backoff until done; a throwing handler is retried too", async () => {
    const times: number[] = [];
    const outcomes: Outcome[] = [{ kind: "retry", reason: "x" }, { kind: "retry", reason: "y" }, DONE];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length === 1) throw new Error("boom");
        await tick();
        return outcomes[times.length - 2] ?? DONE;
      },
      { log: silentLogger, baseDelayMs: 10, maxDelayMs: 1000 },
    );
    q.add("k");
    q.start();
    for (let i = 0; i < 100 && times.length < 4; i++) await tick(10);
    await q.stop();
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // 10, 20, 40 ms (timers may fire a little late, never early)
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(39);
  });

  test("failed items are not retried; stop() drops delayed retries", async () => {
    let calls = 0;
    const q = new WorkQueue(
      async (k) => {
        calls++;
        await tick();
        return k === "f" ? { kind: "failed", reason: "bad" } : { kind: "retry", reason: "later" };
      },
      { log: silentLogger, baseDelayMs: 50 },
    );
    q.add("f");
    q.add("r");
    q.start();
    await q.idle();
    await q.stop();
    await tick(80);
    expect(calls).toBe(2);
  });
});
