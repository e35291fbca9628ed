import { describe, expect, test } from "@jest/globals";
import { bgpApplyDelayMs, l2PlanBatchMs, PublishedHalves, type PublishedObject } from "./published-halves.js";

const shard = (name: string, rv: string, services: Record<string, unknown>): PublishedObject => ({
  metadata: { name, resourceVersion: rv },
  spec: { services },
});
const nodeConfig = (name: string, rv: string, generation: number, address = "10.0.0.1"): PublishedObject => ({
  metadata: { name, resourceVersion: rv, generation },
  spec: { node: name, address },
});

describe("PublishedHalves", () => {
  test("a shard is decoded once per resourceVersion; the Service array is the same object while no shard changed", () => {
    const problems: string[] = [];
    const h = new PublishedHalves((_w, e) => problems.push(e));
    const a1 = shard("s-00", "1", { "ns/a": { ips: ["10.0.0.10"], l2: ["lan"] } });
    const b1 = shard("s-01", "1", { "ns/b": { ips: ["10.0.0.11"] }, "ns/bad": { ips: ["nope"] } });
    const first = h.serviceEntries([a1, b1]);
    expect(first.map((s) => s.key).sort()).toEqual(["ns/a", "ns/b"]);
    expect(problems).toHaveLength(1);
    // Nothing changed: the same array, nothing decoded (the invalid entry is not reported again).
    expect(h.serviceEntries([a1, b1])).toBe(first);
    expect(problems).toHaveLength(1);
    // One shard changed: its entries are decoded again, the other shard's entry objects are reused.
    const a2 = shard("s-00", "2", { "ns/a": { ips: ["10.0.0.10"] }, "ns/c": { ips: ["10.0.0.12"] } });
    const second = h.serviceEntries([a2, b1]);
    expect(second).not.toBe(first);
    expect(second.map((s) => s.key).sort()).toEqual(["ns/a", "ns/b", "ns/c"]);
    expect(second.find((s) => s.key === "ns/b")).toBe(first.find((s) => s.key === "ns/b"));
    expect(problems).toHaveLength(1);
    // A shard that is gone takes its entries with it.
    expect(
      h
        .serviceEntries([a2])
        .map((s) => s.key)
        .sort(),
    ).toEqual(["ns/a", "ns/c"]);
  });

  test("NodeConfigs are decoded once per resourceVersion; invalid ones are left out and reported once per version", () => {
    const problems: string[] = [];
    const h = new PublishedHalves((w, e) => problems.push(`${w.nodeConfig ?? ""}: ${e}`));
    const n1 = nodeConfig("n1", "5", 1);
    const bad: PublishedObject = { metadata: { name: "n2", resourceVersion: "6", generation: 1 }, spec: {} };
    const nodes = h.nodes([n1, bad]);
    expect(nodes.map((n) => n.node)).toEqual(["n1"]);
    expect(h.nodes([n1, bad])[0]).toBe(nodes[0]);
    expect(problems).toEqual(["n2: spec.node: missing"]);
    expect(h.nodes([nodeConfig("n1", "7", 2, "10.0.0.2")])[0]?.address).toBe("10.0.0.2");
  });

  test.each<[string, Array<["add" | "update" | "delete", number | undefined]>, boolean[]]>([
    [
      "add, then a status-only update (same generation), then a spec update",
      [
        ["add", 1],
        ["update", 1],
        ["update", 2],
      ],
      [true, false, true],
    ],
    [
      "a relist re-adding the same generation counts (an add always does)",
      [
        ["add", 3],
        ["add", 3],
      ],
      [true, true],
    ],
    [
      "delete, then the same generation again",
      [
        ["add", 1],
        ["delete", 1],
        ["update", 1],
      ],
      [true, true, true],
    ],
    [
      "no generation: always a change",
      [
        ["update", undefined],
        ["update", undefined],
      ],
      [true, true],
    ],
  ])("specChanged: %s", (_d, events, want) => {
    const h = new PublishedHalves(() => undefined);
    expect(events.map(([verb, gen]) => h.specChanged(verb, { metadata: { name: "n1", ...(gen !== undefined ? { generation: gen } : {}) } }))).toEqual(want);
  });
});

test.each([
  [0, 10],
  [1, 10],
  [2.5, 10],
  [5, 20],
  [60, 240],
  [300, 1_000],
  [5_000, 1_000],
])("a Layer 2 join of %s ms is followed by a %s ms batch window", (joinMs, want) => {
  expect(l2PlanBatchMs(joinMs)).toBe(want);
});

test.each([
  [0, 0],
  [4.9, 0],
  [5, 20],
  [40, 160],
  [400, 1_000],
])("a BGP plan of %s ms delays the next shard-triggered plan by %s ms", (planMs, want) => {
  expect(bgpApplyDelayMs(planMs)).toBe(want);
});
