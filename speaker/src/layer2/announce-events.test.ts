import { describe, expect, test } from "@jest/globals";
import { AnnounceEventTracker } from "./announce-events.js";

const failed = (service: string, ip: string, node = "n1"): object => ({
  service,
  type: "Warning",
  reason: "announceFailed",
  message: `the interfaces specified by LB IP "${ip}" doesn't exist in assigned node "${node}" with protocol "layer2"`,
});
const assigned = (service: string, node = "n1"): object => ({
  service,
  type: "Normal",
  reason: "nodeAssigned",
  message: `announcing from node "${node}" with protocol "layer2"`,
});

describe("AnnounceEventTracker: one Event per transition", () => {
  test("failed, failed again (no churn), interface appears (nodeAssigned), stays announced", () => {
    const t = new AnnounceEventTracker("n1");
    expect(t.set("10.0.0.1", ["a/web"], "announceFailed")).toEqual([failed("a/web", "10.0.0.1")]);
    expect(t.set("10.0.0.1", ["a/web"], "announceFailed")).toEqual([]);
    expect(t.set("10.0.0.1", ["a/web"], "announced")).toEqual([assigned("a/web")]);
    expect(t.set("10.0.0.1", ["a/web"], "announced")).toEqual([]);
  });

  test("the interface disappears again: a new Warning", () => {
    const t = new AnnounceEventTracker("n1");
    t.set("10.0.0.1", ["a/web"], "announced");
    expect(t.set("10.0.0.1", ["a/web"], "announceFailed")).toEqual([failed("a/web", "10.0.0.1")]);
  });

  test("every Service sharing the IP gets the Event", () => {
    const t = new AnnounceEventTracker("n2");
    expect(t.set("fd00::5", ["a/x", "b/y"], "announceFailed")).toEqual([failed("a/x", "fd00::5", "n2"), failed("b/y", "fd00::5", "n2")]);
  });

  test("losing the IP (null) is silent and forgets it; winning it back announces again", () => {
    const t = new AnnounceEventTracker("n1");
    t.set("10.0.0.1", ["a/web"], "announced");
    expect(t.set("10.0.0.1", ["a/web"], null)).toEqual([]);
    expect(t.set("10.0.0.1", ["a/web"], "announced")).toEqual([assigned("a/web")]);
  });

  test("a separate key: state by key, the IP text only in the message; outcomeOf reports the last outcome", () => {
    const t = new AnnounceEventTracker("n1");
    expect(t.outcomeOf("4/a000001")).toBeUndefined();
    expect(t.set("10.0.0.1", ["a/web"], "announceFailed", "4/a000001")).toEqual([failed("a/web", "10.0.0.1")]);
    expect(t.outcomeOf("4/a000001")).toBe("announceFailed");
    expect(t.outcomeOf("10.0.0.1")).toBeUndefined();
  });

  test("retain forgets IPs that left the plan", () => {
    const t = new AnnounceEventTracker("n1");
    t.set("10.0.0.1", ["a/web"], "announceFailed");
    t.set("10.0.0.2", ["a/api"], "announceFailed");
    t.retain(new Set(["10.0.0.2"]));
    expect(t.set("10.0.0.1", ["a/web"], "announceFailed")).toHaveLength(1);
    expect(t.set("10.0.0.2", ["a/api"], "announceFailed")).toEqual([]);
  });
});
