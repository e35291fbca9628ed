import { describe, expect, test } from "@jest/globals";
import {
  electL2Owner,
  handedOver,
  handoverTarget,
  ownershipChangeReason,
  shouldAnnounce,
  type L2AnnounceDecision,
  type OwnershipChangeReason,
} from "./election.js";
import { decodeHeartbeat, encodeHeartbeat, LivenessTracker } from "./heartbeat.js";

describe("electL2Owner: first live candidate", () => {
  const plan = ["node1", "node2", "node3"];
  test.each<[desc: string, alive: string[], want: string | null]>([
    ["everyone alive: the plan's first", ["node1", "node2", "node3"], "node1"],
    ["owner dead: the next candidate", ["node2", "node3"], "node2"],
    ["two first dead: the third", ["node3"], "node3"],
    ["owner back: ownership follows the plan again", ["node3", "node2", "node1"], "node1"],
    ["only non-candidates alive", ["node9"], null],
    ["nobody alive", [], null],
  ])("%s", (_desc, alive, want) => {
    expect(electL2Owner(plan, new Set(alive))).toBe(want);
  });

  test("no candidates", () => {
    expect(electL2Owner([], new Set(["node1"]))).toBeNull();
  });
});

describe("shouldAnnounce", () => {
  const entry = { candidates: ["node1", "node2", "node3"] };
  type Case = [desc: string, me: string, alive: string[], fenced: boolean, want: L2AnnounceDecision];
  test.each<Case>([
    ["first candidate, alive", "node1", ["node1", "node2", "node3"], false, { announce: true, reason: "owner", owner: "node1" }],
    ["second candidate, first alive", "node2", ["node1", "node2"], false, { announce: false, reason: "notOwner", owner: "node1" }],
    ["second candidate, first dead", "node2", ["node2", "node3"], false, { announce: true, reason: "owner", owner: "node2" }],
    ["third candidate, first back", "node3", ["node1", "node3"], false, { announce: false, reason: "notOwner", owner: "node1" }],
    ["fenced first candidate", "node1", ["node2"], true, { announce: false, reason: "fenced", owner: null }],
    ["fenced with nobody else alive", "node2", [], true, { announce: false, reason: "fenced", owner: null }],
    ["not a candidate (stale entry)", "node9", ["node9", "node2"], false, { announce: false, reason: "notCandidate", owner: "node2" }],
    ["unfenced but missing from its own view: counts itself alive", "node1", [], false, { announce: true, reason: "owner", owner: "node1" }],
  ])("%s", (_desc, me, alive, fenced, want) => {
    expect(shouldAnnounce(entry, me, new Set(alive), fenced)).toEqual(want);
  });

  test("fenced but the only candidate: nobody could take over, so it keeps answering", () => {
    expect(shouldAnnounce({ candidates: ["node1"] }, "node1", new Set(), true)).toEqual({ announce: true, reason: "owner", owner: "node1" });
  });

  test("no candidates", () => {
    expect(shouldAnnounce({ candidates: [] }, "node1", new Set(["node1"]), false)).toEqual({ announce: false, reason: "noCandidates", owner: null });
  });
});

describe("ownershipChangeReason: why an IP moved to this node", () => {
  const cands = ["node1", "node2", "node3"];
  test.each<
    [desc: string, previous: string | null, candidates: string[], alive: string[], left: string[], draining: string[], want: OwnershipChangeReason | null]
  >([
    ["no previous owner (first owner, or this node was fenced)", null, cands, ["node2"], [], [], null],
    ["it was this node already", "node2", cands, ["node2"], [], [], null],
    ["previous owner's heartbeats stopped", "node1", cands, ["node2"], [], [], "ownerSilent"],
    ["previous owner said it was leaving", "node1", cands, ["node2"], ["node1"], [], "ownerLeft"],
    ["previous owner said it was leaving while draining: leaving wins", "node1", cands, ["node2"], ["node1"], ["node1"], "ownerLeft"],
    ["previous owner no candidate any more", "node1", ["node2", "node3"], ["node1", "node2"], [], [], "nodeExcluded"],
    ["previous owner cordoned (draining), alive, ranked after this node", "node1", ["node2", "node1"], ["node1", "node2"], [], ["node1"], "drain"],
    ["previous owner cordoned but silent: silence wins", "node1", ["node2", "node1"], ["node2"], [], ["node1"], "ownerSilent"],
    ["previous owner alive but ranked after this node", "node3", ["node2", "node3"], ["node2", "node3"], [], [], "preference"],
  ])("%s", (...row) => {
    const [, previous, candidates, alive, left, draining, want] = row;
    expect(ownershipChangeReason(previous, "node2", candidates, { alive: new Set(alive), left: new Set(left), draining: new Set(draining) })).toBe(want);
  });

  test.each<[OwnershipChangeReason | null, boolean]>([
    ["ownerLeft", true],
    ["drain", true],
    ["ownerSilent", false],
    ["preference", false],
    ["nodeExcluded", false],
    [null, false],
  ])("handedOver(%s) = %s: the new owner claims without probing only when the old one hands over", (change, want) => {
    expect(handedOver(change)).toBe(want);
  });
});

