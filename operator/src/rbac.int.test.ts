// The manifests' RBAC on a real apiserver: the operator (leader election, webhooks with their in-memory CA merged into
// the caBundles, IP allocation, NodeConfigs, status, Events) and the speaker run with their ServiceAccounts' tokens
// and nothing else. A permission missing from config/rbac/*.yaml fails these tests; the last test shows one missing
// rule does. Least privilege (issue 17 item 7): the operator reads no Secret at all (a BGP password Secret included),
// the speaker reads the Secrets of its namespace only and writes none, and no Secret holds a webhook key to read.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { Speaker } from "../../speaker/src/speaker.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { sleep, waitFor } from "../../testenv/src/proc.js";
import { applyManifests, installComponentRbac, rbacManifests, type ComponentCredentials, type ComponentName, type Manifest } from "../../testenv/src/rbac.js";
import { Operator } from "./operator.js";
import { parseSpeakerWorkload } from "./speaker-workload.js";
import {
  apply,
  applyMetallb,
  createEndpointSlice,
  createService,
  ensureNamespace,
  localConversion,
  localWebhookConfiguration,
  METALLB_NS,
  passwordSecret,
  pool,
  serviceState,
  waitForEvent,
  waitForIPs,
} from "../../testenv/src/objects.js";
import { caOwner } from "./webhook/ca-bundle.js";
import { startOperatorWebhook, type RunningWebhook } from "./webhook/server.js";

const env = useControlPlane();
const VWC = "metallb-webhook-configuration";
const CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io";
type Obj = Record<string, unknown>;
const read = (p: string): string => readFileSync(join(repoRoot(), p), "utf8");

let creds: Record<ComponentName, ComponentCredentials>;
let dir: string;
let hook: RunningWebhook | undefined;
let operator: Operator | undefined;
const operatorLog: string[] = [];

