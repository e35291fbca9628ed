// What a stopping speaker leaves announced (pure): the plan of its drain's last step.
//
// A speaker that stops (SIGTERM: rolling update, Pod deletion, node drain) first re-advertises with GRACEFUL_SHUTDOWN
// (model/src/frr/drain.ts), then withdraws. It cannot know whether a replacement is coming. The withdrawal is right
// for a peer without graceful restart: bgpd's exit would drop the routes there anyway, and the routers had time to
// move. It is wrong for a peer with graceful restart (BGPPeer enableGracefulRestart): bgpd stops without a
// NOTIFICATION when graceful restart is configured, so such a router keeps the node's routes as stale (RFC 4724,
// restart time 120 s) while the replacement's FRR comes up and re-advertises, and kube-proxy on the node keeps
// forwarding meanwhile. Withdrawing first would turn that restart into an outage whenever the node is the only one
// announcing (a one-node cluster, ETP=Local with one endpoint node, a nodeSelector'd advertisement): the rolling
// update of the speaker DaemonSet then dropped BGP traffic for 5–12 s. So the drain withdraws from the peers without
// graceful restart only.
import type { NodeBgpPlan } from "./plan.js";

/**
 * The plan after the drain: every prefix withdrawn from the peers without graceful restart, kept (with the
 * GRACEFUL_SHUTDOWN of the drain, so routers that have another path still prefer it) for the peers with it. Prefixes
 * left with no peer are dropped, and so are the outcomes of the Services no longer announced to any peer; without a
 * graceful restart peer this is the empty plan.
 */
export function planAfterDrain(plan: NodeBgpPlan): NodeBgpPlan {
  const keep = new Set(plan.sessions.filter((s) => s.enableGracefulRestart).map((s) => s.name));
  const announcements = plan.announcements.flatMap((a) => {
    const peers = a.peers.filter((p) => keep.has(p.peer));
    return peers.length > 0 ? [{ ...a, peers }] : [];
  });
  const services = plan.services.flatMap((s) => {
    if (!s.announced) return [];
    const peers = s.peers.filter((p) => keep.has(p));
    return peers.length > 0 ? [{ ...s, peers }] : [];
  });
  return { ...plan, announcements, services };
}
