import { describe, expect, test } from "@jest/globals";
import { jsonLogger } from "./logger.js";

describe("jsonLogger", () => {
  const fixed = (): Date => new Date("2026-01-02T03:04:05.000Z");

  test("writes one JSON line with ts, level, msg, base and fields; errors are summarized", () => {
    const lines: string[] = [];
    const log = jsonLogger({ write: (l) => lines.push(l), now: fixed, base: { component: "operator" } });
    log.child({ controller: "service" }).warn({ service: "ns/a", err: new Error("boom", { cause: new Error("inner") }), n: 3n }, "allocation failed");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      ts: "2026-01-02T03:04:05.000Z",
      level: "warn",
      msg: "allocation failed",
      component: "operator",
      controller: "service",
      service: "ns/a",
      n: "3",
      err: { name: "Error", message: "boom", cause: { name: "Error", message: "inner" } },
    });
  });

  test("drops entries below the level", () => {
    const lines: string[] = [];
    const log = jsonLogger({ write: (l) => lines.push(l), level: "warn", now: fixed });
    log.debug({}, "d");
    log.info({}, "i");
    log.error({}, "e");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["e"]);
  });
});
