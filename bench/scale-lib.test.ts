import { describe, expect, test } from "@jest/globals";
import {
  apiserverBodyBytes,
  clientCounters,
  layer2Figures,
  componentWriteKeys,
  counterDelta,
  countAudit,
  cpuSecondsFromStat,
  medians,
  memoryFromStatus,
  parseAuditLine,
  parseScaleFlags,
  perMinute,
  type AuditRecord,
} from "./scale-lib.js";

describe("parseScaleFlags", () => {
  test.each<[string, string[], Record<string, unknown>]>([
    [
      "defaults (full)",
      [],
      {
        mode: "full",
        services: 10_000,
        nodes: 1_000,
        quietMinutes: 5,
        repeat: 1,
        timeoutSeconds: 3_600,
        concurrency: 32,
        idleSeconds: 20,
        cpuProfDir: undefined,
      },
    ],
    ["no-advertisements defaults", ["--mode", "no-advertisements"], { mode: "no-advertisements", services: 2_000, nodes: 0 }],
    ["sizes, both spellings", ["--services=2000", "--nodes", "100", "--quiet-minutes", "0.5"], { services: 2_000, nodes: 100, quietMinutes: 0.5 }],
    ["repeat and timeout", ["--repeat", "3", "--timeout=900"], { repeat: 3, timeoutSeconds: 900 }],
    ["quiet minutes may be 0", ["--quiet-minutes", "0"], { quietMinutes: 0 }],
    ["profiles", ["--cpu-prof", "/tmp/prof"], { cpuProfDir: "/tmp/prof" }],
  ])("%s", (_desc, argv, want) => {
    expect(parseScaleFlags(argv)).toMatchObject(want);
  });

  test.each<[string, string[], RegExp]>([
    ["unknown flag", ["--sevices", "5"], /unknown flag --sevices/],
    ["bad mode", ["--mode", "fast"], /--mode must be/],
    ["not an integer", ["--services", "1.5"], /--services must be an integer/],
    ["zero services", ["--services", "0"], /--services must be an integer >= 1/],
    ["missing value", ["--nodes"], /needs a value/],
    ["negative quiet", ["--quiet-minutes", "-1"], /--quiet-minutes must be a number >= 0/],
    ["full mode needs two nodes", ["--nodes", "1"], /needs --nodes >= 2/],
    ["positional", ["2000"], /unexpected argument/],
  ])("rejects: %s", (_desc, argv, want) => {
    const got = parseScaleFlags(argv);
    expect(typeof got).toBe("string");
    expect(got as string).toMatch(want);
  });

  test("no-advertisements mode runs without nodes", () => {
    expect(parseScaleFlags(["--mode", "no-advertisements", "--nodes", "0"])).toMatchObject({ nodes: 0 });
  });
});

const OP = "system:serviceaccount:metallb-system:metallb-ts-operator";
const SP = "system:serviceaccount:metallb-system:metallb-ts-speaker";

function auditLine(o: { stage: string; user: string; verb: string; resource?: string; subresource?: string; uri?: string; code?: number; at: string }): string {
  return JSON.stringify({
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: "x",
    stage: o.stage,
    requestURI: o.uri ?? "/api/v1/x",
    verb: o.verb,
    user: { username: o.user, groups: ["system:serviceaccounts"] },
    ...(o.resource === undefined
      ? {}
      : { objectRef: { resource: o.resource, namespace: "bench", name: "svc-1", ...(o.subresource === undefined ? {} : { subresource: o.subresource }) } }),
    ...(o.code === undefined ? {} : { responseStatus: { metadata: {}, code: o.code } }),
    requestReceivedTimestamp: o.at,
    stageTimestamp: o.at,
  });
}

