// Restart safety and leader failover with real operator processes (the compiled main.js) on a real apiserver; and
// the webhooks of several replicas, each with its own in-memory CA, behind one Service (a TCP balancer here).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { TcpBalancer } from "../../testenv/src/tcp-balancer.js";
import { caOwner, splitPem } from "./webhook/ca-bundle.js";
import { startOperatorWebhook, type RunningWebhook } from "./webhook/server.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { run, sleep, spawnLogged, waitFor } from "../../testenv/src/proc.js";
import {
  apply,
  createService,
  deleteService,
  ensureNamespace,
  localConversion,
  localWebhookConfiguration,
  METALLB_NS,
  pool,
  serviceIPs,
  settledIPs,
} from "../../testenv/src/objects.js";

const env = useControlPlane();
const main = join(repoRoot(), "dist", "operator", "src", "main.js");

interface Proc {
  child: ChildProcess;
  name: string;
}

function startOperator(name: string, args: readonly string[]): Proc {
  const child = spawnLogged(
    process.execPath,
    [main, "--metrics-addr=127.0.0.1:0", "--webhook-mode=disabled", `--identity=${name}`, ...args],
    join(env.cp.info.dir, `${name}.log`),
    {
      env: { ...process.env, KUBECONFIG: env.cp.kubeconfigPath },
    },
  );
  return { child, name };
}

async function kill(p: Proc, sig: NodeJS.Signals): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const done = new Promise<void>((r) => p.child.once("exit", () => r()));
  p.child.kill(sig);
  await done;
}

const assignments = (ns: string): Promise<Map<string, string[]>> => serviceIPs(env.kc, ns);
/** Waits until `count` Services hold IPs and nothing changed for `quietMs`. */
const settle = (ns: string, count: number, quietMs = 1_000): Promise<Map<string, string>> => settledIPs(env.kc, ns, count, { quietMs, timeoutMs: 120_000 });

function duplicates(m: Map<string, string>): string[] {
  const seen = new Map<string, string>();
  const dup: string[] = [];
  for (const [svc, ip] of m) {
    const prev = seen.get(ip);
    if (prev !== undefined) dup.push(`${ip}: ${prev} and ${svc}`);
    seen.set(ip, svc);
  }
  return dup;
}

