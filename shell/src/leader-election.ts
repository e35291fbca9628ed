// Lease-based leader election (coordination.k8s.io/v1), the I/O shell around model/src/lease.ts.
// Every retry period the candidate reads the Lease, decides, and writes with the read resourceVersion; a conflict
// means another candidate won the round. A leader that cannot renew within the renew deadline steps down.
// stop() releases a held lease so a standby takes over at once.
import type * as k8s from "@kubernetes/client-node";
import { decideLease, releasedLease, type LeaseState } from "../../model/src/lease.js";
import { formatMicroTime, kubeRequest, statusMessage } from "./kube-raw.js";
import type { Logger } from "./logger.js";

export interface LeaderElectionOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  now?: () => number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
}

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

const parseTime = (t: string | undefined): number => (t === undefined ? 0 : Date.parse(t) || 0);

export function leaseStateFromObject(o: LeaseObject): LeaseState {
  return {
    holderIdentity: o.spec?.holderIdentity ?? "",
    renewTimeMs: parseTime(o.spec?.renewTime),
    acquireTimeMs: parseTime(o.spec?.acquireTime),
    leaseDurationSeconds: o.spec?.leaseDurationSeconds ?? 15,
    leaseTransitions: o.spec?.leaseTransitions ?? 0,
  };
}

function leaseSpec(s: LeaseState): NonNullable<LeaseObject["spec"]> {
  return {
    holderIdentity: s.holderIdentity,
    leaseDurationSeconds: s.leaseDurationSeconds,
    acquireTime: formatMicroTime(s.acquireTimeMs),
    renewTime: formatMicroTime(s.renewTimeMs),
    leaseTransitions: s.leaseTransitions,
  };
}

export class LeaderElector {
  private leading = false;
  private running = false;
  private lastRenewMs = 0;
  private lastSeenHolder = "";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly path: string;
  private readonly now: () => number;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(cb: LeaderCallbacks): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run(cb);
  }

  /** Stops campaigning; a leader releases the lease and gets onStoppedLeading. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(cb: LeaderCallbacks): Promise<void> {
    const retry = this.opts.retryPeriodMs ?? 2_000;
    const deadline = this.opts.renewDeadlineMs ?? 10_000;
    while (this.running) {
      try {
        await this.round(cb);
      } catch (e) {
        this.opts.log.warn({ err: e, lease: this.opts.name }, "leader election round failed");
      }
      if (this.leading && this.now() - this.lastRenewMs > deadline) {
        this.opts.log.warn({ lease: this.opts.name }, "could not renew the lease in time, stepping down");
        this.leading = false;
        cb.onStoppedLeading();
      }
      if (!this.running) break;
      await new Promise<void>((r) => {
        this.wake = r;
        this.timer = setTimeout(r, retry);
      });
    }
    if (this.leading) {
      this.leading = false;
      await this.release().catch((e: unknown) => this.opts.log.warn({ err: e }, "releasing the lease failed"));
      cb.onStoppedLeading();
    }
  }

  private async round(cb: LeaderCallbacks): Promise<void> {
    const { kc, name, namespace, identity } = this.opts;
    const got = await kubeRequest(kc, "GET", `${this.path}/${name}`);
    if (got.status !== 200 && got.status !== 404) throw new Error(`reading lease ${namespace}/${name}: ${statusMessage(got)}`);
    const obj = got.status === 200 ? (got.body as LeaseObject) : undefined;
    const current = obj === undefined ? undefined : leaseStateFromObject(obj);
    if (current !== undefined && current.holderIdentity !== this.lastSeenHolder) {
      this.lastSeenHolder = current.holderIdentity;
      if (current.holderIdentity !== "") cb.onNewLeader?.(current.holderIdentity);
    }
    const now = this.now();
    const decision = decideLease(current, identity, now, this.opts.leaseDurationSeconds ?? 15);
    if (decision.action === "wait") return;
    const body: LeaseObject = {
      metadata: { name, namespace, ...(obj?.metadata.resourceVersion !== undefined ? { resourceVersion: obj.metadata.resourceVersion } : {}) },
      spec: leaseSpec(decision.lease),
    };
    const res =
      decision.action === "create"
        ? await kubeRequest(kc, "POST", this.path, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...body })
        : await kubeRequest(kc, "PUT", `${this.path}/${name}`, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...body });
    if (res.status === 409) return; // someone else won this round
    if (res.status >= 300) throw new Error(`writing lease ${namespace}/${name}: ${statusMessage(res)}`);
    this.lastRenewMs = now;
    if (!this.leading) {
      this.leading = true;
      this.lastSeenHolder = identity;
      this.opts.log.info({ lease: name, identity }, "became leader");
      cb.onStartedLeading();
    }
  }

  private async release(): Promise<void> {
    const { kc, name } = this.opts;
    const got = await kubeRequest(kc, "GET", `${this.path}/${name}`);
    if (got.status !== 200) return;
    const obj = got.body as LeaseObject;
    const current = leaseStateFromObject(obj);
    if (current.holderIdentity !== this.opts.identity) return;
    await kubeRequest(kc, "PUT", `${this.path}/${name}`, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: obj.metadata,
      spec: leaseSpec(releasedLease(current, this.now())),
    });
    this.opts.log.info({ lease: name, identity: this.opts.identity }, "released the lease");
  }
}