function startOperator(kc: k8s.KubeConfig, identity: string): Promise<Operator> {
  const op = new Operator({
    kc,
    settings: {
      namespace: METALLB_NS,
      lbClass: null,
      defaultLbClass: false,
      identity,
      leaderElection: { enabled: true, leaseName: "metallb-ts-operator", leaseDurationSeconds: 4, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    },
    log: jsonLogger({ write: (l) => operatorLog.push(l), level: "debug" }),
    registry: new Registry(),
  });
  return op.start().then(() => op);
}

async function get(path: string): Promise<Obj> {
  const res = await kubeRequest(env.kc, "GET", path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${statusMessage(res)}`);
  return res.body as Obj;
}

/** As the admin: every Secret value of the namespace that holds a private key or a certificate (PEM). */
async function secretValuesWithKeys(): Promise<string[]> {
  const list = (await get(`/api/v1/namespaces/${METALLB_NS}/secrets`)) as { items: Array<{ metadata: { name: string }; data?: Record<string, string> }> };
  return list.items.flatMap((x) =>
    Object.entries(x.data ?? {}).flatMap(([k, v]) =>
      /PRIVATE KEY|BEGIN CERTIFICATE/.test(Buffer.from(v, "base64").toString()) ? [`${x.metadata.name}/${k}`] : [],
    ),
  );
}

beforeAll(async () => {
  const kc = env.kc;
  await ensureNamespace(kc, METALLB_NS);
  await ensureNamespace(kc, "apps");
  dir = mkdtempSync(join(tmpdir(), "metallb-ts-rbac-"));
  mkdirSync(join(dir, "certs"));
  creds = await installComponentRbac(kc, { namespace: METALLB_NS, dir });
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  await hook?.stop();
});

describe("the operator with its ServiceAccount and the manifests' RBAC", () => {
  test("the token is the ServiceAccount's, and it is not an admin", async () => {
    const opKc = creds.operator.kubeConfig();
    const review = await kubeRequest(opKc, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
    });
    expect((review.body as { status?: { userInfo?: { username?: string } } }).status?.userInfo?.username).toBe(
      `system:serviceaccount:${METALLB_NS}:metallb-ts-operator`,
    );
    const pods = await kubeRequest(opKc, "GET", "/api/v1/pods");
    expect(pods.status).toBe(403);
  });

  test("webhooks: the replica's own CA merged into the webhook configuration and the CRD, no Secret written, invalid objects refused", async () => {
    const opKc = creds.operator.kubeConfig();
    hook = await startOperatorWebhook({
      kc: opKc,
      namespace: METALLB_NS,
      log: jsonLogger({ write: (l) => operatorLog.push(l), level: "debug" }),
      host: "127.0.0.1",
      port: 0,
      certDir: join(dir, "certs"),
      ipAddresses: ["127.0.0.1"],
      identity: "rbac-op",
    });
    const port = hook.server.port;
    // The manifest's webhook configuration, pointed at the local server (created by the admin, as kubectl apply would).
    expect(
      (await kubeRequest(env.kc, "POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", localWebhookConfiguration(port))).status,
    ).toBe(201);
    expect((await kubeRequest(env.kc, "PATCH", CRD, { spec: { conversion: localConversion(port) } }, "application/merge-patch+json")).status).toBe(200);
    await hook.rotator?.check(); // injects with the operator's token

    expect(hook.ready).toBe(true);
    const pem = (b64: string | undefined): string => Buffer.from(b64 ?? "", "base64").toString();
    const vwc = (await get(`/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${VWC}`)) as {
      webhooks: Array<{ clientConfig: { caBundle?: string } }>;
    };
    expect(vwc.webhooks.map((w) => pem(w.clientConfig.caBundle))).toEqual(vwc.webhooks.map(() => hook?.rotator?.caBundle));
    const crd = (await get(CRD)) as { spec: { conversion: { webhook: { clientConfig: { caBundle?: string } } } } };
    expect(pem(crd.spec.conversion.webhook.clientConfig.caBundle)).toBe(hook.rotator?.caBundle);
    expect(caOwner(hook.rotator?.caBundle ?? "")).toBe("rbac-op");
    // Nothing of it in the API: no certificate Secret, and no Secret of the namespace holds a private key.
    expect((await kubeRequest(env.kc, "GET", `/api/v1/namespaces/${METALLB_NS}/secrets/metallb-webhook-cert`)).status).toBe(404);
    expect(await secretValuesWithKeys()).toEqual([]);

    // The webhook lists the configuration and the nodes with the operator's token to validate.
    await pool(env.kc, "lan", { addresses: ["192.168.50.0/29"] });
    const refused = await waitFor(
      "webhook refuses an overlapping pool",
      async () => {
        const res = await kubeRequest(env.kc, "POST", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools`, {
          apiVersion: "metallb.io/v1beta1",
          kind: "IPAddressPool",
          metadata: { name: "overlap", namespace: METALLB_NS },
          spec: { addresses: ["192.168.50.4/30"] },
        });
        return res.status === 403 ? statusMessage(res) : undefined;
      },
      30_000,
      200,
    );
    expect(refused).toContain("overlaps with already defined CIDR");
  }, 60_000);

  test("leader election, IP allocation, annotation, Events, pool status, ConfigurationState, NodeConfigs, L2 key", async () => {
    const kc = env.kc;
    await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: "node1", labels: { "kubernetes.io/hostname": "node1" } } }, "nodes");
    await passwordSecret(kc, "peer-pw", "s3cret");
    await applyMetallb(kc, "L2Advertisement", "l2", { ipAddressPools: ["lan"] });
    await applyMetallb(kc, "BGPPeer", "router", {
      myASN: 64512,
      peerASN: 64500,
      peerAddress: "10.111.0.1",
      passwordSecret: { name: "peer-pw", namespace: METALLB_NS },
    });
    await applyMetallb(kc, "BGPAdvertisement", "bgp", { ipAddressPools: ["lan"] });

    operator = await startOperator(creds.operator.kubeConfig(), "rbac-op");
    await createService(kc, "apps", "web");
    await createEndpointSlice(kc, "apps", "web", ["node1"]);
    expect(await waitForIPs(kc, "apps", "web")).toEqual({ ips: ["192.168.50.0"], pool: "lan" });
    expect((await waitForEvent(kc, "apps", "Service", "web", "IPAllocated")).message).toContain("192.168.50.0");

    const lease = await get(`/apis/coordination.k8s.io/v1/namespaces/${METALLB_NS}/leases/metallb-ts-operator`);
    expect((lease["spec"] as { holderIdentity?: string }).holderIdentity).toBe("rbac-op");
    await waitFor(
      "pool status counters",
      async () => {
        const p = await get(`/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools/lan`);
        return (p["status"] as { assignedIPv4?: number } | undefined)?.assignedIPv4 === 1 ? true : undefined;
      },
      20_000,
    );
    await waitFor(
      "ConfigurationState status",
      async () => {
        const cs = await kubeRequest(kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates/controller`);
        return cs.status === 200 && (cs.body as { status?: unknown }).status !== undefined ? true : undefined;
      },
      20_000,
    );
    await waitFor(
      "the Service's announcement entry in its shard",
      async () => {
        const shards = await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/announcementshards`);
        return shards.status === 200 && JSON.stringify(shards.body).includes("192.168.50.0") ? true : undefined;
      },
      20_000,
    );
    const nodeConfig = await waitFor(
      "NodeConfig of node1",
      async () => {
        const nc = await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/node1`);
        return nc.status === 200 ? (nc.body as Obj) : undefined;
      },
      20_000,
    );
    expect(JSON.stringify(nodeConfig)).not.toContain("s3cret");
    // The heartbeat key is created (create only: the operator cannot read it back); nothing gathers the passwords.
    await waitFor(
      "the heartbeat key Secret",
      async () => ((await kubeRequest(kc, "GET", `/api/v1/namespaces/${METALLB_NS}/secrets/metallb-ts-l2-key`)).status === 200 ? true : undefined),
      20_000,
    );
    expect((await kubeRequest(kc, "GET", `/api/v1/namespaces/${METALLB_NS}/secrets/metallb-ts-bgp-passwords`)).status).toBe(404);
    expect(operatorLog.filter((l) => /forbidden/i.test(l))).toEqual([]);
  }, 60_000);

  test("Secrets: the operator reads none (a BGP password Secret included) and may only create; no other namespace", async () => {
    const opKc = creds.operator.kubeConfig();
    const secrets = `/api/v1/namespaces/${METALLB_NS}/secrets`;
    const can = async (verb: string, name?: string, namespace = METALLB_NS): Promise<boolean> => {
      const res = await kubeRequest(opKc, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { namespace, verb, resource: "secrets", ...(name !== undefined ? { name } : {}) } },
      });
      return (res.body as { status?: { allowed?: boolean } }).status?.allowed === true;
    };
    // Only create (the heartbeat key; a create cannot be limited by name). Every read and every rewrite refused, on
    // the BGP password Secret, the heartbeat key, and any name.
    expect(await can("create")).toBe(true);
    const refused = [
      ...["get", "list", "watch", "update", "patch", "delete"].flatMap((verb) => ["peer-pw", "metallb-ts-l2-key", "anything"].map((n) => [verb, n] as const)),
      ["list", undefined],
      ["watch", undefined],
      ["deletecollection", undefined],
    ] as const;
    for (const [verb, name] of refused) expect([verb, name, await can(verb, name)]).toEqual([verb, name, false]);
    expect(await can("get", "anything", "apps")).toBe(false);
    expect(await can("create", undefined, "apps")).toBe(false);

    // The same refusals as real requests: the user's password Secret cannot be read, listed or changed.
    const pw = (await get(`${secrets}/peer-pw`)) as { metadata: Obj; data: Record<string, string> };
    const reads = [
      await kubeRequest(opKc, "GET", `${secrets}/peer-pw`),
      await kubeRequest(opKc, "GET", secrets),
      await kubeRequest(opKc, "GET", `${secrets}?watch=1`),
    ];
    expect(reads.map((r) => r.status)).toEqual([403, 403, 403]);
    const put = await kubeRequest(opKc, "PUT", `${secrets}/peer-pw`, { ...pw, data: { password: Buffer.from("stolen").toString("base64") } });
    const patch = await kubeRequest(opKc, "PATCH", `${secrets}/peer-pw`, { data: { password: "" } }, "application/merge-patch+json");
    const del = await kubeRequest(opKc, "DELETE", `${secrets}/peer-pw`);
    expect([put.status, patch.status, del.status]).toEqual([403, 403, 403]);
    expect(((await get(`${secrets}/peer-pw`)) as { data: Record<string, string> }).data).toEqual(pw.data);
    expect((await kubeRequest(opKc, "GET", `/api/v1/namespaces/apps/secrets`)).status).toBe(403);
    expect((await kubeRequest(opKc, "GET", `/api/v1/secrets`)).status).toBe(403);
    expect(operatorLog.filter((l) => /forbidden/i.test(l))).toEqual([]);
  }, 60_000);
});

describe("the speaker with its ServiceAccount", () => {
  test("watches its NodeConfig, the Secrets of its namespace and the BGPPeers, writes its ConfigurationState; writes no Secret, reads none elsewhere", async () => {
    const spKc = creds.speaker.kubeConfig();
    const log: string[] = [];
    const speaker = new Speaker({
      kc: spKc,
      settings: { nodeName: "node1", namespace: METALLB_NS, frrLogLevel: "info", stateIntervalMs: 2_000 },
      log: jsonLogger({ write: (l) => log.push(l), level: "debug" }),
      registry: new Registry(),
    });
    await speaker.start(); // resolves only once every informer listed
    // Its own ConfigurationState (issue 18): created and its status written with the speaker's token. Valid: it read
    // the BGPPeer's password Secret peer-pw itself and found it of type kubernetes.io/basic-auth.
    const cs = `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/configurationstates/speaker-node1`;
    await waitFor(
      "speaker-node1 ConfigurationState written",
      async () => {
        const got = await kubeRequest(spKc, "GET", cs);
        return (got.body as { status?: { result?: string } }).status?.result === "Valid" ? true : undefined;
      },
      10_000,
    );
    await speaker.stop();
    expect(log.filter((l) => /forbidden/i.test(l))).toEqual([]);
    const nc = `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/node1`;
    expect((await kubeRequest(spKc, "PATCH", `${nc}/status`, { status: { bgp: { sessionsEstablished: 0 } } }, "application/merge-patch+json")).status).toBe(
      200,
    );
    expect((await kubeRequest(spKc, "PATCH", nc, { spec: {} }, "application/merge-patch+json")).status).toBe(403);
    expect((await kubeRequest(spKc, "GET", "/api/v1/namespaces/apps/services")).status).toBe(403);
    // Secrets: read those of its namespace (BGPPeers name their password Secrets freely), none elsewhere; no write.
    const secrets = `/api/v1/namespaces/${METALLB_NS}/secrets`;
    for (const path of [`${secrets}/metallb-ts-l2-key`, `${secrets}/peer-pw`, secrets])
      expect([path, (await kubeRequest(spKc, "GET", path)).status]).toEqual([path, 200]);
    for (const path of ["/api/v1/namespaces/apps/secrets", "/api/v1/namespaces/apps/secrets/x", "/api/v1/secrets"])
      expect([path, (await kubeRequest(spKc, "GET", path)).status]).toEqual([path, 403]);
    const pw = (await kubeRequest(env.kc, "GET", `${secrets}/peer-pw`)).body as Obj;
    const writes = [
      await kubeRequest(spKc, "PUT", `${secrets}/peer-pw`, pw),
      await kubeRequest(spKc, "PATCH", `${secrets}/peer-pw`, { data: { password: "" } }, "application/merge-patch+json"),
      await kubeRequest(spKc, "DELETE", `${secrets}/metallb-ts-l2-key`),
      await kubeRequest(spKc, "POST", secrets, { apiVersion: "v1", kind: "Secret", metadata: { name: "by-speaker", namespace: METALLB_NS }, data: {} }),
    ];
    expect(writes.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    // What it can read holds no webhook key: the webhook CAs and keys never enter the API (acceptance: "speaker cannot
    // read the webhook CA Secret" -- there is none). Listed as the admin, every Secret of the namespace checked.
    expect((await kubeRequest(spKc, "GET", `${secrets}/metallb-webhook-cert`)).status).toBe(404);
    expect(await secretValuesWithKeys()).toEqual([]);
    const status = { apiVersion: "metallb.io/v1beta1", kind: "ServiceL2Status", metadata: { name: "l2-rbac", namespace: METALLB_NS } };
    expect((await kubeRequest(spKc, "POST", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/servicel2statuses`, status)).status).toBe(201);
    expect((await kubeRequest(spKc, "DELETE", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/servicel2statuses/l2-rbac`)).status).toBe(200);
  }, 30_000);
});

describe("OLM installs: the leader keeps the speaker workload applied", () => {
  test("DaemonSet, ConfigMap and Service created with the release image, owned by the operator Deployment; a deleted DaemonSet comes back", async () => {
    await applyManifests(env.kc, rbacManifests("operator-speaker-workload", METALLB_NS));
    // The owner (--speaker-workload-owner): the operator's Deployment, read with the operator's own token.
    const owner = await kubeRequest(env.kc, "POST", `/apis/apps/v1/namespaces/${METALLB_NS}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "metallb-ts-operator" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "owner" } },
        template: { metadata: { labels: { app: "owner" } }, spec: { containers: [{ name: "c", image: "registry.example/operator:v9" }] } },
      },
    });
    expect(owner.status).toBe(201);
    const ownerUid = (owner.body as { metadata: { uid: string } }).metadata.uid;
    const workload = parseSpeakerWorkload(read("config/speaker/speaker-frr.yaml"), "speaker-frr.yaml", {
      namespace: METALLB_NS,
      speakerImage: "registry.example/speaker:v9",
    });
    if (typeof workload === "string") throw new Error(workload);
    const op = new Operator({
      kc: creds.operator.kubeConfig(),
      settings: {
        namespace: METALLB_NS,
        lbClass: "workload-test-only",
        defaultLbClass: false,
        identity: "rbac-workload",
        leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      log: jsonLogger({ write: (l) => operatorLog.push(l), level: "debug" }),
      registry: new Registry(),
      speakerWorkload: workload,
      speakerWorkloadResyncMs: 300,
      speakerWorkloadOwner: "metallb-ts-operator",
    });
    await op.start();
    try {
      const ds = `/apis/apps/v1/namespaces/${METALLB_NS}/daemonsets/metallb-ts-speaker`;
      const images = await waitFor(
        "speaker DaemonSet applied",
        async () => {
          const res = await kubeRequest(env.kc, "GET", ds);
          if (res.status !== 200) return undefined;
          return (res.body as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers.map((c) => c.image);
        },
        20_000,
      );
      expect(images).toEqual(["registry.example/speaker:v9", "registry.example/speaker:v9"]);
      for (const path of [
        ds,
        `/api/v1/namespaces/${METALLB_NS}/configmaps/metallb-ts-frr-startup`,
        `/api/v1/namespaces/${METALLB_NS}/services/metallb-ts-speaker-monitor`,
      ]) {
        const refs = ((await get(path))["metadata"] as { ownerReferences?: Array<{ kind: string; name: string; uid: string }> }).ownerReferences;
        expect([path, refs]).toEqual([path, [expect.objectContaining({ kind: "Deployment", name: "metallb-ts-operator", uid: ownerUid })]]);
      }
      expect((await kubeRequest(env.kc, "GET", `/api/v1/namespaces/${METALLB_NS}/configmaps/metallb-ts-frr-startup`)).status).toBe(200);
      expect((await kubeRequest(env.kc, "GET", `/api/v1/namespaces/${METALLB_NS}/services/metallb-ts-speaker-monitor`)).status).toBe(200);
      const generation = ((await get(ds))["metadata"] as { generation: number }).generation;
      await sleep(1_000); // several re-applies of an unchanged workload: no new generation (no rollout)
      expect(((await get(ds))["metadata"] as { generation: number }).generation).toBe(generation);
      expect((await kubeRequest(env.kc, "DELETE", ds)).status).toBe(200);
      await waitFor("speaker DaemonSet restored", async () => ((await kubeRequest(env.kc, "GET", ds)).status === 200 ? true : undefined), 20_000);
    } finally {
      await op.stop();
    }
  }, 60_000);
});

