// Smoke tests of the real control plane: kube-apiserver + etcd built from Go modules, our CRDs installed.
import { describe, expect, test } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupStaleControlPlanes, ControlPlane, rawKubeRequest, RUN_PREFIX } from "./control-plane.js";
import { createTestNamespace, useControlPlane } from "./kube.js";
import { isAlive, waitFor } from "./proc.js";

const env = useControlPlane();

describe("control plane", () => {
  test("serves Kubernetes v1.34 with the metallb.io CRDs established", async () => {
    const version = await env.kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.34\./);
    const crds = await env.kc.makeApiClient(k8s.ApiextensionsV1Api).listCustomResourceDefinition();
    const names = crds.items.map((c) => c.metadata?.name).filter((n) => n?.endsWith(".metallb.io"));
    expect(names).toEqual(expect.arrayContaining(["ipaddresspools.metallb.io", "bgppeers.metallb.io", "l2advertisements.metallb.io"]));
  });

  test("a client-node informer sees a Service created through the API", async () => {
    const ns = await createTestNamespace(env.kc, "informer");
    const core = env.kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(env.kc, `/api/v1/namespaces/${ns}/services`, () => core.listNamespacedService({ namespace: ns }));
    const seen: string[] = [];
    informer.on("add", (svc) => seen.push(svc.metadata?.name ?? ""));
    await informer.start();
    try {
      await core.createNamespacedService({
        namespace: ns,
        body: { metadata: { name: "web" }, spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }], selector: { app: "web" } } },
      });
      await waitFor("informer add event", () => (seen.includes("web") ? true : undefined), 10_000);
      const cached = informer.get("web", ns);
      expect(cached?.spec?.type).toBe("LoadBalancer");
      expect(cached?.spec?.clusterIP).toMatch(/^10\.96\./);
    } finally {
      await informer.stop();
    }
  });

  test("the IPAddressPool CRD accepts a valid pool and rejects a schema-invalid one", async () => {
    const ns = await createTestNamespace(env.kc, "crd");
    const objects = k8s.KubernetesObjectApi.makeApiClient(env.kc);
    const created = await objects.create({
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: "good", namespace: ns },
      spec: { addresses: ["192.168.10.0/24", "192.168.20.1-192.168.20.9"] },
    } as k8s.KubernetesObject);
    // The CRD default fills autoAssign.
    expect((created as { spec?: { autoAssign?: boolean } }).spec?.autoAssign).toBe(true);

    const rejected = objects.create({
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: "bad", namespace: ns },
      spec: { autoAssign: "yes" },
    } as k8s.KubernetesObject);
    await expect(rejected).rejects.toMatchObject({ code: 422 });
    const err = (await rejected.catch((e: unknown) => e)) as k8s.ApiException<unknown>;
    const status = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as { message: string };
    expect(status.message).toMatch(/IPAddressPool\.metallb\.io "bad" is invalid/);
    expect(status.message).toMatch(/spec\.addresses: Required value/);
    expect(status.message).toMatch(/spec\.autoAssign in body must be of type boolean/);
  });

  test("stale run directories of dead owners are cleaned, live ones kept", () => {
    const dead = join(tmpdir(), `${RUN_PREFIX}-4194303-zzzz`);
    mkdirSync(dead, { recursive: true });
    writeFileSync(join(dead, "etcd.pid"), "4194302\n");
    cleanupStaleControlPlanes(tmpdir());
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(env.cp.info.dir)).toBe(true);
    expect(isAlive(env.cp.info.apiserverPid)).toBe(true);
  });
});

describe("control plane with an audit policy and extra apiserver flags", () => {
  test("logs every request of the policy to <dir>/audit.log as JSON lines, and passes the extra flags", async () => {
    const policy = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["ResponseStarted"]\nrules:\n  - level: Metadata\n';
    const cp = await ControlPlane.start({ auditPolicy: policy, extraApiserverArgs: ["--max-requests-inflight=321"], crdDirs: [] });
    try {
      expect(cp.info.auditLogPath).toBe(join(cp.info.dir, "audit.log"));
      expect(readFileSync(`/proc/${cp.info.apiserverPid}/cmdline`, "utf8").split("\0")).toContain("--max-requests-inflight=321");
      const kc = cp.kubeConfig();
      const created = await rawKubeRequest(kc, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "audited" } });
      expect(created.status).toBe(201);
      const events = await waitFor(
        "the create in the audit log",
        () => {
          const lines = readFileSync(cp.info.auditLogPath ?? "", "utf8")
            .split("\n")
            .filter((l) => l !== "");
          const mine = lines
            .map(
              (l) =>
                JSON.parse(l) as {
                  stage: string;
                  verb: string;
                  user: { username: string };
                  objectRef?: { resource?: string; name?: string };
                  responseStatus?: { code?: number };
                },
            )
            // The apiserver creates its own namespaces as system:apiserver, logged too.
            .filter((e) => e.verb === "create" && e.objectRef?.resource === "namespaces" && e.user.username === "metallb-ts-admin");
          return mine.length === 2 ? mine : undefined;
        },
        10_000,
      );
      // A create's name is known only once the body is decoded: not in the RequestReceived stage.
      expect(events.map((e) => [e.stage, e.objectRef?.name, e.responseStatus?.code])).toEqual([
        ["RequestReceived", undefined, undefined],
        ["ResponseComplete", "audited", 201],
      ]);
    } finally {
      await cp.stop();
    }
  });
});
