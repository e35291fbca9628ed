// IPAddressPool.status is the operator's (issue 18 item 2): a hand-edited status is put back within seconds, on a
// real apiserver with the operator in-process (no leader election). That a status-only change is not re-parsed is
// the unit test's (model/src/service/pool-events.test.ts).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { Registry } from "prom-client";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { waitFor } from "../../testenv/src/proc.js";
import { Operator } from "./operator.js";
import { createService, ensureNamespace, METALLB_NS, pool, waitForIPs } from "../../testenv/src/objects.js";

const env = useControlPlane();
const POOL_PATH = `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools/owned`;

async function poolStatus(): Promise<Record<string, unknown> | undefined> {
  const res = await kubeRequest(env.kc, "GET", POOL_PATH);
  return (res.body as { status?: Record<string, unknown> }).status;
}

describe("IPAddressPool status belongs to the operator", () => {
  let op: Operator;
  const lines: string[] = [];

  beforeAll(async () => {
    await ensureNamespace(env.kc, METALLB_NS);
    await ensureNamespace(env.kc, "apps");
    await pool(env.kc, "owned", { addresses: ["192.168.50.0/30"] });
    op = new Operator({
      kc: env.kc,
      settings: {
        namespace: METALLB_NS,
        lbClass: null,
        defaultLbClass: false,
        identity: "pool-status-test",
        leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      log: jsonLogger({ write: (l) => lines.push(l), level: "debug" }),
      registry: new Registry(),
    });
    await op.start();
    await createService(env.kc, "apps", "web");
    expect(await waitForIPs(env.kc, "apps", "web")).toEqual({ ips: ["192.168.50.0"], pool: "owned" });
  });

  afterAll(async () => {
    await op?.stop();
  });

  const published = { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 0 };

  test("the operator publishes the counters", async () => {
    await waitFor("pool status published", async () => ((await poolStatus())?.availableIPv4 === 3 ? true : undefined), 10_000, 100);
    expect(await poolStatus()).toEqual(published);
  });

  test.each([
    ["availableIPv4 set to 99", { status: { availableIPv4: 99 } }],
    ["every counter changed", { status: { assignedIPv4: 7, assignedIPv6: 7, availableIPv4: 7, availableIPv6: 7 } }],
  ])("%s by hand: put back within 5 s", async (_d, patch) => {
    const res = await kubeRequest(env.kc, "PATCH", `${POOL_PATH}/status`, patch, "application/merge-patch+json");
    expect(res.status).toBe(200);
    const started = Date.now();
    await waitFor("pool status put back", async () => (JSON.stringify(await poolStatus()) === JSON.stringify(published) ? true : undefined), 5_000, 100);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await poolStatus()).toEqual(published);
  });
});
