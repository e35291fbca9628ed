// Two electors in one process, each with its own KubeConfig (own pooled client), against the real apiserver, one of
// them with a wall clock an hour off: expiry is judged by local observation of the record, so skew neither lets the
// standby take a live lease nor leaves a dead holder's lease stuck.
import { afterEach, describe, expect, test } from "@jest/globals";
import { createTestNamespace, useControlPlane } from "../../testenv/src/kube.js";
import { sleep, waitFor } from "../../testenv/src/proc.js";
import { kubeClientFor } from "./kube-client.js";
import { kubeRequest } from "./kube-raw.js";
import { LeaderElector } from "./leader-election.js";
import { jsonLogger } from "./logger.js";

const env = useControlPlane();
const log = jsonLogger({ write: () => undefined });
const HOUR = 3_600_000;
const LEASE_S = 2;
const DEADLINE_MS = 1_500;
const RETRY_MS = 200;

interface Candidate {
  elector: LeaderElector;
  events: string[];
}

function candidate(ns: string, identity: string, skewMs: number): Candidate {
  const events: string[] = [];
  const elector = new LeaderElector({
    kc: env.cp.kubeConfig(),
    namespace: ns,
    name: "skew",
    identity,
    log,
    leaseDurationSeconds: LEASE_S,
    renewDeadlineMs: DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    now: () => Date.now() + skewMs,
  });
  elector.start({ onStartedLeading: () => events.push("started"), onStoppedLeading: () => events.push("stopped") });
  return { elector, events };
}

async function holder(ns: string): Promise<{ holder: string; transitions: number }> {
  const res = await kubeRequest(env.kc, "GET", `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/skew`);
  const spec = (res.body as { spec?: { holderIdentity?: string; leaseTransitions?: number } }).spec;
  return { holder: spec?.holderIdentity ?? "", transitions: spec?.leaseTransitions ?? 0 };
}

describe("leader election with skewed wall clocks", () => {
  const running: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((e) => e.stop()));
  });

  test.each([
    ["the holder's clock is 1 h behind", -HOUR, 0],
    ["the standby's clock is 1 h ahead", 0, HOUR],
  ])(
    "%s: the standby never takes the live lease",
    async (_d, holderSkew, standbySkew) => {
      const ns = await createTestNamespace(env.kc, "skew-live");
      const a = candidate(ns, "a", holderSkew);
      running.push(a.elector);
      await waitFor("a leads", () => (a.elector.isLeader ? true : undefined), 10_000, 20);
      const b = candidate(ns, "b", standbySkew);
      running.push(b.elector);
      // Three lease durations: by the record's renewTime against b's clock, a's lease looked expired all along.
      await sleep(3 * LEASE_S * 1000);
      expect(b.events).toEqual([]);
      expect(a.events).toEqual(["started"]);
      expect(await holder(ns)).toEqual({ holder: "a", transitions: 0 });
    },
    60_000,
  );

  test("the holder's clock is 1 h ahead and it stops renewing: the standby takes over after one lease duration, not an hour", async () => {
    const ns = await createTestNamespace(env.kc, "skew-dead");
    const aKc = env.cp.kubeConfig();
    const events: string[] = [];
    const a = new LeaderElector({
      kc: aKc,
      namespace: ns,
      name: "skew",
      identity: "a",
      log,
      leaseDurationSeconds: LEASE_S,
      renewDeadlineMs: DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      now: () => Date.now() + HOUR,
    });
    a.start({ onStartedLeading: () => events.push("started"), onStoppedLeading: () => events.push("stopped") });
    running.push(a);
    await waitFor("a leads", () => (a.isLeader ? true : undefined), 10_000, 20);
    const b = candidate(ns, "b", 0);
    running.push(b.elector);
    await sleep(3 * RETRY_MS);
    // a's process can no longer write (as if its network were cut): it cannot renew.
    const cut = kubeClientFor(aKc).addWriteGuard(() => "network cut (test)");
    const cutAt = Date.now();
    await waitFor("b leads", () => (b.elector.isLeader ? true : undefined), 10_000, 20);
    const takeoverMs = Date.now() - cutAt;
    cut();
    // a stepped down at its own renew deadline, before b could take over.
    expect(events).toEqual(["started", "stopped"]);
    expect(a.isLeader).toBe(false);
    expect(await holder(ns)).toEqual({ holder: "b", transitions: 1 });
    process.stderr.write(`[skew] holder 1 h ahead stopped renewing; standby took over after ${takeoverMs} ms (lease ${LEASE_S} s)\n`);
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_S * 1000 - 2 * RETRY_MS);
    expect(takeoverMs).toBeLessThan(LEASE_S * 1000 + 3 * RETRY_MS + 500);
  }, 60_000);
});
