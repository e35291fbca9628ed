import { describe, expect, test } from "@jest/globals";
import { describePreviousRun, parseExitState, parseFatalReport, previousRun, startState, type ExitState } from "./exit-reasons.js";

const running: ExitState = { starts: 3, pid: 41, startedAt: "2026-01-01T00:00:00.000Z", exit: null };
const report = { event: "Allocation failed - JavaScript heap out of memory", trigger: "OOMError", processId: 41, dumpEventTime: "2026-01-01T00:05:00Z" };

describe("exit state across restarts", () => {
  test.each([
    ["first start", undefined, null],
    ["garbage", "{not json", null],
    ["negative count", JSON.stringify({ ...running, starts: -1 }), null],
    ["a running state", JSON.stringify(running), running],
    [
      "an exited state",
      JSON.stringify({ ...running, exit: { code: 1, cause: "uncaught exception", at: "x" } }),
      { ...running, exit: { code: 1, cause: "uncaught exception", at: "x" } },
    ],
  ])("parseExitState: %s", (_d, text, want) => {
    expect(parseExitState(text)).toEqual(want);
  });

  test("startState counts one more start and clears the exit", () => {
    const now = new Date("2026-02-02T00:00:00.000Z");
    expect(startState(null, 7, now)).toEqual({ starts: 1, pid: 7, startedAt: now.toISOString(), exit: null });
    expect(startState({ ...running, exit: { code: 0, cause: "signal SIGTERM", at: "x" } }, 8, now)).toEqual({
      starts: 4,
      pid: 8,
      startedAt: now.toISOString(),
      exit: null,
    });
  });

  test.each([
    ["no previous run", null, null, { kind: "none" }],
    [
      "a recorded exit wins over a report",
      { ...running, exit: { code: 0, cause: "signal SIGTERM", at: "t" } },
      report,
      { kind: "exited", code: 0, cause: "signal SIGTERM", at: "t", pid: 41 },
    ],
    [
      "no exit, a report of that pid: fatal error",
      running,
      report,
      { kind: "fatalError", event: report.event, trigger: "OOMError", at: report.dumpEventTime, pid: 41 },
    ],
    ["no exit, a report of another pid: no word", running, { ...report, processId: 40 }, { kind: "noWord", pid: 41, startedAt: running.startedAt }],
    ["no exit, no report: no word", running, null, { kind: "noWord", pid: 41, startedAt: running.startedAt }],
  ] as const)("previousRun: %s", (_d, prev, rep, want) => {
    expect(previousRun(prev, rep)).toEqual(want);
  });

  test("parseFatalReport reads the header of a Node diagnostic report", () => {
    expect(parseFatalReport(JSON.stringify({ header: { ...report, nodejsVersion: "v20" }, javascriptStack: {} }))).toEqual(report);
    expect(parseFatalReport(JSON.stringify({ header: report, javascriptHeap: { usedMemory: 33, memoryLimit: 64 } }))).toEqual({
      ...report,
      heapUsedBytes: 33,
      heapLimitBytes: 64,
    });
    expect(parseFatalReport("")).toBeNull();
    expect(parseFatalReport(JSON.stringify({ header: { event: "x" } }))).toBeNull();
  });

  test("describePreviousRun: levels and causes", () => {
    expect(describePreviousRun({ kind: "none" })).toBeUndefined();
    expect(describePreviousRun({ kind: "exited", code: 0, cause: "signal SIGTERM", at: "t", pid: 1 })).toMatchObject({
      level: "info",
      msg: "previous run exited",
      fields: { previousCause: "signal SIGTERM" },
    });
    expect(describePreviousRun({ kind: "exited", code: 1, cause: "uncaught exception", at: "t", pid: 1 })).toMatchObject({ level: "warn" });
    expect(describePreviousRun({ kind: "fatalError", event: report.event, trigger: "OOMError", at: "t", pid: 1 })).toMatchObject({
      level: "warn",
      fields: { previousCause: `fatal error: ${report.event}`, trigger: "OOMError" },
    });
    expect(describePreviousRun({ kind: "noWord", pid: 1, startedAt: "s" })?.fields.previousCause).toMatch(/SIGKILL/);
  });
});