describe("a permission missing from the manifests fails", () => {
  test("without services/status the operator cannot publish an IP; with the manifests' rule back it does", async () => {
    await operator?.stop();
    operator = undefined;
    const withoutStatus = (component: ComponentName, objects: Manifest[]): Manifest[] =>
      objects.map((o) =>
        component === "operator" && o.kind === "ClusterRole"
          ? { ...o, rules: (o.rules ?? []).filter((r) => !(r["resources"] as string[]).includes("services/status")) }
          : o,
      );
    await installComponentRbac(env.kc, { namespace: METALLB_NS, dir, edit: withoutStatus });
    const before = operatorLog.length;
    operator = await startOperator(creds.operator.kubeConfig(), "rbac-op-2");
    await createService(env.kc, "apps", "api");
    await waitFor("a forbidden write in the operator's log", () => (operatorLog.slice(before).some((l) => l.includes("forbidden")) ? true : undefined), 30_000);
    await sleep(1_000);
    expect((await serviceState(env.kc, "apps", "api")).ips).toEqual([]);

    await installComponentRbac(env.kc, { namespace: METALLB_NS, dir });
    expect((await waitForIPs(env.kc, "apps", "api", 40_000)).ips).toEqual(["192.168.50.1"]);
  }, 90_000);
});
