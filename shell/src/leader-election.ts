// Lease-based leader election (coordination.k8s.io/v1), the I/O shell around model/src/lease.ts, with client-go's
// semantics:
// - a candidate judges expiry by the local monotonic time at which it last saw the Lease record change, never by the
//   holder's renewTime against its own clock (observeLease / decideLease);
// - the leader renews every retry period; each attempt (read and write) is bounded by what is left of the renew
//   deadline, counted from the start of the last successful renewal; the deadline is shorter than the lease;
// - as soon as that deadline passes without a successful renewal the leader stops: a timer calls onStoppedLeading,
//   and a write guard on the KubeConfig's client refuses every write of this process from that instant on, so a
//   leader that was frozen (SIGSTOP, a long GC pause, a starved VM) sends nothing once it runs again, whatever callback
//   runs first. Like client-go, a leader that lost the lease does not campaign again: the process is expected to exit
//   (the operator's main does) and a fresh one to start.
// stop() releases a held lease so a standby takes over at once.
import type { KubeConfigLike } from "./kubeconfig.js";
import { performance } from "node:perf_hooks";
import {
  checkElectionTimings,
  decideLease,
  leaderMayWrite,
  observeLease,
  releasedLease,
  type LeaseObservation,
  type LeaseState,
} from "../../model/src/lease.js";
import { kubeClientFor, type KubeClient } from "./kube-client.js";
import { formatMicroTime, statusMessage } from "./kube-raw.js";
import type { Logger } from "./logger.js";

export interface LeaderElectionOptions {
  kc: KubeConfigLike;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Wall clock, only written into the Lease (renewTime, acquireTime). */
  now?: () => number;
  /** Monotonic clock that judges expiry and the renew deadline (default performance.now). */
  monoNow?: () => number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
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

/** candidate: campaigning, never led; leading: holds the lease; lost: led and stopped (writes refused); stopped: stop() was called. */
type Phase = "candidate" | "leading" | "lost" | "stopped";

export class LeaderElector {
  private phase: Phase = "candidate";
  private running = false;
  /** Monotonic start of the last successful renewal (or acquisition). */
  private renewedAt = 0;
  private observation: LeaseObservation | undefined;
  /** The Lease as we last read or wrote it (its resourceVersion lets the leader renew without reading first). */
  private last: LeaseObject | undefined;
  private lastSeenHolder = "";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private removeGuard: (() => void) | undefined;
  private callbacks: LeaderCallbacks | undefined;
  private readonly path: string;
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly client: KubeClient;
  private readonly leaseSeconds: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
    this.now = opts.now ?? Date.now;
    this.mono = opts.monoNow ?? ((): number => performance.now());
    this.client = kubeClientFor(opts.kc);
    this.leaseSeconds = opts.leaseDurationSeconds ?? 15;
    this.deadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    const bad = checkElectionTimings(this.leaseSeconds, this.deadlineMs, this.retryMs);
    if (bad !== undefined) throw new Error(`leader election: ${bad}`);
  }

  /** True only while this replica holds the lease and is within its renew deadline. */
  get isLeader(): boolean {
    return this.phase === "leading" && leaderMayWrite(this.renewedAt, this.mono(), this.deadlineMs);
  }

  start(cb: LeaderCallbacks): void {
    if (this.running || this.phase !== "candidate") return;
    this.running = true;
    this.callbacks = cb;
    // Every write of this process passes here right before it is sent.
    this.removeGuard = this.client.addWriteGuard(() => this.refusal());
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the lease and gets onStoppedLeading. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    if (this.phase === "leading") {
      if (this.isLeader) await this.release().catch((e: unknown) => this.opts.log.warn({ err: e }, "releasing the lease failed"));
      this.leave("stopped", "stopped");
    }
    this.phase = "stopped";
    this.removeGuard?.();
    this.removeGuard = undefined;
  }

  /** Why a write must not be sent now, or undefined. */
  private refusal(): string | undefined {
    if (this.phase === "lost") return `lost the lease ${this.opts.namespace}/${this.opts.name}`;
    if (this.phase === "leading" && !this.isLeader)
      return `lease ${this.opts.namespace}/${this.opts.name} not renewed within the renew deadline (${this.deadlineMs} ms)`;
    return undefined;
  }

  private async run(): Promise<void> {
    while (this.running && (this.phase === "candidate" || this.phase === "leading")) {
      try {
        await this.round();
      } catch (e) {
        this.opts.log.warn({ err: e, lease: this.opts.name }, "leader election round failed");
      }
      if (this.phase === "leading" && !this.isLeader) this.leave("lost", "renew deadline passed");
      if (!this.running) break; // stop(), or lost (leave() stops campaigning)
      await new Promise<void>((r) => {
        this.wake = r;
        this.timer = setTimeout(r, this.retryMs);
      });
    }
  }

  /** Milliseconds a request of this round may take: what is left of the renew deadline (a candidate: the deadline). */
  private budget(): number {
    return this.phase === "leading" ? this.renewedAt + this.deadlineMs - this.mono() : this.deadlineMs;
  }

