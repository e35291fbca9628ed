import { describe, expect, test } from "@jest/globals";
import { trimmerFor } from "./informer.js";

describe("what informers keep of an object", () => {
  const meta = { name: "x", resourceVersion: "7", labels: { a: "b" }, managedFields: [{ manager: "kubectl", fieldsV1: {} }] };
  test.each<[string, string, Record<string, unknown>, Record<string, unknown>]>([
    [
      "a Service loses managedFields only",
      "/api/v1/services",
      { metadata: { ...meta }, spec: { type: "LoadBalancer" }, status: { loadBalancer: {} } },
      { metadata: { name: "x", resourceVersion: "7", labels: { a: "b" } }, spec: { type: "LoadBalancer" }, status: { loadBalancer: {} } },
    ],
    [
      "a Node loses managedFields and its image list",
      "/api/v1/nodes",
      { metadata: { ...meta }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }], images: [{ names: ["a"], sizeBytes: 1 }] } },
      { metadata: { name: "x", resourceVersion: "7", labels: { a: "b" } }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }] } },
    ],
    [
      "a custom resource's status.images stays (only Nodes lose theirs)",
      "/apis/example.com/v1/things",
      { metadata: { name: "x" }, status: { images: ["kept"] } },
      { metadata: { name: "x" }, status: { images: ["kept"] } },
    ],
    ["an object without metadata is left alone", "/api/v1/nodes", { kind: "Status" }, { kind: "Status" }],
  ])("%s", (_d, path, obj, want) => {
    expect(trimmerFor(path)(obj)).toEqual(want);
  });
});
