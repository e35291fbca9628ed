import { describe, expect, test } from "@jest/globals";
import { aBGPAdvertisement, aNamespace, aNode, aPeer, aPool, anL2Advertisement, clusterResources, deepFreeze } from "../config/testdata/builders.js";
import type { ClusterResources } from "../config/types.js";
import { explainService, type ServiceExplanation } from "./explain.js";
import { formatExplanation } from "./format.js";
import { explainInputFromObjects } from "./inputs.js";
import type { PoolReason } from "./pools.js";
import type { NotAnnouncedReason } from "./verdict.js";

type Obj = Record<string, unknown>;

interface SvcOpts {
  ns?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  type?: string;
  etp?: "Cluster" | "Local";
  ports?: number[];
  families?: string[];
  ingress?: string[];
  selector?: Record<string, string>;
}

function aService(name: string, o: SvcOpts = {}): Obj {
  const v6 = o.families?.[0] === "IPv6";
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: o.ns ?? "default", labels: o.labels ?? {}, annotations: o.annotations ?? {} },
    spec: {
      type: o.type ?? "LoadBalancer",
      clusterIPs: [v6 ? "fd00::10" : "10.96.0.10"],
      ipFamilies: o.families ?? ["IPv4"],
      ports: (o.ports ?? [80]).map((port) => ({ protocol: "TCP", port })),
      externalTrafficPolicy: o.etp ?? "Cluster",
      selector: o.selector ?? { app: name },
    },
    status: { loadBalancer: { ingress: (o.ingress ?? []).map((ip) => ({ ip })) } },
  };
}