describe("operator restarts and leader failover", () => {
  const procs: Proc[] = [];

  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(repoRoot(), "tsconfig.build.json")], { timeoutMs: 120_000 });
    await ensureNamespace(env.kc, METALLB_NS);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => kill(p, "SIGKILL")));
  });

  test("200 Services in a scarce pool plus 20 pending: 5 restarts (SIGKILL mid-reconcile, SIGTERM) change no IP and never duplicate one", async () => {
    const ns = "restart";
    await ensureNamespace(env.kc, ns);
    // 128 + 64 + 8 = 200 addresses.
    await pool(env.kc, "scarce", { addresses: ["10.50.0.0/25", "10.50.1.0/26", "10.50.2.0/29"] });
    for (let i = 0; i < 220; i++) await createService(env.kc, ns, `s${String(i).padStart(3, "0")}`);
    let op = startOperator("restart-0", ["--leader-elect=false"]);
    procs.push(op);
    let before = await settle(ns, 200);
    expect(duplicates(before)).toEqual([]);

    for (let round = 1; round <= 5; round++) {
      // Free one IP (a pending Service will take it) and kill the operator while it reconciles that.
      const victim = [...before.keys()].sort()[round] ?? "";
      await deleteService(env.kc, ns, victim);
      before.delete(victim);
      await sleep(30 * round);
      await kill(op, round % 2 === 1 ? "SIGKILL" : "SIGTERM");
      op = startOperator(`restart-${round}`, ["--leader-elect=false"]);
      procs.push(op);
      const after = await settle(ns, 200);
      expect(duplicates(after)).toEqual([]);
      const changed = [...before].filter(([svc, ip]) => after.get(svc) !== ip).map(([svc, ip]) => `${svc}: ${ip} -> ${after.get(svc) ?? "none"}`);
      expect([round, changed]).toEqual([round, []]);
      before = after;
    }
    await kill(op, "SIGTERM");
  }, 600_000);

  test("two replicas: the standby takes over within the lease time after the leader is killed, and no IP changes", async () => {
    const ns = "failover";
    await ensureNamespace(env.kc, ns);
    await pool(env.kc, "ha", { addresses: ["10.60.0.0/24"], serviceAllocation: { namespaces: [ns] } });
    const args = ["--lease-duration=3", "--renew-deadline=2000", "--retry-period=250"];
    const a = startOperator("op-a", args);
    procs.push(a);
    const leaseHolder = async (): Promise<string> => {
      const res = await kubeRequest(env.kc, "GET", `/apis/coordination.k8s.io/v1/namespaces/${METALLB_NS}/leases/metallb-ts-operator`);
      return (res.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? "";
    };
    await waitFor("op-a leads", async () => ((await leaseHolder()) === "op-a" ? true : undefined), 30_000, 100);
    const b = startOperator("op-b", args);
    procs.push(b);
    for (let i = 0; i < 30; i++) await createService(env.kc, ns, `f${i}`);
    const before = await settle(ns, 30);
    expect(await leaseHolder()).toBe("op-a");

    const killedAt = Date.now();
    await kill(a, "SIGKILL");
    await createService(env.kc, ns, "after-failover");
    await waitFor("op-b leads", async () => ((await leaseHolder()) === "op-b" ? true : undefined), 15_000, 25);
    const takeoverMs = Date.now() - killedAt;
    await waitFor("the new Service gets an IP", async () => (((await assignments(ns)).get("after-failover")?.length ?? 0) > 0 ? true : undefined), 15_000, 25);
    const allocatedMs = Date.now() - killedAt;
    process.stderr.write(
      `[failover] leader killed -> standby holds the lease after ${takeoverMs} ms, new Service has an IP after ${allocatedMs} ms (lease 3 s)\n`,
    );
    // The lease runs out at most 3 s after the last renewal (which preceded the kill); one retry period to notice.
    expect(takeoverMs).toBeLessThan(3_000 + 250 + 500);
    const after = await settle(ns, 31, 500);
    const changed = [...before].filter(([svc, ip]) => after.get(svc) !== ip);
    expect(changed).toEqual([]);
    expect(duplicates(after)).toEqual([]);
    await kill(b, "SIGTERM");
  }, 180_000);
});

