// A phi-accrual failure detector (Hayashibara et al. 2004, as Cassandra and Akka use it) for one peer's heartbeats.
// Instead of a fixed "dead after N ms", it keeps a window of the observed inter-arrival times and says how unlikely
// the current silence is under that distribution: phi = -log10(P(a gap at least this long)). A peer whose heartbeats
// arrive like clockwork is suspected soon after they stop; one on a busy node, whose gaps spread out, gets more time.
//
// Like Akka's detector (akka.remote.PhiAccrualFailureDetector), the mean is padded with an "acceptable pause" (a GC
// pause or a CPU-quota throttle of the sender must not look like death) and the standard deviation has a floor
// (heartbeats on an idle LAN are so regular that a few ms of jitter would otherwise be fatal). The normal CDF is
// Akka's logistic approximation, which is monotonic and cheap; `silenceForPhi` inverts it, so the shell can arm
// one timer for the moment a peer becomes suspect instead of polling phi.
//
// Pure: times are passed in (ms of one monotonic clock); no I/O.

export interface PhiTiming {
  /** How many inter-arrival samples the window keeps (the oldest drops out). */
  readonly windowSize: number;
  /** Floor of the standard deviation used in phi. */
  readonly minStdDevMs: number;
  /** Added to the mean: a gap this much longer than usual costs nothing. */
  readonly acceptablePauseMs: number;
  /** Mean assumed before the first sample (the sender's configured interval). */
  readonly expectedIntervalMs: number;
  /** No silence threshold is ever above this (bounds failover time whatever the history). */
  readonly maxSuspectAfterMs: number;
}

/** phi of a silence of `silenceMs` given a mean and a standard deviation (Akka's logistic approximation of the CDF). */
export function phiOf(silenceMs: number, meanMs: number, stdDevMs: number): number {
  const y = (silenceMs - meanMs) / stdDevMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  // Above the mean: -log10(P(X > t)) = -log10(e / (1 + e)); below: -log10(1 - 1 / (1 + e)) (the same, written so
  // that neither branch loses precision).
  return silenceMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

/** The y (in standard deviations above the mean) at which phi reaches `threshold`; bisection on a monotonic function. */
export function zForPhi(threshold: number): number {
  if (!(threshold > 0)) throw new RangeError("phi threshold must be positive");
  let lo = -10;
  let hi = 60;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (phiOf(mid, 0, 1) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Inter-arrival statistics of one peer: a ring buffer with running sums (O(1) per sample). */
export class ArrivalWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private sum = 0;
  private sumSq = 0;

  constructor(private readonly timing: PhiTiming) {}

  get size(): number {
    return this.samples.length;
  }

  add(intervalMs: number): void {
    if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) return;
    if (this.samples.length < this.timing.windowSize) {
      this.samples.push(intervalMs);
    } else {
      const old = this.samples[this.next] ?? 0;
      this.sum -= old;
      this.sumSq -= old * old;
      this.samples[this.next] = intervalMs;
      this.next = (this.next + 1) % this.timing.windowSize;
    }
    this.sum += intervalMs;
    this.sumSq += intervalMs * intervalMs;
  }

  /** Mean of the samples (the expected interval before any), without the acceptable pause. */
  meanMs(): number {
    return this.samples.length === 0 ? this.timing.expectedIntervalMs : this.sum / this.samples.length;
  }

  /** Standard deviation with the floor applied. */
  stdDevMs(): number {
    const n = this.samples.length;
    if (n < 2) return this.timing.minStdDevMs;
    const mean = this.sum / n;
    const variance = Math.max(0, this.sumSq / n - mean * mean);
    return Math.max(Math.sqrt(variance), this.timing.minStdDevMs);
  }

  /** phi of a silence of `silenceMs`. */
  phi(silenceMs: number): number {
    return phiOf(silenceMs, this.meanMs() + this.timing.acceptablePauseMs, this.stdDevMs());
  }

  /** The silence (ms) at which phi reaches the threshold whose z is `z` (see zForPhi), capped at maxSuspectAfterMs. */
  silenceForZ(z: number): number {
    const t = this.meanMs() + this.timing.acceptablePauseMs + z * this.stdDevMs();
    return Math.min(t, this.timing.maxSuspectAfterMs);
  }
}
