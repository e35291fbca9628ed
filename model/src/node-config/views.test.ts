import { describe, expect, test } from "@jest/globals";
import { nodeViewFromObject, servingNodesByService } from "./views.js";

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

  test.each<[desc: string, spec: unknown, draining: boolean | undefined]>([
    ["cordoned (spec.unschedulable true): draining", { unschedulable: true }, true],
    ["schedulable: no draining field", { unschedulable: false }, undefined],
    ["no spec: no draining field", undefined, undefined],
    ["a non-boolean is not a cordon", { unschedulable: "true" }, undefined],
  ])("nodes: %s", (_desc, spec, draining) => {
    const v = nodeViewFromObject({ metadata: { name: "n1" }, ...(spec === undefined ? {} : { spec }) });
    expect(v?.draining).toBe(draining);
    // A cordon is not MetalLB's exclusion: the node keeps announcing (gracefully).
    expect(v?.excludedFromLoadBalancers).toBe(false);
  });

  test.each<[desc: string, conditions: unknown[] | undefined, notReady: boolean | undefined]>([
    ["Ready True: no notReady field", [{ type: "Ready", status: "True" }], undefined],
    ["Ready False (kubelet reports a problem): notReady", [{ type: "Ready", status: "False" }], true],
    ["Ready Unknown (node lifecycle controller: kubelet silent ~40 s): notReady", [{ type: "Ready", status: "Unknown" }], true],
    ["no Ready condition (no kubelet ever reported): nothing to go by, ready", [{ type: "NetworkUnavailable", status: "False" }], undefined],
    ["no status at all: ready", undefined, undefined],
  ])("nodes: %s", (_desc, conditions, notReady) => {
    const v = nodeViewFromObject({ metadata: { name: "n1" }, ...(conditions === undefined ? {} : { status: { conditions } }) });
    expect(v?.notReady).toBe(notReady);
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
});
