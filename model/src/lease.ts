// Lease-based leader election, the decision part (pure): given the Lease as read, who we are and the time, what to
// write. The shell reads the Lease, calls decideLease, and writes the result with optimistic concurrency
// (resourceVersion), so two candidates can never both win the same round.

export interface LeaseState {
  holderIdentity: string;
  /** Milliseconds since the epoch; 0 when never renewed. */
  renewTimeMs: number;
  acquireTimeMs: number;
  leaseDurationSeconds: number;
  leaseTransitions: number;
}

export type LeaseDecision =
  | { action: "create"; lease: LeaseState }
  | { action: "update"; lease: LeaseState; acquired: boolean }
  | { action: "wait"; holder: string; expiresInMs: number };

/** True while the current holder's lease has not run out. */
export function leaseHeld(lease: LeaseState, nowMs: number): boolean {
  return lease.holderIdentity !== "" && nowMs < lease.renewTimeMs + lease.leaseDurationSeconds * 1000;
}

/**
 * What a candidate does this round: create the Lease if there is none, renew it if it holds it, take it over if it
 * is free or expired, otherwise wait.
 */
export function decideLease(current: LeaseState | undefined, identity: string, nowMs: number, leaseDurationSeconds: number): LeaseDecision {
  if (current === undefined) {
    return { action: "create", lease: { holderIdentity: identity, renewTimeMs: nowMs, acquireTimeMs: nowMs, leaseDurationSeconds, leaseTransitions: 0 } };
  }
  if (current.holderIdentity === identity) {
    return { action: "update", acquired: false, lease: { ...current, renewTimeMs: nowMs, leaseDurationSeconds } };
  }
  if (leaseHeld(current, nowMs)) {
    return { action: "wait", holder: current.holderIdentity, expiresInMs: current.renewTimeMs + current.leaseDurationSeconds * 1000 - nowMs };
  }
  return {
    action: "update",
    acquired: true,
    lease: { holderIdentity: identity, renewTimeMs: nowMs, acquireTimeMs: nowMs, leaseDurationSeconds, leaseTransitions: current.leaseTransitions + 1 },
  };
}

/** The Lease a leader writes when it steps down, so a standby can take over at once instead of waiting it out. */
export function releasedLease(current: LeaseState, nowMs: number): LeaseState {
  return { ...current, holderIdentity: "", renewTimeMs: nowMs, leaseDurationSeconds: 1 };
}
