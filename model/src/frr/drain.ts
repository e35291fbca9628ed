// Make before break when a speaker stops (pure): the two steps of its BGP drain and when FRR has told the peers.
//  1. "gracefulShutdown": every prefix is re-advertised with the GRACEFUL_SHUTDOWN community (RFC 8326; FRR's
//     `bgp graceful-shutdown`, which also sends LOCAL_PREF 0 to iBGP peers), so routers move the traffic to the other
//     nodes while this node still forwards it;
//  2. "withdrawn": the prefixes are withdrawn (sessions stay until FRR stops), so nothing is left to the hold timer.
import type { BgpSessionState } from "./state.js";

export type DrainStep = "gracefulShutdown" | "withdrawn";

const sessionKey = (s: BgpSessionState): string => `${s.vrf}|${s.neighbor}`;

/**
 * Whether FRR has sent what `step` changes to every peer that needs it, from its neighbor counters read `before` the
 * step was applied and `now`:
 * - gracefulShutdown: every session that was Established and had prefixes sent has sent an UPDATE since (or is no
 *   longer Established: nothing left to tell it);
 * - withdrawn: no Established session has a prefix sent any more (FRR drops a prefix from its adj-out once the
 *   withdrawal is sent).
 */
export function peersUpdated(step: DrainStep, before: readonly BgpSessionState[], now: readonly BgpSessionState[]): boolean {
  if (step === "withdrawn") return now.every((s) => !s.established || s.sentPrefixes === 0);
  const current = new Map(now.map((s) => [sessionKey(s), s]));
  return before
    .filter((s) => s.established && s.sentPrefixes > 0)
    .every((b) => {
      const n = current.get(sessionKey(b));
      return n === undefined || !n.established || n.messages.updatesSent > b.messages.updatesSent;
    });
}