describe("audit log", () => {
  test("parses resource, subresource, non-resource URIs and codes", () => {
    expect(
      parseAuditLine(
        auditLine({ stage: "RequestReceived", user: OP, verb: "patch", resource: "services", subresource: "status", at: "2026-01-01T00:00:01.500000Z" }),
      ),
    ).toEqual({
      stage: "RequestReceived",
      user: OP,
      verb: "patch",
      target: "services/status",
      code: undefined,
      at: Date.parse("2026-01-01T00:00:01.500Z"),
    });
    expect(
      parseAuditLine(auditLine({ stage: "ResponseComplete", user: SP, verb: "get", uri: "/readyz?verbose", code: 200, at: "2026-01-01T00:00:02Z" })),
    ).toMatchObject({ target: "/readyz", code: 200 });
  });

  test.each(["", "not json", "{}", JSON.stringify({ kind: "Event", verb: "get", stage: "RequestReceived" }), JSON.stringify({ kind: "Status" })])(
    "ignores %j",
    (line) => {
      expect(parseAuditLine(line)).toBeNull();
    },
  );

  const t = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const lines = [
    auditLine({ stage: "RequestReceived", user: OP, verb: "patch", resource: "services", subresource: "status", at: t(1) }),
    auditLine({ stage: "ResponseComplete", user: OP, verb: "patch", resource: "services", subresource: "status", code: 200, at: t(1) }),
    auditLine({ stage: "RequestReceived", user: OP, verb: "update", resource: "nodeconfigs", at: t(2) }),
    auditLine({ stage: "ResponseComplete", user: OP, verb: "update", resource: "nodeconfigs", code: 413, at: t(2) }),
    auditLine({ stage: "RequestReceived", user: OP, verb: "list", resource: "services", at: t(3) }),
    auditLine({ stage: "RequestReceived", user: SP, verb: "get", uri: "/readyz", at: t(3) }),
    auditLine({ stage: "RequestReceived", user: SP, verb: "update", resource: "nodeconfigs", subresource: "status", at: t(70) }),
    auditLine({ stage: "RequestReceived", user: "metallb-ts-admin", verb: "create", resource: "services", at: t(4) }),
  ];
  const records = lines.map(parseAuditLine).filter((r): r is AuditRecord => r !== null);
  const users = { operator: OP, speakers: SP };
  const base = Date.UTC(2026, 0, 1);

  test("counts requests and writes per component in a window; other users ignored", () => {
    const c = countAudit(records, users, base, base + 60_000);
    expect(c.operator).toEqual({
      requests: 3,
      writes: 2,
      byVerbTarget: { "patch services/status": 1, "update nodeconfigs": 1, "list services": 1 },
      failedWrites: { "413 update nodeconfigs": 1 },
    });
    expect(c.speakers).toEqual({ requests: 1, writes: 0, byVerbTarget: { "get /readyz": 1 }, failedWrites: {} });
  });

  test("the window is [from, to)", () => {
    const c = countAudit(records, users, base + 3_000, base + 70_000);
    expect(c.operator?.requests).toBe(1);
    expect(c.speakers?.requests).toBe(1);
    expect(countAudit(records, users, base + 70_000, base + 71_000).speakers?.writes).toBe(1);
  });

  test.each([
    [0, 0, 60_000, 0],
    [10, 0, 60_000, 10],
    [10, 0, 120_000, 5],
    [3, 0, 30_000, 6],
    [5, 1_000, 1_000, 0],
  ])("perMinute(%d, %d, %d) = %d", (count, from, to, want) => {
    expect(perMinute(count, from, to)).toBe(want);
  });
});

describe("/proc", () => {
  test("cpu seconds: utime + stime, the command may hold spaces and parentheses", () => {
    const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 12345 0 0 0 250 75 0 0 20 0 11 0 100 1000000 5000 18446744073709551615";
    expect(cpuSecondsFromStat(stat, 100)).toBeCloseTo(3.25);
    expect(() => cpuSecondsFromStat("garbage")).toThrow(/not a \/proc/);
  });

  test("VmRSS and VmHWM in MiB", () => {
    const status = "Name:\tnode\nVmPeak:\t 999999 kB\nVmHWM:\t  409600 kB\nVmRSS:\t  204800 kB\n";
    expect(memoryFromStatus(status)).toEqual({ rssMiB: 200, peakRssMiB: 400 });
    expect(() => memoryFromStatus("Name:\tnode\n")).toThrow(/VmRSS/);
  });
});