describe("webhooks of several replicas, each with its own CA (never stored in the API)", () => {
  const CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io";
  const VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/metallb-webhook-configuration";
  const replicas = new Map<string, RunningWebhook>();
  const webhookLog: string[] = [];
  let lb: TcpBalancer;

  /**
   * The webhook Service's EndpointSlice, as the endpoints controller keeps it: one endpoint per operator Pod (the
   * addresses are not used: the TcpBalancer is the Service here; the replicas read only the Pod names).
   */
  const endpoints = (pods: readonly string[]): Promise<void> =>
    apply(
      env.kc,
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "metallb-webhook-service-x1", namespace: METALLB_NS, labels: { "kubernetes.io/service-name": "metallb-webhook-service" } },
        addressType: "IPv4",
        endpoints: pods.map((p, i) => ({ addresses: [`192.0.2.${10 + i}`], targetRef: { kind: "Pod", name: p, namespace: METALLB_NS } })),
        ports: [{ name: "webhook", port: 9443, protocol: "TCP" }],
      },
      "endpointslices",
    );

  const startReplica = async (identity: string): Promise<RunningWebhook> => {
    const hook = await startOperatorWebhook({
      kc: env.kc,
      namespace: METALLB_NS,
      log: jsonLogger({ write: (l) => webhookLog.push(l), level: "debug" }),
      host: "127.0.0.1",
      port: 0,
      certDir: mkdtempSync(join(tmpdir(), `webhook-${identity}-`)),
      ipAddresses: ["127.0.0.1"],
      identity,
      pruneGraceMs: 0,
      checkIntervalMs: 3_600_000, // checks are driven by the test
    });
    replicas.set(identity, hook);
    return hook;
  };
  const stopReplica = async (identity: string): Promise<void> => {
    await replicas.get(identity)?.stop();
    replicas.delete(identity);
  };
  const serveBehindService = (): void => lb.setBackends([...replicas.values()].map((r) => r.server.port));

  /** Owners of the CAs in each caBundle (every webhook of the configuration, and the CRD's conversion). */
  const bundleOwners = async (): Promise<string[][]> => {
    const vwc = (await kubeRequest(env.kc, "GET", VWC)).body as { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
    const crd = (await kubeRequest(env.kc, "GET", CRD)).body as { spec: { conversion: { webhook: { clientConfig: { caBundle?: string } } } } };
    const bundles = [...vwc.webhooks.map((w) => w.clientConfig.caBundle ?? ""), crd.spec.conversion.webhook.clientConfig.caBundle ?? ""];
    return bundles.map((b) =>
      splitPem(Buffer.from(b, "base64").toString())
        .map((pem) => caOwner(pem) ?? "?")
        .sort(),
    );
  };
  const expectBundles = async (owners: string[]): Promise<void> => {
    const all = await bundleOwners();
    expect(all.length).toBeGreaterThan(1);
    for (const b of all) expect(b).toEqual([...owners].sort());
  };

  /** A TLS handshake with a replica trusting only the bundle the apiserver holds (the first webhook's). */
  const handshake = async (hook: RunningWebhook): Promise<string> => {
    const vwc = (await kubeRequest(env.kc, "GET", VWC)).body as { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
    const ca = Buffer.from(vwc.webhooks[0]?.clientConfig.caBundle ?? "", "base64").toString();
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: hook.server.port, path: "/healthz", ca, agent: false }, (res) => {
        const cert = (res.socket as TLSSocket).getPeerX509Certificate();
        res.resume();
        res.on("end", () => resolve(cert?.fingerprint256 ?? ""));
      });
      req.on("error", reject);
      req.end();
    });
  };

  /** Admission through the apiserver: an overlapping pool is denied by a webhook, a valid one admitted. */
  let serial = 0;
  const admits = async (): Promise<string> => {
    const n = serial++;
    const create = (name: string, cidr: string): Promise<{ status: number; body: unknown }> =>
      kubeRequest(env.kc, "POST", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools`, {
        apiVersion: "metallb.io/v1beta1",
        kind: "IPAddressPool",
        metadata: { name, namespace: METALLB_NS },
        spec: { addresses: [cidr] },
      });
    const ok = await create(`hook-${n}`, `10.${150 + Math.floor(n / 64)}.${(n % 64) * 4}.0/30`);
    const bad = await create(`hook-bad-${n}`, "bogus");
    return `${ok.status} ${bad.status === 403 && statusMessage(bad).includes("denied the request") ? "denied" : `${bad.status}: ${statusMessage(bad)}`}`;
  };
  const admitsSoon = (what: string): Promise<string> => waitFor(what, async () => ((await admits()) === "201 denied" ? "ok" : undefined), 30_000, 200);

  beforeAll(async () => {
    await ensureNamespace(env.kc, METALLB_NS);
    lb = await TcpBalancer.start();
    const created = await kubeRequest(
      env.kc,
      "POST",
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
      localWebhookConfiguration(lb.port),
    );
    if (created.status !== 201) throw new Error(`create webhook configuration: ${statusMessage(created)}`);
    const patched = await kubeRequest(env.kc, "PATCH", CRD, { spec: { conversion: localConversion(lb.port) } }, "application/merge-patch+json");
    if (patched.status !== 200) throw new Error(`patch CRD conversion: ${statusMessage(patched)}`);
    await endpoints(["op-a", "op-b"]);
  });

  afterAll(async () => {
    for (const id of [...replicas.keys()]) await stopReplica(id);
    await lb?.close();
    // Later tests of this file must not depend on a webhook that is gone.
    await kubeRequest(env.kc, "DELETE", VWC);
  });

  test("two replicas starting together both land in every bundle and both serve; one killed, the other still admits", async () => {
    const [a, b] = await Promise.all([startReplica("op-a"), startReplica("op-b")]);
    // No further check: each merge was conditioned on the resourceVersion it read, so neither dropped the other's CA.
    expect([a.ready, b.ready]).toEqual([true, true]);
    await expectBundles(["op-a", "op-b"]);
    expect(a.rotator?.caBundle).not.toBe(b.rotator?.caBundle);
    // Each replica serves its own leaf, and the apiserver's bundle trusts both.
    expect(await handshake(a)).toBe(new X509Certificate(a.server.certificatePem).fingerprint256);
    expect(await handshake(b)).toBe(new X509Certificate(b.server.certificatePem).fingerprint256);
    serveBehindService();
    await admitsSoon("admission through both replicas");
    // Concurrent admissions open several connections: both replicas answer the apiserver.
    const results = await Promise.all(Array.from({ length: 8 }, () => admits()));
    expect(results.every((r) => r === "201 denied")).toBe(true);
    expect([lb.connections.get(a.server.port) ?? 0, lb.connections.get(b.server.port) ?? 0].every((n) => n > 0)).toBe(true);

    // op-a dies: the endpoints controller drops it; op-b alone admits every request.
    await stopReplica("op-a");
    serveBehindService();
    await endpoints(["op-b"]);
    for (let i = 0; i < 10; i++) expect(await admits()).toBe("201 denied");
  }, 90_000);

  test("a replacement Pod adds its new CA and prunes the gone replica's; a restart in the same Pod replaces its own", async () => {
    await endpoints(["op-b", "op-a-2"]);
    const a2 = await startReplica("op-a-2");
    expect(a2.ready).toBe(true);
    await expectBundles(["op-a-2", "op-b"]);
    serveBehindService();
    await admitsSoon("admission with op-a-2 and op-b");
    for (let i = 0; i < 6; i++) expect(await admits()).toBe("201 denied");

    // The container of op-a-2 restarts (same Pod name): its new CA replaces the one of its earlier run.
    const before = a2.rotator?.caBundle;
    await stopReplica("op-a-2");
    const again = await startReplica("op-a-2");
    expect(again.rotator?.caBundle).not.toBe(before);
    await expectBundles(["op-a-2", "op-b"]);
    const vwc = (await kubeRequest(env.kc, "GET", VWC)).body as { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
    expect(Buffer.from(vwc.webhooks[0]?.clientConfig.caBundle ?? "", "base64").toString()).not.toContain((before ?? "x").trim());
    serveBehindService();
    await admitsSoon("admission after the restart");
    for (let i = 0; i < 6; i++) expect(await admits()).toBe("201 denied");

    // op-b's next check keeps op-a-2's CA (live) and changes nothing.
    await replicas.get("op-b")?.rotator?.check();
    await expectBundles(["op-a-2", "op-b"]);
    // No Secret anywhere holds a certificate or key of these replicas.
    const secrets = (await kubeRequest(env.kc, "GET", "/api/v1/secrets")).body as { items: Array<{ data?: Record<string, string> }> };
    const keys = secrets.items.flatMap((x) => Object.values(x.data ?? {}).map((v) => Buffer.from(v, "base64").toString()));
    expect(keys.filter((v) => v.includes("PRIVATE KEY") || v.includes("BEGIN CERTIFICATE"))).toEqual([]);
  }, 90_000);

  test("six replicas merging at the same moment: the writes conflict, are merged again, and every CA is kept", async () => {
    const six = ["r1", "r2", "r3", "r4", "r5", "r6"];
    await endpoints(["op-b", "op-a-2", ...six]);
    const before = webhookLog.length;
    await Promise.all(six.map((id) => startReplica(id)));
    expect(six.map((id) => replicas.get(id)?.ready)).toEqual(six.map(() => true));
    await expectBundles(["op-a-2", "op-b", ...six]);
    // The conflict path ran: some replica's write was refused (409) and merged again on a fresh read.
    expect(webhookLog.slice(before).filter((l) => l.includes("caBundle changed meanwhile")).length).toBeGreaterThan(0);
    expect(webhookLog.filter((l) => /"level":"(warn|error)"/.test(l))).toEqual([]);
    // They leave: the next check of a remaining replica prunes their CAs.
    for (const id of six) await stopReplica(id);
    await endpoints(["op-b", "op-a-2"]);
    await replicas.get("op-b")?.rotator?.check();
    await expectBundles(["op-a-2", "op-b"]);
  }, 90_000);
});
