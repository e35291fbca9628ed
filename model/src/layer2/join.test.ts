import { describe, expect, test } from "@jest/globals";
import type { NodeAnnouncement, NodeL2Advertisement, ServiceAnnouncement } from "../announce/plan.js";
import { deepFreeze } from "../config/testdata/builders.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";
import { IncrementalL2Join } from "./join.js";
import { hashWithSuffix, joinL2, type L2Plan } from "./plan.js";
import { seededRandom } from "../../../testenv/src/seeded-random.js";

const aNode = (
  node: string,
  l2: NodeL2Advertisement[] = [{ name: "adv", weight: 0, interfaces: [] }],
  extra: Partial<NodeAnnouncement> = {},
): NodeAnnouncement =>
  deepFreeze({
    node,
    address: null,
    networkUnavailable: false,
    excludedFromLoadBalancers: false,
    draining: false,
    notReady: false,
    sessions: [],
    bfdProfiles: [],
    bgpAdvertisements: [],
    l2Advertisements: l2,
    ...extra,
  });

const aService = (key: string, ips: string[], extra: Partial<ServiceAnnouncement> = {}): ServiceAnnouncement =>
  deepFreeze({ key, ips: ips.map(ip), sharingKey: "", localNodes: null, hasEndpoints: true, bgp: [], l2: ["adv"], l2Skip: null, ...extra });

/** Updates the join and checks it against joinL2 on the same inputs (whole plan, and the entries of `self`). */
function expectSame(
  join: IncrementalL2Join,
  self: string,
  services: readonly ServiceAnnouncement[],
  nodes: readonly NodeAnnouncement[],
  only?: ReadonlySet<string>,
): void {
  join.update(services, nodes, only);
  const want = joinL2(services, nodes, only);
  expect(join.plan()).toEqual(want);
  expect(join.entries()).toEqual(want.byNode.get(self) ?? []);
}