function aSlice(service: string, nodes: Record<string, boolean>, ns = "default"): Obj {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${service}-x`, namespace: ns, labels: { "kubernetes.io/service-name": service } },
    endpoints: Object.entries(nodes).map(([nodeName, ready], i) => ({ addresses: [`10.244.0.${i + 1}`], nodeName, conditions: { ready } })),
  };
}

const excluded = (name: string): Obj => aNode(name, { "node.kubernetes.io/exclude-from-external-load-balancers": "" });
const unavailable = (name: string): Obj => ({ ...aNode(name), status: { conditions: [{ type: "NetworkUnavailable", status: "True" }] } });

interface Case {
  desc: string;
  resources: Partial<ClusterResources>;
  services: Obj[];
  slices?: Obj[];
  target?: string;
  state: ServiceExplanation["state"];
  reason?: NotAnnouncedReason;
  pools?: Record<string, PoolReason>;
  conflictsWith?: string[];
  fix?: RegExp;
  summary?: RegExp;
  l2?: Record<string, string>;
  bgp?: Record<string, string>;
  /** BGPPeer → the nodes it selects. */
  peers?: Record<string, string[]>;
}

const NODES = [aNode("n1"), aNode("n2")];
const L2 = anL2Advertisement("l2");

function explain(c: Pick<Case, "resources" | "services" | "slices" | "target">): ServiceExplanation {
  const input = explainInputFromObjects(
    deepFreeze({ resources: clusterResources({ nodes: NODES, ...c.resources }), services: c.services, endpointSlices: c.slices ?? [] }),
    { assumeServedEverywhere: c.slices === undefined },
  );
  if (!input.ok) throw new Error(input.error.join("\n"));
  const r = explainService(input.value, c.target ?? "default/web");
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const refusals: Case[] = [
  {
    desc: "autoAssign false refuses a Service that does not name the pool",
    resources: { pools: [aPool("manual", ["10.0.0.0/30"], { autoAssign: false })], l2Advertisements: [L2] },
    services: [aService("web")],
    state: "pending",
    pools: { manual: "autoAssignDisabled" },
    fix: /no pool admits the Service \(pool "manual": autoAssign is false/,
  },
  {
    desc: "serviceAllocation namespaces refuse another namespace",
    resources: { pools: [aPool("team", ["10.0.0.0/30"], { serviceAllocation: { namespaces: ["team-a"] } })], namespaces: [aNamespace("team-a")] },
    services: [aService("web")],
    state: "pending",
    pools: { team: "namespaceNotSelected" },
    fix: /not namespace "default"/,
  },
  {
    desc: "serviceAllocation serviceSelectors refuse other labels",
    resources: { pools: [aPool("web-only", ["10.0.0.0/30"], { serviceAllocation: { serviceSelectors: [{ matchLabels: { tier: "web" } }] } })] },
    services: [aService("web", { labels: { tier: "db" } })],
    state: "pending",
    pools: { "web-only": "serviceNotSelected" },
  },
  {
    desc: "a pool of higher priority is taken first; the other was not needed",
    resources: {
      pools: [
        aPool("p2", ["10.0.2.0/30"], { serviceAllocation: { priority: 2, namespaces: ["default"] } }),
        aPool("p1", ["10.0.1.0/30"], { serviceAllocation: { priority: 1, namespaces: ["default"] } }),
      ],
      l2Advertisements: [L2],
    },
    services: [aService("web")],
    state: "announced",
    pools: { p1: "taken", p2: "notNeeded" },
    summary: /10\.0\.1\.0/,
  },
  {
    desc: "an IPv6 Service refuses an IPv4-only pool",
    resources: { pools: [aPool("v4", ["10.0.0.0/30"])] },
    services: [aService("web", { families: ["IPv6"] })],
    state: "pending",
    pools: { v4: "noAddressOfFamily" },
  },
  {
    desc: "an exhausted pool",
    resources: { pools: [aPool("one", ["10.0.0.1/32"])], l2Advertisements: [L2] },
    services: [aService("web"), aService("old", { ingress: ["10.0.0.1"] })],
    state: "pending",
    pools: { one: "exhausted" },
    fix: /pool "one" has no free address/,
  },
  {
    desc: "a requested IP held by a Service that does not share",
    resources: { pools: [aPool("p", ["10.0.0.0/30"])] },
    services: [aService("web", { annotations: { "metallb.io/loadBalancerIPs": "10.0.0.1" } }), aService("old", { ingress: ["10.0.0.1"] })],
    state: "pending",
    pools: { p: "sharingConflict" },
    conflictsWith: ["default/old"],
    fix: /already in use by default\/old/,
  },
  {
    desc: "the only IP shared under the key has the same port",
    resources: { pools: [aPool("one", ["10.0.0.1/32"])] },
    services: [
      aService("web", { annotations: { "metallb.io/allow-shared-ip": "k" } }),
      aService("old", { ingress: ["10.0.0.1"], annotations: { "metallb.io/allow-shared-ip": "k" } }),
    ],
    state: "pending",
    pools: { one: "sharingConflict" },
    conflictsWith: ["default/old"],
    fix: /port TCP\/80 is already in use.*held by default\/old/,
  },
  {
    desc: "a requested IP outside every pool",
    resources: { pools: [aPool("a", ["10.0.0.0/30"]), aPool("b", ["10.0.1.0/30"])] },
    services: [aService("web", { annotations: { "metallb.io/loadBalancerIPs": "192.0.2.7" } })],
    state: "pending",
    pools: { a: "requestedIPNotInPool", b: "requestedIPNotInPool" },
    fix: /192\.0\.2\.7 is outside every IPAddressPool/,
  },
  {
    desc: "the Service names another pool",
    resources: { pools: [aPool("a", ["10.0.0.0/30"]), aPool("b", ["10.0.1.0/30"], { autoAssign: false })], l2Advertisements: [L2] },
    services: [aService("web", { annotations: { "metallb.io/address-pool": "b" } })],
    state: "announced",
    pools: { a: "otherPoolRequested", b: "taken" },
  },
  {
    desc: "a Service without ClusterIPs: the Service is the problem, not the pools",
    resources: { pools: [aPool("a", ["10.0.0.0/30"])] },
    services: [{ ...aService("web"), spec: { type: "LoadBalancer", ports: [{ port: 80 }] } }],
    state: "pending",
    fix: /has no ClusterIP/,
    summary: /pending: service has no ClusterIPs/,
  },
  {
    desc: "an invalid requested IP: the annotation is the problem",
    resources: { pools: [aPool("a", ["10.0.0.0/30"])] },
    services: [aService("web", { annotations: { "metallb.io/loadBalancerIPs": "10.0.0.300" } })],
    state: "pending",
    fix: /^fix the Service's annotations or spec\.loadBalancerIP: invalid requested loadbalancer IP "10\.0\.0\.300"$/,
  },
  {
    desc: "the Service names a pool that does not exist",
    resources: { pools: [aPool("a", ["10.0.0.0/30"])] },
    services: [aService("web", { annotations: { "metallb.io/address-pool": "nope" } })],
    state: "pending",
    pools: { a: "otherPoolRequested" },
    fix: /asks for pool "nope".*does not exist/,
  },
];

const POOL = [aPool("lan", ["10.0.0.0/30"])];

const announcements: Case[] = [
  {
    desc: "no advertisement selects the pool",
    resources: { pools: POOL, l2Advertisements: [anL2Advertisement("other", { ipAddressPools: ["other"] })] },
    services: [aService("web")],
    state: "notAnnounced",
    reason: "noAdvertisementForPool",
    summary: /no L2Advertisement or BGPAdvertisement selects pool "lan"/,
    fix: /create an L2Advertisement or a BGPAdvertisement .* select pool "lan"/,
    l2: { n1: "notApplicable" },
  },
  {
    desc: "the advertisement's serviceSelectors do not match",
    resources: { pools: POOL, l2Advertisements: [anL2Advertisement("l2", { serviceSelectors: [{ matchLabels: { expose: "yes" } }] })] },
    services: [aService("web")],
    state: "notAnnounced",
    reason: "serviceSelectorsDoNotMatch",
    summary: /L2Advertisement "l2" selects pool "lan" but no serviceSelector matches/,
  },
  {
    desc: "a shared IP is not announced by an L2Advertisement with serviceSelectors",
    resources: { pools: POOL, l2Advertisements: [anL2Advertisement("l2", { serviceSelectors: [{ matchLabels: { expose: "yes" } }] })] },
    services: [aService("web", { labels: { expose: "yes" }, annotations: { "metallb.io/allow-shared-ip": "k" } })],
    state: "notAnnounced",
    reason: "sharedIPWithServiceSelector",
  },
  {
    desc: "no serving endpoint (Cluster)",
    resources: { pools: POOL, l2Advertisements: [L2] },
    services: [aService("web")],
    slices: [aSlice("web", { n1: false })],
    state: "notAnnounced",
    reason: "noServingEndpoints",
    l2: { n1: "noEndpoints", n2: "noEndpoints" },
  },
  {
    desc: "externalTrafficPolicy Local with endpoints only on a node no advertisement selects",
    resources: {
      pools: POOL,
      l2Advertisements: [anL2Advertisement("l2", { nodeSelectors: [{ matchLabels: { "kubernetes.io/hostname": "n1" } }] })],
      nodes: [aNode("n1", { "kubernetes.io/hostname": "n1" }), aNode("n2")],
    },
    services: [aService("web", { etp: "Local" })],
    slices: [aSlice("web", { n2: true })],
    state: "notAnnounced",
    reason: "noLocalEndpoints",
    summary: /serving endpoints are on n2/,
    l2: { n1: "noLocalEndpoint", n2: "notSelected" },
  },
  {
    desc: "the nodeSelectors select no node",
    resources: { pools: POOL, l2Advertisements: [anL2Advertisement("l2", { nodeSelectors: [{ matchLabels: { role: "edge" } }] })] },
    services: [aService("web")],
    state: "notAnnounced",
    reason: "noSelectedNodes",
    l2: { n1: "notSelected", n2: "notSelected" },
  },
  {
    desc: "every selected node is excluded or NetworkUnavailable",
    resources: { pools: POOL, l2Advertisements: [L2], nodes: [excluded("n1"), unavailable("n2")] },
    services: [aService("web")],
    state: "notAnnounced",
    reason: "noEligibleNodes",
    fix: /exclude-from-external-load-balancers/,
    l2: { n1: "excluded", n2: "networkUnavailable" },
    bgp: { n1: "notApplicable" },
  },
  {
    desc: "BGP without a BGPPeer on the selected nodes",
    resources: {
      pools: POOL,
      bgpAdvertisements: [aBGPAdvertisement("bgp")],
      bgpPeers: [aPeer("router", { nodeSelectors: [{ matchLabels: { role: "edge" } }] })],
    },
    services: [aService("web")],
    state: "notAnnounced",
    reason: "noPeerSession",
    summary: /no BGPPeer selected by BGPAdvertisement "bgp" has a session on n1, n2/,
    bgp: { n1: "noPeerSession", n2: "noPeerSession" },
    peers: { router: [] },
  },
  {
    desc: "announced in Layer 2: the preferred node ranks first, an excluded one is not a candidate",
    resources: {
      pools: POOL,
      l2Advertisements: [anL2Advertisement("l2", { preferredNodeSelectors: [{ weight: 10, preference: { matchLabels: { pref: "yes" } } }] })],
      nodes: [aNode("n1"), aNode("n2", { pref: "yes" }), excluded("n3")],
    },
    services: [aService("web")],
    state: "announced",
    summary: /announced: 10\.0\.0\.0 by Layer 2 from n2/,
    l2: { n1: "standby", n2: "owner", n3: "excluded" },
  },
  {
    desc: "announced over BGP from the nodes the peer selects",
    resources: {
      pools: POOL,
      bgpAdvertisements: [aBGPAdvertisement("bgp")],
      bgpPeers: [aPeer("router", { nodeSelectors: [{ matchLabels: { role: "edge" } }] })],
      nodes: [aNode("n1", { role: "edge" }), aNode("n2")],
    },
    services: [aService("web")],
    state: "announced",
    summary: /BGP from n1$/,
    bgp: { n1: "announced", n2: "noPeerSession" },
    peers: { router: ["n1"] },
  },
  {
    desc: "a ClusterIP Service is not handled",
    resources: { pools: POOL, l2Advertisements: [L2] },
    services: [aService("web", { type: "ClusterIP" })],
    state: "notHandled",
    summary: /not of type LoadBalancer/,
  },
];

describe("explainService", () => {
  test.each([...refusals, ...announcements].map((c) => [c.desc, c] as const))("%s", (_desc, c) => {
    const e = explain(c);
    expect(e.state).toBe(c.state);
    if (c.reason !== undefined) expect(e.notAnnouncedReason).toBe(c.reason);
    if (c.pools !== undefined) expect(Object.fromEntries(e.allocation.pools.map((p) => [p.pool, p.reason]))).toEqual(c.pools);
    if (c.conflictsWith !== undefined) expect(e.allocation.pools.flatMap((p) => p.conflictsWith)).toEqual(c.conflictsWith);
    if (c.fix !== undefined) expect(e.fix).toMatch(c.fix);
    if (c.summary !== undefined) expect(e.summary).toMatch(c.summary);
    if (c.l2 !== undefined) for (const [n, s] of Object.entries(c.l2)) expect([n, e.nodes.find((x) => x.node === n)?.l2.state]).toEqual([n, s]);
    if (c.bgp !== undefined) for (const [n, s] of Object.entries(c.bgp)) expect([n, e.nodes.find((x) => x.node === n)?.bgp.state]).toEqual([n, s]);
    if (c.peers !== undefined) expect(Object.fromEntries(e.peers.map((p) => [p.name, p.nodes]))).toEqual(c.peers);
    if (c.state === "announced") expect(e.fix).toBeNull();
    else expect(e.fix !== null || c.state === "notHandled").toBe(true);
    // The text form always starts with the summary and never throws.
    expect(formatExplanation(e)[0]).toBe(`Service ${e.service}: ${e.summary}`);
  });

  test("Layer 2 election inputs: candidates in MetalLB's order, owner first, hash shown", () => {
    const e = explain({ resources: { pools: POOL, l2Advertisements: [L2] }, services: [aService("web")] });
    const [ip] = e.l2;
    expect(ip?.candidates.length).toBe(2);
    expect(ip?.owner).toBe(ip?.candidates[0]);
    const ranked = e.nodes.filter((n) => n.l2.rank !== null).sort((a, b) => (a.l2.rank ?? 0) - (b.l2.rank ?? 0));
    // Equal preference: ascending sha256(node#ip), which is what `hash` shows the start of.
    expect(ranked.map((n) => n.l2.hash ?? "")).toEqual(ranked.map((n) => n.l2.hash ?? "").sort());
    expect(ranked.map((n) => n.node)).toEqual(ip?.candidates);
  });

  test("the pool annotation of a held IP, the IP kept across the replay", () => {
    const e = explain({ resources: { pools: POOL, l2Advertisements: [L2] }, services: [aService("web", { ingress: ["10.0.0.2"] }), aService("other")] });
    expect(e.allocation.ips).toEqual(["10.0.0.2"]);
    expect(e.allocation.pools).toEqual([{ pool: "lan", reason: "taken", detail: "the Service holds 10.0.0.2", conflictsWith: [] }]);
  });

  test("an unknown Service is an error", () => {
    const input = explainInputFromObjects({ resources: clusterResources(), services: [], endpointSlices: [] }, { assumeServedEverywhere: true });
    expect(input.ok && explainService(input.value, "default/nope")).toEqual({ ok: false, error: 'service "default/nope" not found' });
  });
});