describe("handoverTarget: whom an owner that lets an IP go keeps answering for (make before break)", () => {
  test.each<[desc: string, candidates: string[], alive: string[], handingOff: boolean, want: string | null]>([
    ["leaving or draining: the next live candidate", ["node1", "node2", "node3"], ["node1", "node2", "node3"], true, "node2"],
    ["the next candidate is dead: the one after it", ["node1", "node2", "node3"], ["node1", "node3"], true, "node3"],
    ["this node ranked last already (cordoned): the first live other one", ["node2", "node3", "node1"], ["node1", "node2"], true, "node2"],
    ["no other live candidate: nobody will claim, let go at once", ["node1", "node2"], ["node1"], true, null],
    ["sole candidate", ["node1"], ["node1"], true, null],
    ["not handing off (fenced, preempted): let go at once", ["node1", "node2"], ["node1", "node2"], false, null],
  ])("%s", (...row) => {
    const [, candidates, alive, handingOff, want] = row;
    expect(handoverTarget(candidates, "node1", new Set(alive), handingOff)).toBe(want);
  });
});

// ---------------------------------------------------------------------------------------------------------
// A millisecond-step simulation of three speakers exchanging real (encoded, authenticated) heartbeats, to check the
// properties the pieces are for: failover well under a second, and never two owners of an IP at the same time.

const KEY = new Uint8Array(32).fill(0x42);
const INTERVAL = 100;
const LATENCY = 2;

interface SimNode {
  readonly name: string;
  readonly phase: number;
  tracker: LivenessTracker;
  up: boolean;
  isolated: boolean;
  /** Stopped (SIGSTOP) from pausedFrom until pausedUntil: sends nothing, reads nothing (datagrams wait). */
  pausedFrom: number;
  pausedUntil: number;
}

interface InFlight {
  readonly to: string;
  readonly at: number;
  readonly bytes: Uint8Array;
}

class Cluster {
  readonly nodes: SimNode[];
  private inFlight: InFlight[] = [];
  now = 0;
  /** Per entry: isolated nodes that still claim it (at the last step). */
  isolatedOwners: string[][] = [];

  constructor(names: readonly string[]) {
    this.nodes = names.map((name, i) => ({
      name,
      phase: (i * 37) % INTERVAL,
      tracker: new LivenessTracker({ self: name, incarnation: 0, startMs: 0 }),
      up: true,
      isolated: false,
      pausedFrom: 0,
      pausedUntil: 0,
    }));
  }

