/**
 * Layer 2 join benchmark (pure, no root; not a test): the full `joinL2` (model/src/layer2/plan.ts) against the
 * incremental join a speaker now runs in `L2Speaker.replan()` (model/src/layer2/join.ts, `update` + `entries`), at
 * 10,000 IPs × {2, 100, 1,000} speakers, for: (a) one Service added, (b) one speaker joining, (c) one node's label
 * change (a preferredNodeSelector now matches a node running a speaker: its weight moves it first), (d) the initial
 * build.
 *
 * From the repository root: `npm run bench:l2-join` (tsconfig.bench.json, then node --expose-gc with an 8 GiB heap:
 * the full join's plan holds every candidate of every IP, 10 M at 1,000 speakers). Flags: `--ips N`, `--speakers
 * 2,100,1000`, `--nodes N` (NodeConfigs, default 1,010: the speakers run on the first nodes, like bench:scale's 1,000
 * Node objects with 2 speakers), `--repeats N` (3), `--full-repeats N` (full joins per scenario, default = repeats; the
 * full join costs the same whatever changed, ~a minute per call at 1,000 speakers). Ends with one line
 * `L2_JOIN_RESULT {json}`.
 *
 * Each figure: wall ms, CPU-s of the process (user + system, all threads: GC included), and the heap retained by the
 * call (heapUsed after − before, each after a full GC: the plan for the full join, the growth of the join's state for
 * the incremental one).
 */
import type { NodeAnnouncement, ServiceAnnouncement } from "../model/src/announce/plan.js";
import { IncrementalL2Join } from "../model/src/layer2/join.js";
import { joinL2 } from "../model/src/layer2/plan.js";
import { mustParseIP } from "../model/src/net/testdata/ip.js";

interface Flags {
  ips: number;
  speakers: number[];
  nodes: number;
  repeats: number;
  fullRepeats: number;
}