describe("IncrementalL2Join: edge cases (each step equals joinL2)", () => {
  const N = ["n1", "n2", "n3", "n4"];
  const nodes = N.map((n) => aNode(n));
  type Step = [desc: string, services: ServiceAnnouncement[], nodes: NodeAnnouncement[], only: ReadonlySet<string> | undefined];
  const s1 = aService("a/s1", ["192.0.2.1"]);
  const s2 = aService("a/s2", ["192.0.2.2", "2001:db8::2"]);
  const steps: Step[] = [
    ["empty", [], [], undefined],
    ["services before any node: noEligibleNodes", [s1, s2], [], undefined],
    ["nodes arrive: every node ranked", [s1, s2], nodes, undefined],
    ["restricted to two speakers", [s1, s2], nodes, new Set(["n1", "n3"])],
    ["a speaker joins", [s1, s2], nodes, new Set(["n1", "n2", "n3"])],
    ["an unknown speaker (no NodeConfig) is no candidate", [s1, s2], nodes, new Set(["n1", "n2", "n3", "zz"])],
    ["a speaker leaves", [s1, s2], nodes, new Set(["n2", "n3"])],
    ["the same content in new objects changes nothing", [aService("a/s1", ["192.0.2.1"]), s2], N.map((n) => aNode(n)), new Set(["n2", "n3"])],
    ["node order does not matter", [s2, s1], [...nodes].reverse(), new Set(["n2", "n3"])],
    ["a node drains: ranked last", [s1, s2], [aNode("n1"), aNode("n2", undefined, { draining: true }), aNode("n3"), aNode("n4")], undefined],
    ["a node excluded", [s1, s2], [aNode("n1"), aNode("n2", undefined, { excludedFromLoadBalancers: true }), aNode("n3"), aNode("n4")], undefined],
    [
      "preferences and interfaces",
      [s1, s2],
      [aNode("n1"), aNode("n2", [{ name: "adv", weight: 50, interfaces: ["eth1"] }]), aNode("n3"), aNode("n4")],
      undefined,
    ],
    ["every node loses the advertisement: noEligibleNodes", [s1, s2], N.map((n) => aNode(n, [])), undefined],
    ["one node gets it back", [s1, s2], [aNode("n1", []), aNode("n2", []), aNode("n3"), aNode("n4", [])], undefined],
    [
      "ETP Local on nodes without the advertisement: noLocalEndpoints",
      [aService("a/s1", ["192.0.2.1"], { localNodes: ["n1", "n2"] }), s2],
      [aNode("n1", []), aNode("n2", []), aNode("n3"), aNode("n4", [])],
      undefined,
    ],
    [
      "the endpoint node gets the advertisement",
      [aService("a/s1", ["192.0.2.1"], { localNodes: ["n1", "n2"] }), s2],
      [aNode("n1"), aNode("n2", []), aNode("n3"), aNode("n4", [])],
      undefined,
    ],
    [
      "a shared IP, ETP Local members: coverage first",
      [aService("a/s1", ["192.0.2.1"], { localNodes: ["n1", "n2"] }), aService("a/s3", ["192.0.2.1"], { localNodes: ["n2"] })],
      nodes,
      undefined,
    ],
    [
      "a member with a lower first IP changes the hashed IP",
      [aService("a/s1", ["192.0.2.1"], { localNodes: ["n1", "n2"] }), aService("a/s3", ["192.0.2.0", "192.0.2.1"])],
      nodes,
      undefined,
    ],
    ["a node removed", [aService("a/s1", ["192.0.2.1"]), aService("a/s3", ["192.0.2.0", "192.0.2.1"])], nodes.slice(1), undefined],
    ["duplicate IPs in a Service count once", [aService("a/s1", ["192.0.2.1", "192.0.2.1"])], nodes, undefined],
    [
      "node-independent skips",
      [
        aService("a/none", []),
        aService("a/skip", ["192.0.2.9"], { l2Skip: "noMatchingAdvertisement", l2: [] }),
        aService("a/noep", ["192.0.2.8"], { hasEndpoints: false }),
      ],
      nodes,
      undefined,
    ],
    ["everything removed", [], nodes, undefined],
  ];
  test("steps", () => {
    const join = new IncrementalL2Join({ self: "n2" });
    for (const [desc, services, ns, only] of steps) {
      try {
        expectSame(join, "n2", services, ns, only);
      } catch (e) {
        throw new Error(`step "${desc}": ${String(e)}`);
      }
    }
  });

  test("entries() without self is empty; the cached entries are handed out as they are", () => {
    const join = new IncrementalL2Join();
    join.update([s1], nodes, undefined);
    expect(join.entries()).toEqual([]);
    const mine = new IncrementalL2Join({ self: "n1" });
    mine.update([s1], nodes, undefined);
    const first = mine.entries();
    mine.update([s1], nodes, new Set(N));
    expect(mine.entries()[0]).toBe(first[0]);
  });

  test("speakers joining one by one: each lands where a full join puts it", () => {
    const many = Array.from({ length: 24 }, (_, i) => aNode(`node-${i}`));
    const services = Array.from({ length: 20 }, (_, i) => aService(`a/s${i}`, [`198.51.100.${i}`]));
    const join = new IncrementalL2Join({ self: "node-0" });
    const only = new Set(many.slice(0, 12).map((n) => n.node));
    expectSame(join, "node-0", services, many, only);
    for (let i = 12; i < 24; i++) {
      only.add(`node-${i}`);
      expectSame(join, "node-0", services, many, new Set(only));
    }
  });
});

describe("IncrementalL2Join: work in proportion to the change (election hashes counted)", () => {
  const nodes = Array.from({ length: 30 }, (_, i) => aNode(`node-${String(i).padStart(2, "0")}`));
  const services = Array.from({ length: 50 }, (_, i) => aService(`a/s${i}`, [`198.51.100.${i}`]));
  const speakers = new Set(nodes.slice(0, 20).map((n) => n.node));

  function built(): { join: IncrementalL2Join; hashes: () => number } {
    let calls = 0;
    const join = new IncrementalL2Join({
      self: "node-00",
      hash: (node, suffix) => {
        calls += 1;
        return hashWithSuffix(node, suffix);
      },
    });
    join.update(services, nodes, speakers);
    expect(calls).toBe(50 * 20); // the initial build hashes every speaker for every IP, as joinL2
    calls = 0;
    return { join, hashes: () => calls };
  }

  test.each<[desc: string, change: (join: IncrementalL2Join) => void, want: number]>([
    ["nothing changed (new input arrays, same content)", (j) => j.update([...services], [...nodes], new Set(speakers)), 0],
    ["one speaker joining: one hash per IP it may announce", (j) => j.update(services, nodes, new Set([...speakers, "node-25"])), 50],
    ["one speaker leaving: none", (j) => j.update(services, nodes, new Set([...speakers].filter((n) => n !== "node-03"))), 0],
    ["one Service added: one hash per speaker", (j) => j.update([...services, aService("a/new", ["198.51.100.200"])], nodes, speakers), 20],
    [
      "one node's preference changed: none (its hash is kept)",
      (j) =>
        j.update(
          services,
          nodes.map((n, i) => (i === 4 ? aNode(n.node, [{ name: "adv", weight: 10, interfaces: [] }]) : n)),
          speakers,
        ),
      0,
    ],
    [
      "one node drained: none",
      (j) =>
        j.update(
          services,
          nodes.map((n, i) => (i === 5 ? aNode(n.node, undefined, { draining: true }) : n)),
          speakers,
        ),
      0,
    ],
  ])("%s", (_desc, change, want) => {
    const { join, hashes } = built();
    change(join);
    expect(hashes()).toBe(want);
  });
});

