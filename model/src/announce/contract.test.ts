// The published contract carries everything the planners decide: for every FRR golden case, a node that joins what it
// reads back (NodeConfig spec + shard entries, through JSON) plans exactly what planBgpAnnouncements plans; and the
// Layer 2 join over decoded halves equals planL2Announcements, also when restricted to the nodes a speaker sees alive.
import { describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { caseInputs, type GoldenCase } from "../../../frr-templates/testdata/run-case.js";
import { joinBgp, planBgpAnnouncements, type BgpServiceView, type NodeView } from "../bgp/plan.js";
import type { Peer } from "../config/types.js";
import { anL2Advertisement, aPool, validConfig } from "../config/testdata/builders.js";
import { joinL2, planL2Announcements } from "../layer2/plan.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";
import {
  PASSWORD_INJECTED_BY_SPEAKER,
  decodeNodeConfigSpec,
  decodeServiceEntry,
  encodeNodeConfigSpec,
  encodeServiceEntry,
  shardName,
  shardOf,
} from "./contract.js";
import { isAnnounced, planNodeAnnouncement, planServiceAnnouncement, type NodeAnnouncement, type ServiceAnnouncement } from "./plan.js";

const CASES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "frr-templates", "testdata", "cases");
const throughJson = <T>(v: T): unknown => JSON.parse(JSON.stringify(v)) as unknown;

function readNode(n: NodeAnnouncement): NodeAnnouncement {
  const d = decodeNodeConfigSpec(throughJson(encodeNodeConfigSpec(n)));
  if (!d.ok) throw new Error(d.error);
  return d.value.node;
}

function readService(s: ServiceAnnouncement): ServiceAnnouncement {
  const d = decodeServiceEntry(s.key, throughJson(encodeServiceEntry(s)));
  if (!d.ok) throw new Error(d.error);
  return d.value;
}

describe("BGP through the published contract", () => {
  const names = readdirSync(CASES).filter((f) => f.endsWith(".json"));
  test("there are golden cases to compare", () => expect(names.length).toBeGreaterThanOrEqual(30));
  test.each(names)("%s: join(decoded halves) = planBgpAnnouncements", (file) => {
    const c = JSON.parse(readFileSync(join(CASES, file), "utf8")) as GoldenCase;
    const { config, services, nodes } = caseInputs(c);
    const direct = planBgpAnnouncements(config, services, nodes, c.node);
    const node = nodes.find((n) => n.name === c.node) ?? { name: c.node, labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false };
    const half = readNode(
      planNodeAnnouncement(
        config,
        node,
        config.nodes.find((n) => n.name === c.node),
      ),
    );
    // Only Services some advertisement selects are published; the others are not announced anywhere.
    const published = services
      .map((s) => planServiceAnnouncement(config, s))
      .filter(isAnnounced)
      .map(readService);
    const joined = joinBgp(half, published);
    // Selectors stay with the operator; a password is only a reference (the speaker injects it).
    const comparable = (p: Peer): Peer => ({ ...p, nodeSelectors: [], nodes: [], password: p.password === "" ? "" : PASSWORD_INJECTED_BY_SPEAKER });
    expect(joined.sessions).toEqual(direct.sessions.map(comparable));
    expect(joined.announcements).toEqual(direct.announcements);
    expect(joined.services.filter((s) => s.announced)).toEqual(direct.services.filter((s) => s.announced));
  });
});

describe("Layer 2 through the published contract", () => {
  const config = validConfig({
    pools: [aPool("lan", ["192.0.2.0/24"])],
    l2Advertisements: [
      anL2Advertisement("east", { ipAddressPools: ["lan"], nodeSelectors: [{ matchLabels: { zone: "east" } }], interfaces: ["eth1"] }),
      anL2Advertisement("all", {
        ipAddressPools: ["lan"],
        nodeSelectors: [],
        preferredNodeSelectors: [{ weight: 10, preference: { matchLabels: { fast: "yes" } } }],
      }),
    ],
  });
  const nodes: NodeView[] = ["n1", "n2", "n3", "n4", "n5"].map((name, i) => ({
    name,
    labels: { zone: i % 2 === 0 ? "east" : "west", ...(i === 3 ? { fast: "yes" } : {}) },
    networkUnavailable: name === "n5",
    excludedFromLoadBalancers: false,
  }));
  const svc = (key: string, ipText: string, extra: Partial<BgpServiceView> = {}): BgpServiceView => ({
    key,
    ips: [ip(ipText)],
    pool: "lan",
    labels: {},
    sharingKey: "",
    externalTrafficPolicy: "Cluster",
    nodesWithServingEndpoints: ["n1"],
    ...extra,
  });
  const services = [
    svc("a/one", "192.0.2.1"),
    svc("a/two", "192.0.2.2", { externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["n2", "n3"] }),
    svc("a/shared1", "192.0.2.3", { sharingKey: "k", externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["n1", "n2"] }),
    svc("a/shared2", "192.0.2.3", { sharingKey: "k", externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["n2"] }),
    svc("a/none", "192.0.2.4", { nodesWithServingEndpoints: [] }),
  ];
  const halves = nodes.map((n) => readNode(planNodeAnnouncement(config, n, undefined)));
  const entries = services.map((s) => readService(planServiceAnnouncement(config, s)));

  test("join(decoded halves) = planL2Announcements", () => {
    const direct = planL2Announcements(config, services, nodes);
    expect(direct.ips.length).toBe(3);
    expect(joinL2(entries, halves)).toEqual(direct);
  });

  test("restricted to some nodes: the same order without the others, and the full candidate count", () => {
    const direct = planL2Announcements(config, services, nodes);
    const only = new Set(["n2", "n4"]);
    const restricted = joinL2(entries, halves, only);
    for (const [i, full] of direct.ips.entries()) {
      const r = restricted.ips[i];
      expect(r?.candidates.map((c) => c.node)).toEqual(full.candidates.map((c) => c.node).filter((n) => only.has(n)));
      expect(r?.candidates).toEqual(full.candidates.filter((c) => only.has(c.node)));
      expect(r?.candidateCount).toBe(full.candidates.length);
    }
  });
});

