import { describe, expect, test } from "@jest/globals";
import { announcedServiceView, nodeViewFromObject, servingNodesByService } from "./views.js";

describe("planning views", () => {
  test("nodes: labels, NetworkUnavailable, exclusion label (unless ignored)", () => {
    const raw = {
      metadata: { name: "n1", labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "" } },
      status: { conditions: [{ type: "NetworkUnavailable", status: "True" }] },
    };
    expect(nodeViewFromObject(raw)).toEqual({ name: "n1", labels: raw.metadata.labels, networkUnavailable: true, excludedFromLoadBalancers: true });
    expect(nodeViewFromObject(raw, true)?.excludedFromLoadBalancers).toBe(false);
    expect(nodeViewFromObject({})).toBeNull();
  });

  test("serving endpoints per service: ready unset/true or serving true count; no nodeName is ignored", () => {
    const slice = (svc: string, endpoints: unknown[]): unknown => ({ metadata: { namespace: "ns", labels: { "kubernetes.io/service-name": svc } }, endpoints });
    const m = servingNodesByService([
      slice("a", [
        { nodeName: "n1" },
        { nodeName: "n2", conditions: { ready: false } },
        { nodeName: "n3", conditions: { ready: false, serving: true } },
        { conditions: { ready: true } },
      ]),
      slice("a", [{ nodeName: "n4", conditions: { ready: true } }]),
      slice("b", []),
    ]);
    expect([...(m.get("ns/a") ?? [])].sort()).toEqual(["n1", "n3", "n4"]);
    expect([...(m.get("ns/b") ?? [])]).toEqual([]);
  });

  test("announced services: LoadBalancer with IPs and a pool annotation only", () => {
    const svc = (over: Record<string, unknown>): unknown => ({
      metadata: { namespace: "ns", name: "web", labels: { app: "web" }, annotations: { "metallb.io/ip-allocated-from-pool": "p" } },
      spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", clusterIPs: ["10.96.0.1"] },
      status: { loadBalancer: { ingress: [{ ip: "192.168.1.5" }] } },
      ...over,
    });
    const v = announcedServiceView(svc({}), new Map([["ns/web", new Set(["n2", "n1"])]]));
    expect(v).toMatchObject({ key: "ns/web", pool: "p", externalTrafficPolicy: "Local", nodesWithServingEndpoints: ["n1", "n2"], labels: { app: "web" } });
    expect(v?.ips.length).toBe(1);
    expect(announcedServiceView(svc({ status: {} }), new Map())).toBeNull();
    expect(announcedServiceView(svc({ metadata: { namespace: "ns", name: "web" } }), new Map())).toBeNull();
  });
});
