import { describe, expect, test } from "@jest/globals";
import { KeyedPipeline } from "./keyed-pipeline.js";

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("KeyedPipeline", () => {
  test("jobs of one key run in order; different keys overlap up to the concurrency", async () => {
    const p = new KeyedPipeline(2);
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const job = (name: string, ms: number) => async (): Promise<void> => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      active--;
    };
    void p.run("a", job("a1", 20));
    void p.run("a", job("a2", 1));
    void p.run("b", job("b1", 5));
    void p.run("c", job("c1", 5));
    await p.drain();
    expect(maxActive).toBe(2);
    expect(log.indexOf("end a1")).toBeLessThan(log.indexOf("start a2"));
    expect(log.filter((l) => l.startsWith("end"))).toHaveLength(4);
    expect(p.size).toBe(0);
  });

  test("a failing job rejects its own promise and does not block the key", async () => {
    const p = new KeyedPipeline(1);
    const failed = p.run("k", () => Promise.reject(new Error("boom")));
    await expect(failed).rejects.toThrow("boom");
    let ran = false;
    await p.run("k", async () => {
      ran = true;
      await tick(1);
    });
    expect(ran).toBe(true);
  });
});
