import { describe, expect, test } from "@jest/globals";
import { formatIP } from "../net/ip.js";
import { handlesLoadBalancerClass, selectorString, serviceSnapshotFromObject } from "./snapshot.js";

describe("handlesLoadBalancerClass", () => {
  test.each([
    ["no class, operator without class", null, null, false, true],
    ["a class, operator without class", "example.com/lb", null, false, false],
    ["our class", "metallb-ts.dev/lb", "metallb-ts.dev/lb", false, true],
    ["another class", "example.com/lb", "metallb-ts.dev/lb", false, false],
    ["no class, operator with a class", null, "metallb-ts.dev/lb", false, false],
    ["no class, operator with a class configured as default", null, "metallb-ts.dev/lb", true, true],
    ["another class, operator as default", "example.com/lb", "metallb-ts.dev/lb", true, false],
  ] as const)("%s", (_d, svcClass, ours, isDefault, want) => {
    expect(handlesLoadBalancerClass(svcClass, ours, isDefault)).toBe(want);
  });
});

describe("serviceSnapshotFromObject", () => {
  const svc = (over: { metadata?: Record<string, unknown>; spec?: Record<string, unknown>; status?: unknown } = {}): unknown => ({
    metadata: { namespace: "ns", name: "web", uid: "u1", ...over.metadata },
    spec: {
      type: "LoadBalancer",
      clusterIPs: ["10.96.0.1", "fd00::1"],
      ipFamilies: ["IPv4", "IPv6"],
      ipFamilyPolicy: "RequireDualStack",
      ports: [{ port: 53, protocol: "UDP" }, { port: 53 }],
      ...over.spec,
    },
    status: over.status ?? { loadBalancer: { ingress: [{ ip: "192.0.2.1" }, { ip: "bogus" }] } },
  });

  test("families, ports, ingress (invalid entries kept apart), sharing and backend keys", () => {
    const s = serviceSnapshotFromObject(
      svc({ metadata: { annotations: { "metallb.io/allow-shared-ip": "k" } }, spec: { externalTrafficPolicy: "Local", selector: { b: "2", a: "1" } } }),
    );
    expect(s?.view).toMatchObject({ key: "ns/web", families: ["IPv4", "IPv6"], ipFamilyPolicy: "RequireDualStack", sharingKey: "k", backendKey: "a=1,b=2" });
    expect(s?.view.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(s?.ingressIPs.map(formatIP)).toEqual(["192.0.2.1"]);
    expect(s?.invalidIngress).toEqual(["bogus"]);
  });

  test("the stable annotation wins over the deprecated one, which is reported", () => {
    const s = serviceSnapshotFromObject(
      svc({
        metadata: { annotations: { "metallb.io/address-pool": "a", "metallb.universe.tf/address-pool": "b", "metallb.universe.tf/allow-shared-ip": "x" } },
      }),
    );
    expect(s?.poolAnnotation).toBe("a");
    expect(s?.view.sharingKey).toBe("x");
    expect(s?.deprecatedAnnotations).toEqual(["metallb.universe.tf/allow-shared-ip"]);
  });

  test.each([
    ["annotation", { annotations: { "metallb.io/loadBalancerIPs": " 192.0.2.5 , fd00::5 " } }, {}, { ok: true, ips: ["192.0.2.5", "fd00::5"] }],
    ["spec.loadBalancerIP", {}, { loadBalancerIP: "192.0.2.6" }, { ok: true, ips: ["192.0.2.6"] }],
    ["both", { annotations: { "metallb.io/loadBalancerIPs": "192.0.2.5" } }, { loadBalancerIP: "192.0.2.6" }, { ok: false }],
    ["invalid", { annotations: { "metallb.io/loadBalancerIPs": "nope" } }, {}, { ok: false }],
    ["same family twice", { annotations: { "metallb.io/loadBalancerIPs": "192.0.2.5,192.0.2.6" } }, {}, { ok: false }],
  ])("requested IPs: %s", (_d, meta, spec, want) => {
    const s = serviceSnapshotFromObject(svc({ metadata: meta, spec }));
    const got = s?.requested.ok === true ? { ok: true, ips: s.requested.ips.map(formatIP) } : { ok: false };
    expect(got).toEqual(want);
  });

  test("not a Service: null; missing policy means SingleStack", () => {
    expect(serviceSnapshotFromObject({ spec: {} })).toBeNull();
    expect(serviceSnapshotFromObject(svc({ spec: { ipFamilyPolicy: undefined } }))?.view.ipFamilyPolicy).toBe("SingleStack");
    expect(selectorString({})).toBe("");
  });
});
