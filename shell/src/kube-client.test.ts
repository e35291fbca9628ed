import { describe, expect, test } from "@jest/globals";
import { requestVerb } from "./kube-client.js";

describe("requestVerb", () => {
  test.each([
    ["GET", "/api/v1/namespaces", "LIST"],
    ["GET", "/api/v1/namespaces/apps", "GET"],
    ["GET", "/api/v1/nodes", "LIST"],
    ["GET", "/api/v1/nodes/n1", "GET"],
    ["GET", "/api/v1/namespaces/apps/services", "LIST"],
    ["GET", "/api/v1/namespaces/apps/services?labelSelector=a%3Db&limit=500", "LIST"],
    ["GET", "/api/v1/namespaces/apps/services?watch=true&resourceVersion=5", "WATCH"],
    ["GET", "/api/v1/namespaces/apps/services/web", "GET"],
    ["GET", "/api/v1/namespaces/apps/services/web/status", "GET"],
    ["GET", "/apis/metallb.io/v1beta1/ipaddresspools", "LIST"],
    ["GET", "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools", "LIST"],
    ["GET", "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/default", "GET"],
    ["GET", "/apis/coordination.k8s.io/v1/namespaces/metallb-system/leases/metallb-ts-operator", "GET"],
    ["GET", "/readyz", "GET"],
    ["GET", "/version", "GET"],
    ["get", "/api/v1/nodes", "LIST"],
    ["POST", "/api/v1/namespaces/apps/events", "POST"],
    ["PUT", "/apis/coordination.k8s.io/v1/namespaces/x/leases/l", "PUT"],
    ["PATCH", "/api/v1/namespaces/apps/services/web/status", "PATCH"],
    ["DELETE", "/api/v1/namespaces/apps/services/web", "DELETE"],
    ["HEAD", "/readyz", "OTHER"],
  ])("%s %s is %s", (method, path, want) => {
    expect(requestVerb(method, path)).toBe(want);
  });
});