describe("shards", () => {
  test("a key always lands in the same shard, and keys spread over the shards", () => {
    expect(shardOf("default/web", 128)).toBe(shardOf("default/web", 128));
    const used = new Set(Array.from({ length: 2000 }, (_, i) => shardOf(`ns${i % 7}/svc-${i}`, 128)));
    expect(used.size).toBeGreaterThan(120);
    expect(shardName(7)).toBe("shard-007");
  });

  test("untrusted entries are refused with the field named", () => {
    const bad = decodeServiceEntry("a/b", { ips: ["not-an-ip"] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toContain("services[a/b].ips");
    expect(decodeNodeConfigSpec({ bgp: {} }).ok).toBe(false);
  });
});

describe("sizes at 10,000 Services", () => {
  test("no shard exceeds 256 KiB, and one Service's change is a patch of well under 1 KiB", () => {
    const shards = 64;
    const bodies = Array.from({ length: shards }, (): Record<string, unknown> => ({}));
    let largestEntry = 0;
    for (let i = 0; i < 10_000; i++) {
      const local = i % 10 === 0 ? ["worker-0001", "worker-0417", "worker-0999"] : null;
      const s: ServiceAnnouncement = {
        key: `team-${i % 97}/frontend-service-${i}`,
        ips: [ip(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), ip(`2001:db8::${i.toString(16)}`)],
        sharingKey: i % 50 === 0 ? `shared-${i}` : "",
        localNodes: local,
        hasEndpoints: true,
        bgp: ["bgp-all-nodes", "bgp-communities"],
        l2: ["l2-lan"],
        l2Skip: null,
      };
      const entry = encodeServiceEntry(s);
      const body = bodies[shardOf(s.key, shards)];
      if (body !== undefined) body[s.key] = entry;
      largestEntry = Math.max(largestEntry, JSON.stringify({ spec: { count: 1, services: { [s.key]: entry } } }).length);
    }
    const sizes = bodies.map(
      (services, shard) =>
        JSON.stringify({
          apiVersion: "metallb-ts.dev/v1alpha1",
          kind: "AnnouncementShard",
          metadata: { name: shardName(shard), namespace: "metallb-system" },
          spec: { shard, count: Object.keys(services).length, services },
        }).length,
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
    expect(largestEntry).toBeLessThan(1024);
  });
});

describe("draining (cordon) in NodeConfig.spec", () => {
  const config = validConfig({ pools: [aPool("p", ["198.51.100.0/24"])] });
  const half = (draining?: boolean): NodeAnnouncement =>
    planNodeAnnouncement(
      config,
      { name: "n1", labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false, ...(draining === undefined ? {} : { draining }) },
      undefined,
    );
  test.each<[desc: string, draining: boolean | undefined, published: boolean | undefined]>([
    ["cordoned: published as draining: true and read back", true, true],
    ["not cordoned: left out (NodeConfigs published before the field stay byte-equal)", false, undefined],
    ["unknown: as not cordoned", undefined, undefined],
  ])("%s", (_desc, draining, published) => {
    const spec = encodeNodeConfigSpec(half(draining));
    expect(spec.draining).toBe(published);
    expect(readNode(half(draining)).draining).toBe(draining === true);
  });
});

describe("notReady (Node Ready condition False/Unknown) in NodeConfig.spec", () => {
  const config = validConfig({ pools: [aPool("p", ["198.51.100.0/24"])] });
  const half = (notReady?: boolean): NodeAnnouncement =>
    planNodeAnnouncement(
      config,
      { name: "n1", labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false, ...(notReady === undefined ? {} : { notReady }) },
      undefined,
    );
  test.each<[desc: string, notReady: boolean | undefined, published: boolean | undefined]>([
    ["not ready: published as notReady: true and read back", true, true],
    ["ready: left out (NodeConfigs published before the field stay byte-equal, no rewrite on upgrade)", false, undefined],
    ["unknown: as ready", undefined, undefined],
  ])("%s", (_desc, notReady, published) => {
    const spec = encodeNodeConfigSpec(half(notReady));
    expect(spec.notReady).toBe(published);
    expect(readNode(half(notReady)).notReady).toBe(notReady === true);
  });
});
