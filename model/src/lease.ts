// Lease-based leader election, the decision part (pure), with client-go's semantics: a candidate never compares the
// holder's renewTime with its own wall clock. It remembers the record as last read and the LOCAL monotonic time at
// which it last saw that record change; the lease has run out when the record has not changed for leaseDuration of
// local time. Clock skew between replicas therefore neither lets a candidate take a live lease (holder's clock behind)
// nor leaves a dead holder's lease stuck (holder's clock ahead). Only the rate at which clocks advance matters, and
// the leader's renew deadline (shorter than the lease) leaves the margin for that.
//
// The shell reads the Lease, calls observeLease then decideLease, and writes the result with optimistic concurrency
// (resourceVersion), so two candidates can never both win the same round; the leader writes only while
// leaderMayWrite holds.

export interface LeaseState {
  holderIdentity: string;
  /** Milliseconds since the epoch, by the writer's wall clock (informational: never used to judge expiry). */
  renewTimeMs: number;
  acquireTimeMs: number;
  leaseDurationSeconds: number;
  leaseTransitions: number;
}

/** What a candidate knows: the record as last read, and the local monotonic time at which it last changed. */
export interface LeaseObservation {
  record: LeaseState;
  observedAtMs: number;
}

export type LeaseDecision =
  | { action: "create"; lease: LeaseState }
  | { action: "update"; lease: LeaseState; acquired: boolean }
  | { action: "wait"; holder: string; expiresInMs: number };

export interface LeaseClock {
  /** Wall clock (ms since the epoch): only written into the record. */
  wallMs: number;
  /** Local monotonic clock (ms): judges expiry. */
  monoMs: number;
}

function sameRecord(a: LeaseState, b: LeaseState): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.renewTimeMs === b.renewTimeMs &&
    a.acquireTimeMs === b.acquireTimeMs &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** The observation after reading `current`: unchanged if the record is the same, else stamped with the local time. */
export function observeLease(prev: LeaseObservation | undefined, current: LeaseState, monoMs: number): LeaseObservation {
  if (prev !== undefined && sameRecord(prev.record, current)) return prev;
  return { record: current, observedAtMs: monoMs };
}

/** Local milliseconds until the observed holder's lease runs out (≤ 0: it has; no holder: it is free). */
export function observedExpiresInMs(obs: LeaseObservation, monoMs: number): number {
  if (obs.record.holderIdentity === "") return 0;
  return obs.observedAtMs + obs.record.leaseDurationSeconds * 1000 - monoMs;
}

/**
 * What a candidate does this round, given the Lease as read (undefined: none exists) and its observation updated
 * with that read: create the Lease if there is none, renew it if it holds it, take it over if it is free or its
 * record has not changed for a lease duration of local time, otherwise wait.
 */
export function decideLease(
  current: LeaseState | undefined,
  observation: LeaseObservation | undefined,
  identity: string,
  clock: LeaseClock,
  leaseDurationSeconds: number,
): LeaseDecision {
  const { wallMs } = clock;
  if (current === undefined) {
    return { action: "create", lease: { holderIdentity: identity, renewTimeMs: wallMs, acquireTimeMs: wallMs, leaseDurationSeconds, leaseTransitions: 0 } };
  }
  if (current.holderIdentity === identity) {
    return { action: "update", acquired: false, lease: { ...current, renewTimeMs: wallMs, leaseDurationSeconds } };
  }
  const obs = observation !== undefined && sameRecord(observation.record, current) ? observation : { record: current, observedAtMs: clock.monoMs };
  const expiresInMs = observedExpiresInMs(obs, clock.monoMs);
  if (current.holderIdentity !== "" && expiresInMs > 0) return { action: "wait", holder: current.holderIdentity, expiresInMs };
  return {
    action: "update",
    acquired: true,
    lease: { holderIdentity: identity, renewTimeMs: wallMs, acquireTimeMs: wallMs, leaseDurationSeconds, leaseTransitions: current.leaseTransitions + 1 },
  };
}

/**
 * Whether a leader may still act: only until `renewDeadlineMs` of local time after the start of its last successful
 * renewal. Others see that renewal no earlier than it started and wait a whole lease duration (longer than the
 * deadline) from then, so the old leader has stopped before anyone else can start.
 */
export function leaderMayWrite(lastRenewStartMonoMs: number, monoMs: number, renewDeadlineMs: number): boolean {
  return monoMs < lastRenewStartMonoMs + renewDeadlineMs;
}

/** client-go's constraints: leaseDuration > renewDeadline > retryPeriod (× its 1.2 jitter). Returns a problem or undefined. */
export function checkElectionTimings(leaseDurationSeconds: number, renewDeadlineMs: number, retryPeriodMs: number): string | undefined {
  if (!(leaseDurationSeconds * 1000 > renewDeadlineMs))
    return `the lease duration (${leaseDurationSeconds} s) must be longer than the renew deadline (${renewDeadlineMs} ms)`;
  if (!(renewDeadlineMs > retryPeriodMs * 1.2))
    return `the renew deadline (${renewDeadlineMs} ms) must be longer than 1.2 × the retry period (${retryPeriodMs} ms)`;
  if (!(retryPeriodMs > 0)) return "the retry period must be positive";
  return undefined;
}

/** The Lease a leader writes when it steps down, so a standby can take over at once instead of waiting it out. */
export function releasedLease(current: LeaseState, nowMs: number): LeaseState {
  return { ...current, holderIdentity: "", renewTimeMs: nowMs, leaseDurationSeconds: 1 };
}