  node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(name);
    return n;
  }

  crash(name: string): void {
    this.node(name).up = false;
  }

  restart(name: string): void {
    const n = this.node(name);
    n.tracker = new LivenessTracker({ self: name, incarnation: this.now, startMs: this.now });
    n.up = true;
  }

  /** SIGSTOP for `ms`, then SIGCONT. */
  pause(name: string, ms: number): void {
    const n = this.node(name);
    n.pausedFrom = this.now;
    n.pausedUntil = this.now + ms;
  }

  private paused(n: SimNode): boolean {
    return this.now < n.pausedUntil;
  }

  /** Graceful shutdown: one "leaving" heartbeat goes out, then the node stops. */
  leave(name: string): void {
    const n = this.node(name);
    n.tracker.leave();
    this.broadcast(n);
    n.up = false;
  }

  /** A stopped node's decisions stay what they were when it stopped (it cannot change anything). */
  private answers(n: SimNode, candidates: readonly string[]): boolean {
    const at = this.paused(n) ? n.pausedFrom : this.now;
    return shouldAnnounce({ candidates }, n.name, n.tracker.alive(at), n.tracker.fenced(at)).announce;
  }

  private broadcast(from: SimNode): void {
    const bytes = encodeHeartbeat(from.tracker.nextHeartbeat(this.now, 1_000_000 + this.now), KEY);
    for (const to of this.nodes) if (to !== from) this.inFlight.push({ to: to.name, at: this.now + LATENCY, bytes });
  }

  private deliver(): void {
    const ready = (m: InFlight): boolean => m.at <= this.now && !this.paused(this.node(m.to));
    const due = this.inFlight.filter(ready);
    this.inFlight = this.inFlight.filter((m) => !ready(m));
    for (const m of due) {
      const to = this.node(m.to);
      const decoded = decodeHeartbeat(m.bytes, KEY);
      if (!decoded.ok) throw new Error(decoded.reason);
      const from = this.node(decoded.hb.node);
      if (to.up && !to.isolated && !from.isolated) to.tracker.observe(decoded.hb, this.now);
    }
  }

  /** One millisecond: deliver, tick (heartbeat + apiserver probe on each interval), then return the owners of each entry. */
  step(entries: readonly (readonly string[])[]): string[][] {
    for (const n of this.nodes) {
      // Resumed: its first timer fires late, which the shell reports as a stall, before reading the socket.
      if (n.up && n.pausedUntil === this.now && n.pausedUntil > n.pausedFrom) n.tracker.noteStall(n.pausedFrom, this.now);
    }
    this.deliver();
    for (const n of this.nodes) {
      if (!n.up || this.paused(n) || this.now % INTERVAL !== n.phase) continue;
      // The probe: answered unless cut off (then it times out; recorded as the failure it is).
      if (!n.isolated) n.tracker.apiserverReachable(this.now);
      else n.tracker.apiserverUnreachable(this.now, this.now);
      this.broadcast(n);
    }
    // An isolated node's answers reach nobody: only reachable owners count (the shell also probes before a takeover).
    const owners = entries.map((candidates) => this.nodes.filter((n) => n.up && !n.isolated && this.answers(n, candidates)).map((n) => n.name));
    this.isolatedOwners = entries.map((candidates) => this.nodes.filter((n) => n.up && n.isolated && this.answers(n, candidates)).map((n) => n.name));
    this.now += 1;
    return owners;
  }
}

interface Timeline {
  /** Owner per ms per entry ("" = nobody, "a+b" = two owners). */
  readonly owners: string[][];
  /** Per ms, per entry: isolated nodes still claiming it. */
  readonly isolatedOwnersAt: string[][][];
}

function run(cluster: Cluster, entries: readonly (readonly string[])[], until: number, events: Record<number, (c: Cluster) => void>): Timeline {
  const owners: string[][] = entries.map(() => []);
  const isolatedOwnersAt: string[][][] = [];
  while (cluster.now < until) {
    events[cluster.now]?.(cluster);
    cluster.step(entries).forEach((o, i) => owners[i]?.push(o.join("+")));
    isolatedOwnersAt.push(cluster.isolatedOwners);
  }
  return { owners, isolatedOwnersAt };
}

/** Maximal runs of the same owner: [owner, fromMs, toMs). */
function segments(series: readonly string[]): Array<[string, number, number]> {
  const out: Array<[string, number, number]> = [];
  series.forEach((o, t) => {
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === o) last[2] = t + 1;
    else out.push([o, t, t + 1]);
  });
  return out;
}

