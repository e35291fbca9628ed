// When an owner re-probes the IPs it announces (ARP probe / DAD solicitation), so that a second station answering
// for one of them shows itself (DuplicateResponder). Every probe is a broadcast (or multicast) on the node's LAN:
// probing each of 2,500 owned IPs every 2 s sent 1,250 broadcasts a second per node and cost the speaker about a
// tenth of a core in a quiet cluster. So the probes go out in rounds: a round covers every owned IP once, spread
// evenly over the round, and lasts the interval or, with more IPs than the budget allows in it, count / budget.
// A duplicate is then seen within one round (2 s for up to 100 IPs at 50 a second, 50 s for 2,500).
//
// Pure: the shell ticks at a fixed period and asks how many of the round's IPs are due.

export interface ProbeRoundTiming {
  /** Shortest round: how often an IP is probed when there are few. */
  readonly intervalMs: number;
  /** Most IPs probed per second (each on its interfaces). */
  readonly perSecond: number;
  /** The shell's tick period. */
  readonly tickMs: number;
}

export const DEFAULT_PROBE_ROUND_TIMING: ProbeRoundTiming = Object.freeze({ intervalMs: 2_000, perSecond: 50, tickMs: 100 });

/** Ticks one round over `count` IPs lasts (0 for none: a new round starts at the next tick). */
export function probeRoundTicks(count: number, t: ProbeRoundTiming): number {
  if (count <= 0) return 0;
  const ms = Math.max(t.intervalMs, (count / t.perSecond) * 1_000);
  return Math.max(1, Math.ceil(ms / t.tickMs));
}

/**
 * How many of a round's `count` IPs are due by its tick `tick` (1 = the round's first): the i-th (from 0) is due at
 * tick 1 + floor(i × roundTicks / count), so they spread evenly and the first goes at once. That is the number of i
 * with i × roundTicks / count < tick.
 */
export function probesDueBy(tick: number, count: number, roundTicks: number): number {
  if (count <= 0 || tick <= 0 || roundTicks <= 0) return 0;
  return Math.min(count, Math.ceil((tick * count) / roundTicks));
}