  private async round(): Promise<void> {
    const started = this.mono();
    if (this.phase === "leading" && this.last !== undefined && (await this.renewFast(started))) return;
    const { name, namespace, identity } = this.opts;
    const budget = this.budget();
    if (budget <= 0) return;
    const got = await this.client.request("GET", `${this.path}/${name}`, undefined, "application/json", { deadlineMs: budget });
    if (got.status !== 200 && got.status !== 404) throw new Error(`reading lease ${namespace}/${name}: ${statusMessage(got)}`);
    const obj = got.status === 200 ? (got.body as LeaseObject) : undefined;
    const current = obj === undefined ? undefined : leaseStateFromObject(obj);
    const readAt = this.mono();
    if (current !== undefined) this.observe(obj, current, readAt);
    if (current !== undefined && current.holderIdentity !== identity && this.phase === "leading") {
      // Someone else holds it (we were too slow): stop now rather than at the deadline.
      this.leave("lost", `lease taken by ${current.holderIdentity}`);
      return;
    }
    const decision = decideLease(current, this.observation, identity, { wallMs: this.now(), monoMs: readAt }, this.leaseSeconds);
    if (decision.action === "wait") return;
    const body: LeaseObject = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace, ...(obj?.metadata.resourceVersion !== undefined ? { resourceVersion: obj.metadata.resourceVersion } : {}) },
      spec: leaseSpec(decision.lease),
    };
    await this.write(decision.action === "create" ? "POST" : "PUT", body, decision.lease, started);
  }

  /** The leader's renewal without reading first (client-go's fast path): a PUT on the resourceVersion it last wrote. */
  private async renewFast(started: number): Promise<boolean> {
    const last = this.last;
    if (last === undefined) return false;
    const lease = { ...leaseStateFromObject(last), renewTimeMs: this.now() };
    const { name, namespace, resourceVersion } = last.metadata;
    const body: LeaseObject = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
      spec: leaseSpec(lease),
    };
    try {
      return await this.write("PUT", body, lease, started);
    } catch (e) {
      this.opts.log.debug({ err: e, lease: this.opts.name }, "renewing without a read failed; reading the lease");
      return false;
    }
  }

  /** Writes the Lease; on success records the renewal (started = when this attempt began). False on a conflict. */
  private async write(method: "POST" | "PUT", body: LeaseObject, lease: LeaseState, started: number): Promise<boolean> {
    const { name, namespace, identity } = this.opts;
    const budget = this.budget();
    if (budget <= 0) return false;
    const res = await this.client.request(method, method === "POST" ? this.path : `${this.path}/${name}`, body, "application/json", { deadlineMs: budget });
    if (res.status === 409) {
      this.last = undefined;
      return false; // someone else wrote it since our read
    }
    if (res.status >= 300) throw new Error(`writing lease ${namespace}/${name}: ${statusMessage(res)}`);
    const written = res.body as LeaseObject;
    this.last = written;
    this.observe(written, lease, this.mono());
    if (this.phase === "lost" || this.phase === "stopped") return true;
    this.renewedAt = started;
    this.armDeadline();
    if (this.phase === "candidate") {
      this.phase = "leading";
      this.opts.log.info({ lease: name, identity }, "became leader");
      this.callbacks?.onStartedLeading();
    }
    return true;
  }

  private observe(obj: LeaseObject | undefined, current: LeaseState, at: number): void {
    this.observation = observeLease(this.observation, current, at);
    if (obj !== undefined && current.holderIdentity !== this.opts.identity) this.last = undefined;
    if (current.holderIdentity !== this.lastSeenHolder) {
      this.lastSeenHolder = current.holderIdentity;
      if (current.holderIdentity !== "") this.callbacks?.onNewLeader?.(current.holderIdentity);
    }
  }

  /** Steps down the moment the renew deadline passes, even while a renewal hangs. */
  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    const check = (): void => {
      this.deadlineTimer = undefined;
      if (this.phase !== "leading") return;
      const left = this.renewedAt + this.deadlineMs - this.mono();
      if (left > 0) {
        this.deadlineTimer = setTimeout(check, left);
        return;
      }
      this.leave("lost", "renew deadline passed");
    };
    this.deadlineTimer = setTimeout(check, Math.max(0, this.renewedAt + this.deadlineMs - this.mono()));
  }

  private leave(phase: "lost" | "stopped", reason: string): void {
    if (this.phase !== "leading") return;
    this.phase = phase;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    const overdueMs = Math.round(this.mono() - (this.renewedAt + this.deadlineMs));
    const fields = { lease: this.opts.name, identity: this.opts.identity, reason, overdueMs };
    if (phase === "lost") this.opts.log.warn(fields, "stopped leading: not writing anymore");
    if (phase === "lost") {
      this.running = false;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.wake?.();
    }
    this.callbacks?.onStoppedLeading();
  }

  private async release(): Promise<void> {
    const { name } = this.opts;
    const got = await this.client.request("GET", `${this.path}/${name}`, undefined, "application/json", { deadlineMs: this.budget() });
    if (got.status !== 200) return;
    const obj = got.body as LeaseObject;
    const current = leaseStateFromObject(obj);
    if (current.holderIdentity !== this.opts.identity) return;
    const res = await this.client.request(
      "PUT",
      `${this.path}/${name}`,
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: obj.metadata, spec: leaseSpec(releasedLease(current, this.now())) },
      "application/json",
      { deadlineMs: this.budget() },
    );
    if (res.status >= 300) throw new Error(`releasing lease: ${statusMessage(res)}`);
    this.opts.log.info({ lease: name, identity: this.opts.identity }, "released the lease");
  }
}