describe("Prometheus texts", () => {
  const text = [
    "# HELP metallb_ts_k8s_client_requests_total requests",
    "# TYPE metallb_ts_k8s_client_requests_total counter",
    'metallb_ts_k8s_client_requests_total{verb="get"} 10',
    'metallb_ts_k8s_client_requests_total{verb="patch"} 5',
    'metallb_ts_k8s_client_request_bytes_total{verb="patch"} 5000',
    'metallb_ts_k8s_client_response_bytes_total{verb="get"} 700',
    'metallb_ts_k8s_client_response_bytes_total{verb="patch"} 300',
    "metallb_ts_k8s_client_largest_request_bytes 4096",
  ].join("\n");

  test("client counters summed over verbs; null when not exported", () => {
    expect(clientCounters(text)).toEqual({ requests: 15, requestBytes: 5000, responseBytes: 1000, largestRequestBytes: 4096 });
    expect(clientCounters("process_cpu_seconds_total 3\n")).toBeNull();
  });

  test("a speaker's Layer 2 figures: ownership changes, heartbeats and fences by reason", () => {
    const text = [
      "# HELP metallb_ts_layer2_owned_ips x",
      "metallb_ts_layer2_owned_ips 2500",
      'metallb_ts_layer2_ownership_changes_total{reason="preference"} 12',
      'metallb_ts_layer2_ownership_changes_total{reason="ownerSilent"} 0',
      "metallb_ts_layer2_heartbeats_sent_total 14000",
      "metallb_ts_layer2_heartbeats_received_total 13990",
      'metallb_ts_layer2_heartbeats_dropped_total{reason="replay"} 3',
      "metallb_ts_layer2_heartbeat_peers 1",
      'metallb_ts_layer2_fence_changes_total{reason="none"} 1',
      "metallb_ts_layer2_stalls_total 40",
    ].join("\n");
    expect(layer2Figures(text)).toEqual({
      ownershipChanges: { ownerSilent: 0, preference: 12 },
      heartbeatsSent: 14000,
      heartbeatsReceived: 13990,
      heartbeatsDropped: { replay: 3 },
      heartbeatPeers: 1,
      fenceChanges: { none: 1 },
      stalls: 40,
      ownedIPs: 2500,
    });
    expect(layer2Figures("process_cpu_seconds_total 3\n")).toBeNull();
  });

  test("counter deltas", () => {
    const a = { requests: 10, requestBytes: 100, responseBytes: 50, largestRequestBytes: 40 };
    const b = { requests: 25, requestBytes: 400, responseBytes: 60, largestRequestBytes: 90 };
    expect(counterDelta(a, b)).toEqual({ requests: 15, requestBytes: 300, responseBytes: 10, largestRequestBytes: 90 });
    expect(counterDelta(null, b)).toBeNull();
  });

  test("apiserver request body bytes between scrapes, only the components' resource/verb keys", () => {
    const before = [
      'apiserver_request_body_size_bytes_sum{resource="services",verb="create"} 100',
      'apiserver_request_body_size_bytes_sum{resource="services",verb="patch"} 10',
    ].join("\n");
    const after = [
      'apiserver_request_body_size_bytes_sum{resource="services",verb="create"} 900',
      'apiserver_request_body_size_bytes_sum{resource="services",verb="patch"} 510',
      'apiserver_request_body_size_bytes_sum{resource="nodeconfigs.metallb-ts.dev",verb="update"} 2000',
      'apiserver_request_body_size_bytes_count{resource="nodeconfigs.metallb-ts.dev",verb="update"} 2',
    ].join("\n");
    expect(apiserverBodyBytes(before, after, new Set(["services/patch", "nodeconfigs.metallb-ts.dev/update", "leases/update"]))).toEqual({
      total: 2500,
      byResourceVerb: { "services/patch": 500, "nodeconfigs.metallb-ts.dev/update": 2000 },
    });
    expect(apiserverBodyBytes(before, "", new Set())).toBeNull();
  });
});

test("component write keys from audit counts: resource/verb, subresources folded, reads and non-resource URIs left out", () => {
  const counts = {
    requests: 0,
    writes: 0,
    failedWrites: {},
    byVerbTarget: { "patch services/status": 2, "patch services": 1, "create events": 1, "get /readyz": 9, "list nodes": 1 },
  };
  expect([...componentWriteKeys([counts])].sort()).toEqual(["events/create", "services/patch"]);
});

test("medians over runs, per key, ignoring non-numbers", () => {
  expect(medians([{ a: 3, b: null }, { a: 1, b: 4 }, { a: 2 }], ["a", "b", "c"])).toEqual({ a: 2, b: 4, c: null });
  expect(medians([{ a: 1 }, { a: 4 }], ["a"])).toEqual({ a: 2.5 });
});
