import { describe, expect, test } from "@jest/globals";
import { peersUpdated, type DrainStep } from "./drain.js";
import type { BgpSessionState } from "./state.js";

function session(neighbor: string, established: boolean, sentPrefixes: number, updatesSent: number): BgpSessionState {
  return {
    vrf: "default",
    neighbor,
    peerLabel: `${neighbor}:179`,
    state: established ? "Established" : "Active",
    established,
    remoteAs: 64500,
    uptimeMs: 0,
    connectionsEstablished: 1,
    connectionsDropped: 0,
    sentPrefixes,
    receivedPrefixes: 0,
    messages: {
      opensSent: 1,
      opensRecv: 1,
      notificationsSent: 0,
      updatesSent,
      updatesRecv: 0,
      keepalivesSent: 0,
      keepalivesRecv: 0,
      routeRefreshSent: 0,
      totalSent: 0,
      totalRecv: 0,
    },
    bfdStatus: null,
  };
}

describe("peersUpdated: has FRR told the peers about a drain step", () => {
  test.each<[desc: string, step: DrainStep, before: BgpSessionState[], now: BgpSessionState[], want: boolean]>([
    ["GSHUT: an UPDATE went out to the peer that had prefixes", "gracefulShutdown", [session("a", true, 2, 5)], [session("a", true, 2, 6)], true],
    ["GSHUT: not yet (same UPDATE count)", "gracefulShutdown", [session("a", true, 2, 5)], [session("a", true, 2, 5)], false],
    [
      "GSHUT: one of two peers not yet",
      "gracefulShutdown",
      [session("a", true, 2, 5), session("b", true, 2, 5)],
      [session("a", true, 2, 6), session("b", true, 2, 5)],
      false,
    ],
    ["GSHUT: a peer without prefixes needs nothing", "gracefulShutdown", [session("a", true, 0, 5)], [session("a", true, 0, 5)], true],
    ["GSHUT: a peer that went down needs nothing", "gracefulShutdown", [session("a", true, 2, 5)], [session("a", false, 0, 5)], true],
    ["GSHUT: a peer gone from FRR needs nothing", "gracefulShutdown", [session("a", true, 2, 5)], [], true],
    ["GSHUT: a session not Established before is not waited for", "gracefulShutdown", [session("a", false, 0, 0)], [session("a", true, 2, 1)], true],
    ["withdrawn: no prefix sent to any Established peer", "withdrawn", [session("a", true, 2, 5)], [session("a", true, 0, 6)], true],
    ["withdrawn: a prefix still sent", "withdrawn", [session("a", true, 2, 5)], [session("a", true, 1, 6)], false],
    ["withdrawn: a down session counts as told", "withdrawn", [session("a", true, 2, 5)], [session("a", false, 2, 5)], true],
  ])("%s", (_desc, step, before, now, want) => {
    expect(peersUpdated(step, before, now)).toBe(want);
  });
});