/** A random world of Services and nodes, and the random changes the property test applies to it. */
class World {
  readonly nodeNames = Array.from({ length: 9 }, (_, i) => `node-${i}`);
  readonly advNames = ["a", "b", "c"];
  services = new Map<string, ServiceAnnouncement>();
  nodes = new Map<string, NodeAnnouncement>();
  only: Set<string> | undefined = new Set();

  constructor(private readonly rnd: () => number) {
    for (const n of this.nodeNames) if (rnd() < 0.8) this.nodes.set(n, this.randomNode(n));
    for (const n of this.nodeNames) if (rnd() < 0.6) this.only?.add(n);
    for (let i = 0; i < 12; i++) this.setService(`ns/s${i}`);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }

  private some<T>(xs: readonly T[], p: number): T[] {
    return xs.filter(() => this.rnd() < p);
  }

  randomNode(node: string): NodeAnnouncement {
    const l2 = this.some(this.advNames, 0.6).map((name) => ({
      name,
      weight: this.rnd() < 0.7 ? 0 : this.pick([10, 20, 50]),
      interfaces: this.rnd() < 0.6 ? [] : this.some(["eth0", "eth1", "bond0"], 0.5).sort(),
    }));
    return aNode(node, l2, {
      draining: this.rnd() < 0.15,
      networkUnavailable: this.rnd() < 0.08,
      excludedFromLoadBalancers: this.rnd() < 0.08,
      notReady: this.rnd() < 0.1,
      address: `10.0.0.${Math.floor(this.rnd() * 250)}`,
    });
  }

  /** IPs from a small range, so Services share them (and dual-stack pairs share one side). */
  private randomIPs(): string[] {
    const v4 = `192.0.2.${Math.floor(this.rnd() * 10)}`;
    const v6 = `2001:db8::${Math.floor(this.rnd() * 6).toString(16)}`;
    const r = this.rnd();
    if (r < 0.05) return [];
    if (r < 0.55) return [v4];
    if (r < 0.7) return [v6];
    if (r < 0.85) return [v4, v6];
    if (r < 0.9) return [v4, v4];
    return [v6, v4];
  }

  setService(key: string): void {
    const l2 = this.some(this.advNames, 0.5).sort();
    const local = this.rnd() < 0.4;
    const localNodes = this.some(this.nodeNames, 0.3).sort();
    this.services.set(
      key,
      aService(key, this.randomIPs(), {
        l2,
        l2Skip: l2.length === 0 ? "noMatchingAdvertisement" : this.rnd() < 0.05 ? "sharedIPWithServiceSelector" : null,
        localNodes: local ? localNodes : null,
        hasEndpoints: local ? localNodes.length > 0 : this.rnd() < 0.9,
        sharingKey: this.rnd() < 0.3 ? "k" : "",
      }),
    );
  }

  /** One random change; returns what it did. */
  step(): string {
    const r = this.rnd();
    const svc = `ns/s${Math.floor(this.rnd() * 16)}`;
    const node = this.pick(this.nodeNames);
    if (r < 0.25) {
      this.setService(svc);
      return `set service ${svc}`;
    }
    if (r < 0.32) {
      this.services.delete(svc);
      return `remove service ${svc}`;
    }
    if (r < 0.42) {
      const s = this.services.get(svc);
      if (s === undefined || s.localNodes === null) return "noop";
      const localNodes = this.some(this.nodeNames, 0.3).sort();
      this.services.set(svc, { ...s, localNodes, hasEndpoints: localNodes.length > 0 });
      return `endpoints of ${svc}: ${localNodes.join(",")}`;
    }
    if (r < 0.6) {
      this.nodes.set(node, this.randomNode(node));
      return `node ${node} changed`;
    }
    if (r < 0.66) {
      const n = this.nodes.get(node);
      if (n !== undefined) this.nodes.set(node, { ...n, draining: !n.draining });
      return `node ${node} drain toggled`;
    }
    if (r < 0.7) {
      const n = this.nodes.get(node);
      if (n !== undefined) this.nodes.set(node, { ...n, notReady: !n.notReady, address: "10.9.9.9" });
      return `node ${node} non-L2 fields changed`;
    }
    if (r < 0.75) {
      this.nodes.delete(node);
      return `node ${node} removed`;
    }
    if (r < 0.92) {
      if (this.only === undefined) this.only = new Set(this.nodeNames);
      if (this.only.has(node)) this.only.delete(node);
      else this.only.add(node);
      return `speaker ${node} toggled`;
    }
    if (r < 0.95) {
      this.only = this.only === undefined ? new Set(this.some(this.nodeNames, 0.5)) : undefined;
      return "only toggled between every node and some";
    }
    for (let i = 0; i < 3; i++) this.setService(`ns/s${Math.floor(this.rnd() * 16)}`);
    this.nodes.set(node, this.randomNode(node));
    return `batch: 3 services and node ${node}`;
  }

