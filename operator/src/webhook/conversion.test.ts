import { describe, expect, test } from "@jest/globals";
import { convertBGPPeer, reviewConversion, V1BETA1, V1BETA2, V1BETA2_FIELDS_ANNOTATION } from "./conversion.js";

const v1beta1 = {
  apiVersion: V1BETA1,
  kind: "BGPPeer",
  metadata: { name: "p", namespace: "metallb-system", annotations: { team: "net" }, resourceVersion: "7" },
  spec: {
    myASN: 64500,
    peerASN: 64501,
    peerAddress: "192.0.2.1",
    sourceAddress: "192.0.2.10",
    peerPort: 1179,
    holdTime: "90s",
    keepaliveTime: "30s",
    routerID: "10.0.0.1",
    nodeSelectors: [{ matchLabels: { a: "b" }, matchExpressions: [{ key: "k", operator: "In", values: ["v"] }] }],
    password: "secret",
    bfdProfile: "fast",
    ebgpMultiHop: true,
    vrf: "red",
  },
};

describe("convertBGPPeer", () => {
  test("v1beta1 → v1beta2 → v1beta1 is lossless", () => {
    const up = convertBGPPeer(v1beta1, V1BETA2);
    expect(up).toEqual({ ...v1beta1, apiVersion: V1BETA2 });
    expect(convertBGPPeer(up, V1BETA1)).toEqual(v1beta1);
  });

  test("v1beta2-only fields survive a trip through v1beta1 in an annotation", () => {
    const v2 = {
      ...v1beta1,
      apiVersion: V1BETA2,
      metadata: { name: "p" },
      spec: { myASN: 64500, interface: "eth0", dynamicASN: "external", passwordSecret: { name: "s" }, connectTime: "5s", disableMP: true },
    };
    const down = convertBGPPeer(v2, V1BETA1);
    expect(down["spec"]).toEqual({ myASN: 64500 });
    expect(down["metadata"]).toEqual({
      name: "p",
      annotations: {
        [V1BETA2_FIELDS_ANNOTATION]: '{"connectTime":"5s","disableMP":true,"dynamicASN":"external","interface":"eth0","passwordSecret":{"name":"s"}}',
      },
    });
    expect(convertBGPPeer(down, V1BETA2)).toEqual(v2);
  });

  test("v1beta2-only fields at their schema default are not saved (the apiserver defaults them again)", () => {
    const v2 = { ...v1beta1, apiVersion: V1BETA2, spec: { ...v1beta1.spec, disableMP: false, dualStackAddressFamily: false } };
    expect(convertBGPPeer(v2, V1BETA1)).toEqual(v1beta1);
  });

  test("fields edited through v1beta1 win over the saved ones; a broken annotation restores nothing", () => {
    const edited = { ...v1beta1, metadata: { name: "p", annotations: { [V1BETA2_FIELDS_ANNOTATION]: '{"vrf":"blue","interface":"eth1"}' } } };
    expect(convertBGPPeer(edited, V1BETA2)["spec"]).toEqual({ ...v1beta1.spec, interface: "eth1" });
    const broken = { ...v1beta1, metadata: { name: "p", annotations: { [V1BETA2_FIELDS_ANNOTATION]: "{" } } };
    expect(convertBGPPeer(broken, V1BETA2)).toEqual({ ...v1beta1, apiVersion: V1BETA2, metadata: { name: "p" } });
  });

  test("unknown versions fail", () => {
    expect(() => convertBGPPeer({ ...v1beta1, apiVersion: "metallb.io/v1" }, V1BETA2)).toThrow("unsupported source apiVersion metallb.io/v1");
  });
});

describe("reviewConversion", () => {
  test("converts every object and echoes the uid", () => {
    const out = reviewConversion({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "ConversionReview",
      request: { uid: "u", desiredAPIVersion: V1BETA2, objects: [v1beta1] },
    });
    expect(out.response.uid).toBe("u");
    expect(out.response.result).toEqual({ status: "Success" });
    expect(out.response.convertedObjects).toEqual([{ ...v1beta1, apiVersion: V1BETA2 }]);
  });
  test("reports a failure", () => {
    const out = reviewConversion({ request: { uid: "u", desiredAPIVersion: "metallb.io/v9", objects: [v1beta1] } });
    expect(out.response.result).toEqual({ status: "Failure", message: "unsupported desired apiVersion metallb.io/v9" });
  });
});
