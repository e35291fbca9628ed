/**
 * Allocator benchmark (not a test). From the repository root: `npm run bench:allocator` (tsconfig.bench.json, then
 * `node --expose-gc dist/bench/allocator.bench.js`). --expose-gc is optional; with it the heap figures are taken
 * after a full collection.
 */
import { Allocator, type ServiceView } from "../model/src/allocator/index.js";
import { aPool } from "../model/src/allocator/testdata/fixtures.js";
import type { IPFamily } from "../model/src/net/ip.js";

function services(prefix: string, count: number, family: IPFamily): ServiceView[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `bench/${prefix}-${i}`,
    namespace: "bench",
    labels: {},
    families: [family],
    ipFamilyPolicy: "SingleStack" as const,
    ports: [{ protocol: "TCP" as const, port: 80 }],
    sharingKey: "",
    backendKey: "",
  }));
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

interface Row {
  readonly name: string;
  readonly ops: number;
  readonly ms: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
}
const rows: Row[] = [];

function measure(name: string, ops: number, body: () => void): void {
  const heapBefore = heapMiB();
  const start = performance.now();
  body();
  const ms = performance.now() - start;
  rows.push({ name, ops, ms, heapBefore, heapAfter: heapMiB() });
}

function mustOk(r: { ok: boolean }, what: string): void {
  if (!r.ok) throw new Error(`benchmark: ${what} failed: ${JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
}

/** Deterministic permutation-ish index sequence (no Math.random, so runs are comparable). */
function* lcg(n: number, count: number): Generator<number> {
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    yield x % n;
  }
}

// --- IPv4 /16: 65,536 allocations, exhaustion, churn, counters, reload, restart ---------------------------------
const v4pools = [aPool("v4", ["10.0.0.0/16"])];
const v4svcs = services("v4", 65_536, "IPv4");
const v4 = new Allocator();
v4.setPools(v4pools);
measure("allocate 65,536 in a /16", v4svcs.length, () => {
  for (const s of v4svcs) mustOk(v4.allocate(s), s.key);
});
if (v4.allocate(services("extra", 1, "IPv4")[0] as ServiceView).ok) throw new Error("benchmark: /16 should be exhausted");

const churnOps = 20_000;
const fresh = services("churn", churnOps, "IPv4");
measure("churn on the full /16 (release 1 + allocate 1)", churnOps * 2, () => {
  let i = 0;
  const live = [...v4svcs];
  for (const victim of lcg(live.length, churnOps)) {
    const old = live[victim] as ServiceView;
    v4.unassign(old.key);
    const next = fresh[i++] as ServiceView;
    mustOk(v4.allocate(next), next.key);
    live[victim] = next;
  }
});
measure("counters() x 1,000", 1_000, () => {
  for (let i = 0; i < 1_000; i++) v4.counters();
});
measure("setPools (same /16, 65,536 allocations re-homed)", 1, () => {
  const r = v4.setPools([aPool("v4", ["10.0.0.0/16"])]);
  if (r.invalidated.length !== 0) throw new Error("benchmark: nothing should be invalidated");
});
const snapshot = v4.allocations();
const restarted = new Allocator();
restarted.setPools(v4pools);
const byKey = new Map([...v4svcs, ...fresh].map((s) => [s.key, s]));
measure("restart: re-register 65,536 ingress IPs with assign()", snapshot.length, () => {
  for (const a of snapshot) mustOk(restarted.assign(byKey.get(a.key) as ServiceView, a.ips), a.key);
});

// --- avoidBuggyIPs /16 ---------------------------------------------------------------------------------------------
const buggy = new Allocator();
buggy.setPools([aPool("buggy", ["10.1.0.0/16"], { avoidBuggyIPs: true })]);
const buggySvcs = services("buggy", 65_024, "IPv4");
measure("allocate 65,024 in an avoidBuggyIPs /16", buggySvcs.length, () => {
  for (const s of buggySvcs) mustOk(buggy.allocate(s), s.key);
});

// --- IPv6 /64: 50,000 allocations and churn ----------------------------------------------------------------------
const v6 = new Allocator();
v6.setPools([aPool("v6", ["fd00:1::/64"])]);
const v6svcs = services("v6", 50_000, "IPv6");
measure("allocate 50,000 in an IPv6 /64", v6svcs.length, () => {
  for (const s of v6svcs) mustOk(v6.allocate(s), s.key);
});
const v6fresh = services("v6churn", churnOps, "IPv6");
measure("churn on the /64 (release 1 + allocate 1)", churnOps * 2, () => {
  let i = 0;
  const live = [...v6svcs];
  for (const victim of lcg(live.length, churnOps)) {
    v6.unassign((live[victim] as ServiceView).key);
    const next = v6fresh[i++] as ServiceView;
    mustOk(v6.allocate(next), next.key);
    live[victim] = next;
  }
});

// --- report -----------------------------------------------------------------------------------------------------
const pad = (s: string, n: number): string => s.padEnd(n);
console.log(`node ${process.version}, ${gc === undefined ? "no --expose-gc (heap figures include garbage)" : "heap after gc"}`);
console.log(`${pad("scenario", 52)} ${"ops".padStart(7)} ${"ms".padStart(9)} ${"ops/s".padStart(11)} ${"heap MiB before → after".padStart(24)}`);
for (const r of rows) {
  const opsPerSec = Math.round((r.ops / r.ms) * 1000).toLocaleString("en-US");
  console.log(
    `${pad(r.name, 52)} ${String(r.ops).padStart(7)} ${r.ms.toFixed(1).padStart(9)} ${opsPerSec.padStart(11)} ${`${r.heapBefore.toFixed(1)} → ${r.heapAfter.toFixed(1)}`.padStart(24)}`,
  );
}
const c = v4.counters()[0];
console.log(`v4 counters: ${c?.ipv4InUse.toString()}/${c?.ipv4Total.toString()} in use; v6: ${v6.counters()[0]?.ipv6InUse.toString()} in use`);