function parseFlags(argv: readonly string[]): Flags {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const int = (name: string, dflt: number): number => {
    const v = value(name);
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name}: not a count: ${v}`);
    return n;
  };
  const repeats = int("repeats", 3);
  return {
    ips: int("ips", 10_000),
    speakers: (value("speakers") ?? "2,100,1000").split(",").map(Number),
    nodes: int("nodes", 1_010),
    repeats,
    fullRepeats: int("full-repeats", repeats),
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapUsed = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

interface Sample {
  readonly ms: number;
  readonly cpuS: number;
  readonly heapBytes: number;
}

/** Runs body once, measured; its result is held until the heap is read, so the heap figure is what it retains. */
function measure<T>(body: () => T): { sample: Sample; value: T } {
  const heapBefore = heapUsed();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = body();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const heapBytes = heapUsed() - heapBefore;
  return { sample: { ms, cpuS: (used.user + used.system) / 1e6, heapBytes }, value };
}

const nodeName = (i: number): string => `node-${String(i).padStart(4, "0")}`;

function aNode(i: number, weight = 0): NodeAnnouncement {
  return {
    node: nodeName(i),
    address: `10.${(i >> 8) & 255}.${i & 255}.1`,
    networkUnavailable: false,
    excludedFromLoadBalancers: false,
    draining: false,
    notReady: false,
    sessions: [],
    bfdProfiles: [],
    bgpAdvertisements: [],
    l2Advertisements: [{ name: "lan", weight, interfaces: [] }],
  };
}

function aService(i: number): ServiceAnnouncement {
  return {
    key: `bench/svc-${String(i).padStart(5, "0")}`,
    ips: [mustParseIP(`10.${100 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`)],
    sharingKey: "",
    localNodes: null,
    hasEndpoints: true,
    bgp: [],
    l2: ["lan"],
    l2Skip: null,
  };
}

type Scenario = "initial build" | "one Service added" | "one speaker joining" | "one node's label change";
const SCENARIOS: readonly Scenario[] = ["initial build", "one Service added", "one speaker joining", "one node's label change"];

/** The inputs before and after repeat r of a scenario (each repeat changes something new). */
interface World {
  services: ServiceAnnouncement[];
  nodes: NodeAnnouncement[];
  only: Set<string>;
}

function baseWorld(f: Flags, speakers: number): World {
  return {
    services: Array.from({ length: f.ips }, (_, i) => aService(i)),
    nodes: Array.from({ length: f.nodes }, (_, i) => aNode(i)),
    only: new Set(Array.from({ length: speakers }, (_, i) => nodeName(i))),
  };
}

/** Applies repeat r of a scenario to the world (the initial build changes nothing: the join starts empty). */
function change(w: World, scenario: Scenario, r: number, speakers: number): void {
  if (scenario === "one Service added") w.services = [...w.services, aService(w.services.length)];
  else if (scenario === "one speaker joining") w.only = new Set([...w.only, nodeName(speakers + r)]);
  else if (scenario === "one node's label change") w.nodes = w.nodes.map((n, i) => (i === r % speakers ? aNode(i, 10 + r) : n));
}

interface Row {
  speakers: number;
  scenario: Scenario;
  join: "full joinL2" | "incremental";
  samples: Sample[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function runFull(f: Flags, speakers: number, scenario: Scenario): Row {
  const w = baseWorld(f, speakers);
  const samples: Sample[] = [];
  for (let r = 0; r < f.fullRepeats; r++) {
    change(w, scenario, r, speakers);
    samples.push(measure(() => joinL2(w.services, w.nodes, w.only)).sample);
  }
  return { speakers, scenario, join: "full joinL2", samples };
}

function runIncremental(f: Flags, speakers: number, scenario: Scenario): Row {
  const samples: Sample[] = [];
  if (scenario === "initial build") {
    for (let r = 0; r < f.repeats; r++) {
      const w = baseWorld(f, speakers);
      const join = new IncrementalL2Join({ self: nodeName(0) });
      const { sample, value } = measure(() => {
        join.update(w.services, w.nodes, w.only);
        return join.entries();
      });
      samples.push(sample);
      void value;
    }
    return { speakers, scenario, join: "incremental", samples };
  }
  const w = baseWorld(f, speakers);
  const join = new IncrementalL2Join({ self: nodeName(0) });
  join.update(w.services, w.nodes, w.only);
  join.entries();
  for (let r = 0; r < f.repeats; r++) {
    change(w, scenario, r, speakers);
    const { sample } = measure(() => {
      join.update(w.services, w.nodes, w.only);
      return join.entries();
    });
    samples.push(sample);
  }
  return { speakers, scenario, join: "incremental", samples };
}

/** The incremental join's result equals joinL2's after the scenario's changes (checked once per size, cheaply sized). */
function check(f: Flags, speakers: number): void {
  const small: Flags = { ...f, ips: Math.min(f.ips, 500) };
  const w = baseWorld(small, speakers);
  const join = new IncrementalL2Join({ self: nodeName(0) });
  join.update(w.services, w.nodes, w.only);
  for (const scenario of SCENARIOS) change(w, scenario, 0, speakers);
  join.update(w.services, w.nodes, w.only);
  const want = joinL2(w.services, w.nodes, w.only);
  const same =
    JSON.stringify(join.entries(), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ===
    JSON.stringify(want.byNode.get(nodeName(0)) ?? [], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  if (!same) throw new Error(`benchmark: the incremental join differs from joinL2 at ${speakers} speakers`);
}

const fmt = (n: number, digits: number): string => n.toFixed(digits);

function main(): void {
  const f = parseFlags(process.argv.slice(2));
  if (f.speakers.some((s) => !Number.isSafeInteger(s) || s < 1 || s + f.repeats > f.nodes))
    throw new Error("--speakers: each must be ≥ 1 and leave --repeats nodes without a speaker");
  console.log(
    `node ${process.version}, ${f.ips} IPs (one ETP=Cluster Service each), ${f.nodes} NodeConfigs, one L2Advertisement selecting all; ` +
      `${gc === undefined ? "no --expose-gc (heap figures include garbage)" : "heap after full GC"}; repeats ${f.repeats} (full ${f.fullRepeats})`,
  );
  const rows: Row[] = [];
  for (const speakers of f.speakers) {
    check(f, speakers);
    for (const scenario of SCENARIOS) {
      const added = [...(f.fullRepeats > 0 ? [runFull(f, speakers, scenario)] : []), runIncremental(f, speakers, scenario)];
      rows.push(...added);
      for (const row of added) {
        const ms = row.samples.map((s) => fmt(s.ms, 1)).join(" / ");
        const cpu = row.samples.map((s) => fmt(s.cpuS, 2)).join(" / ");
        const heap = row.samples.map((s) => fmt(s.heapBytes / 2 ** 20, 1)).join(" / ");
        console.log(
          `${String(row.speakers).padStart(5)} speakers  ${row.scenario.padEnd(24)} ${row.join.padEnd(12)}  ms ${ms}   CPU-s ${cpu}   heap MiB ${heap}`,
        );
      }
    }
  }
  const summary = rows.map((r) => ({
    speakers: r.speakers,
    scenario: r.scenario,
    join: r.join,
    ms: r.samples.map((s) => Math.round(s.ms * 10) / 10),
    cpuS: r.samples.map((s) => Math.round(s.cpuS * 100) / 100),
    heapBytes: r.samples.map((s) => s.heapBytes),
    medianMs: Math.round(median(r.samples.map((s) => s.ms)) * 10) / 10,
  }));
  console.log(`L2_JOIN_RESULT ${JSON.stringify({ ips: f.ips, nodes: f.nodes, rows: summary })}`);
}

main();