describe("simulated cluster: failover timing and a single owner", () => {
  const IP1 = ["a", "b", "c"];
  const IP2 = ["b", "c", "a"];

  test("crash of the owner, restart, isolation and graceful leave", () => {
    const cluster = new Cluster(["a", "b", "c"]);
    const t = run(cluster, [IP1, IP2], 10_000, {
      2000: (c) => c.crash("a"),
      4000: (c) => c.restart("a"),
      6000: (c) => (c.node("a").isolated = true),
      7000: (c) => (c.node("a").isolated = false),
      9000: (c) => c.leave("b"),
    });
    const ip1 = segments(t.owners[0] ?? []);
    const ip2 = segments(t.owners[1] ?? []);
    // Never two owners of one IP at the same millisecond.
    for (const [owner] of [...ip1, ...ip2]) expect(owner).not.toContain("+");
    // Start-up: nobody claims before warm-up + hand-over; then the plan's first candidate.
    expect(ip1[0]?.[0]).toBe("");
    expect(ip1[1]?.[0]).toBe("a");
    expect(ip1[1]?.[1]).toBeLessThan(1000);

    const gap = (segs: Array<[string, number, number]>, from: number): { owner: string; gapMs: number } => {
      const next = segs.find(([o, start]) => start >= from && o !== "");
      const idle = segs.filter(([o, start, end]) => o === "" && end > from && start < (next?.[1] ?? Infinity));
      return { owner: next?.[0] ?? "", gapMs: idle.reduce((s, [, start, end]) => s + end - Math.max(start, from), 0) };
    };
    // a crashes: b takes IP1 in well under a second (≈ 660 ms of silence at most 100 ms after the crash).
    const crash = gap(ip1, 2000);
    expect(crash.owner).toBe("b");
    expect(crash.gapMs).toBeLessThanOrEqual(800);
    // a restarts: after its warm-up it takes IP1 back from b, with a short gap and no overlap.
    const back = ip1.find(([o, start]) => o === "a" && start >= 4000);
    expect(back?.[1]).toBeLessThan(4000 + 1000);
    expect(gap(ip1, 4000).gapMs).toBeLessThanOrEqual(200);
    // a is cut off (peers and apiserver): it withdraws before b takes over, and gets IP1 back when the network heals.
    const cut = gap(ip1, 6000);
    expect(cut.owner).toBe("b");
    expect(cut.gapMs).toBeLessThanOrEqual(800);
    const bTook = ip1.find(([o, start]) => o === "b" && start >= 6000)?.[1] ?? 0;
    expect(t.isolatedOwnersAt[bTook]?.[0]).toEqual([]);
    const healed = ip1.find(([o, start]) => o === "a" && start >= 7000);
    expect(healed?.[1]).toBeLessThan(7000 + 400);
    // b leaves gracefully: c takes IP2 almost at once.
    const leave = gap(ip2, 9000);
    expect(leave.owner).toBe("c");
    expect(leave.gapMs).toBeLessThanOrEqual(LATENCY + 1);
  });

  test("everyone crashes: nobody owns, and the last survivor keeps its IPs while the apiserver answers", () => {
    const cluster = new Cluster(["a", "b", "c"]);
    const t = run(cluster, [IP1], 3000, {
      1000: (c) => c.crash("a"),
      1100: (c) => c.crash("b"),
      2500: (c) => c.crash("c"),
    });
    const ip1 = segments(t.owners[0] ?? []);
    expect(ip1.map(([o]) => o)).toEqual(["", "a", "", "c", ""]); // b died before it could take over
    expect(ip1[ip1.length - 1]?.[1]).toBe(2500);
  });

  test("stalls (SIGSTOP 300 ms every second) of the owner and of its peers: no ownership change", () => {
    const cluster = new Cluster(["a", "b", "c"]);
    const events: Record<number, (c: Cluster) => void> = {};
    for (let at = 2000; at < 12_000; at += 1000) {
      events[at] = (c) => c.pause("a", 300);
      events[at + 450] = (c) => c.pause("b", 300);
      events[at + 700] = (c) => c.pause("c", 300);
    }
    const t = run(cluster, [IP1, IP2], 13_000, events);
    expect(segments((t.owners[0] ?? []).slice(1500)).map(([o]) => o)).toEqual(["a"]);
    expect(segments((t.owners[1] ?? []).slice(1500)).map(([o]) => o)).toEqual(["b"]);
  });

  test("a real crash during stalls of the survivors still fails over within a second", () => {
    const cluster = new Cluster(["a", "b", "c"]);
    const t = run(cluster, [IP1], 5000, {
      2000: (c) => c.crash("a"),
      2100: (c) => c.pause("b", 300),
    });
    const taken = segments(t.owners[0] ?? []).find(([o, start]) => o === "b" && start >= 2000);
    expect(taken?.[1]).toBeLessThan(2000 + 1000);
  });
});