  serviceList(): ServiceAnnouncement[] {
    const list = [...this.services.values()];
    return this.rnd() < 0.5 ? list : list.reverse();
  }

  nodeList(): NodeAnnouncement[] {
    const list = [...this.nodes.values()];
    return this.rnd() < 0.5 ? list : list.reverse();
  }
}

test("IncrementalL2Join equals joinL2 after every step of random change sequences (seeded)", () => {
  const seen = { shared: 0, restricted: 0, scored: 0, draining: 0, selfEntries: 0, skipped: new Set<string>() };
  for (let seed = 1; seed <= 100; seed++) {
    const rnd = seededRandom(seed);
    const world = new World(rnd);
    const self = world.nodeNames[seed % world.nodeNames.length] ?? "node-0";
    const join = new IncrementalL2Join({ self });
    const log: string[] = ["start"];
    for (let i = 0; i < 40; i++) {
      if (i > 0) log.push(world.step());
      const services = world.serviceList();
      const nodes = world.nodeList();
      const only = world.only === undefined ? undefined : new Set(world.only);
      join.update(services, nodes, only);
      const want = joinL2(services, nodes, only);
      const got = join.plan();
      noteCoverage(seen, want, only, world.nodes, self);
      if (
        JSON.stringify(got, replacer) !== JSON.stringify(want, replacer) ||
        JSON.stringify(join.entries(), replacer) !== JSON.stringify(want.byNode.get(self) ?? [], replacer)
      ) {
        // The diff, with the seed and the steps so far.
        expect({ seed, steps: log, plan: got }).toEqual({ seed, steps: log, plan: want });
        expect({ seed, steps: log, entries: join.entries() }).toEqual({ seed, steps: log, entries: want.byNode.get(self) ?? [] });
      }
    }
  }
  // The random worlds reach the cases that matter (else the comparison above proves little).
  expect(seen.shared).toBeGreaterThan(100);
  expect(seen.restricted).toBeGreaterThan(100);
  expect(seen.scored).toBeGreaterThan(100);
  expect(seen.draining).toBeGreaterThan(100);
  expect(seen.selfEntries).toBeGreaterThan(100);
  expect([...seen.skipped].sort()).toEqual([
    "noEligibleNodes",
    "noIPs",
    "noLocalEndpoints",
    "noMatchingAdvertisement",
    "noServingEndpoints",
    "sharedIPWithServiceSelector",
  ]);
});

interface Seen {
  shared: number;
  restricted: number;
  scored: number;
  draining: number;
  selfEntries: number;
  skipped: Set<string>;
}

function noteCoverage(seen: Seen, plan: L2Plan, only: ReadonlySet<string> | undefined, nodes: ReadonlyMap<string, NodeAnnouncement>, self: string): void {
  for (const p of plan.ips) {
    if (p.services.length > 1) seen.shared += 1;
    if (p.candidates.length < p.candidateCount) seen.restricted += 1;
    if (p.candidates.some((c) => c.score > 0)) seen.scored += 1;
    if (p.candidates.length > 1 && p.candidates.some((c) => nodes.get(c.node)?.draining === true)) seen.draining += 1;
  }
  if (only === undefined || only.has(self)) seen.selfEntries += plan.byNode.get(self)?.length ?? 0;
  for (const o of plan.services) if (!o.announced) seen.skipped.add(o.reason);
}

/** JSON for the comparison: bigints as text, maps as entry lists. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return [...(value as Map<unknown, unknown>).entries()];
  return value;
}
