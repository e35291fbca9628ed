// The speaker's Prometheus metrics, named as MetalLB's (and its frr-metrics exporter's) so dashboards and alerts
// port over. Values come from the last FRR state read; they are published at scrape time.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BfdPeerState, BgpSessionState } from "../../model/src/frr/state.js";

export interface FrrStateSource {
  sessions(): readonly BgpSessionState[];
  bfdPeers(): readonly BfdPeerState[];
}

type SessionField = (s: BgpSessionState) => number;
type BfdField = (b: BfdPeerState) => number | undefined;

export function registerSpeakerMetrics(
  registry: Registry,
  state: FrrStateSource,
): { k8sUpdates: Counter; k8sUpdateErrors: Counter; configLoaded: Gauge; configStale: Gauge; serviceToFrrApplied: Histogram } {
  // One collector shape for every per-peer metric: reset, then one sample per BGP session or BFD peer.
  type Kind = "gauge" | "counter";
  const peerMetric = (name: string, help: string, kind: Kind, rows: () => Array<{ peer: string; vrf: string; value: number | undefined }>): void => {
    const collect = function (this: Gauge | Counter): void {
      this.reset();
      for (const r of rows()) {
        if (r.value === undefined) continue;
        if (this instanceof Gauge) this.set({ peer: r.peer, vrf: r.vrf }, r.value);
        else this.inc({ peer: r.peer, vrf: r.vrf }, r.value);
      }
    };
    if (kind === "gauge") new Gauge({ name, help, labelNames: ["peer", "vrf"], registers: [registry], collect });
    else new Counter({ name, help, labelNames: ["peer", "vrf"], registers: [registry], collect });
  };
  const bgp = (name: string, help: string, kind: Kind, f: SessionField): void =>
    peerMetric(name, help, kind, () => state.sessions().map((s) => ({ peer: s.peerLabel, vrf: s.vrf, value: f(s) })));
  const bfd = (name: string, help: string, kind: Kind, f: BfdField): void =>
    peerMetric(name, help, kind, () => state.bfdPeers().map((b) => ({ peer: b.peer, vrf: b.vrf, value: f(b) })));
  bgp("metallb_bgp_session_up", "BGP session state (1 = Established)", "gauge", (s) => (s.established ? 1 : 0));
  bgp("metallb_bgp_announced_prefixes_total", "Number of prefixes currently advertised on the BGP session", "gauge", (s) => s.sentPrefixes);
  bgp("metallb_bgp_opens_sent", "Number of BGP open messages sent", "counter", (s) => s.messages.opensSent);
  bgp("metallb_bgp_opens_received", "Number of BGP open messages received", "counter", (s) => s.messages.opensRecv);
  bgp("metallb_bgp_notifications_sent", "Number of BGP notification messages sent", "counter", (s) => s.messages.notificationsSent);
  bgp("metallb_bgp_updates_total", "Number of BGP UPDATE messages sent", "counter", (s) => s.messages.updatesSent);
  bgp("metallb_bgp_updates_total_received", "Number of BGP UPDATE messages received", "counter", (s) => s.messages.updatesRecv);
  bgp("metallb_bgp_keepalives_sent", "Number of BGP keepalive messages sent", "counter", (s) => s.messages.keepalivesSent);
  bgp("metallb_bgp_keepalives_received", "Number of BGP keepalive messages received", "counter", (s) => s.messages.keepalivesRecv);
  bgp("metallb_bgp_route_refresh_sent", "Number of BGP route refresh messages sent", "counter", (s) => s.messages.routeRefreshSent);
  bgp("metallb_bgp_total_sent", "Number of BGP messages sent", "counter", (s) => s.messages.totalSent);
  bgp("metallb_bgp_total_received", "Number of BGP messages received", "counter", (s) => s.messages.totalRecv);
  bfd("metallb_bfd_session_up", "BFD session state (1 = up)", "gauge", (b) => (b.up ? 1 : 0));
  bfd("metallb_bfd_control_packet_input", "Number of BFD control packets received", "counter", (b) => b.counters?.controlIn);
  bfd("metallb_bfd_control_packet_output", "Number of BFD control packets sent", "counter", (b) => b.counters?.controlOut);
  bfd("metallb_bfd_echo_packet_input", "Number of BFD echo packets received", "counter", (b) => b.counters?.echoIn);
  bfd("metallb_bfd_echo_packet_output", "Number of BFD echo packets sent", "counter", (b) => b.counters?.echoOut);
  bfd("metallb_bfd_session_up_events", "Number of BFD session up events", "counter", (b) => b.counters?.sessionUp);
  bfd("metallb_bfd_session_down_events", "Number of BFD session down events", "counter", (b) => b.counters?.sessionDown);
  bfd("metallb_bfd_zebra_notifications", "Number of BFD zebra notifications", "counter", (b) => b.counters?.zebraNotifications);
  return {
    k8sUpdates: new Counter({ name: "metallb_k8s_client_updates_total", help: "Number of Kubernetes object updates processed", registers: [registry] }),
    k8sUpdateErrors: new Counter({
      name: "metallb_k8s_client_update_errors_total",
      help: "Number of Kubernetes object updates that failed",
      registers: [registry],
    }),
    configLoaded: new Gauge({
      name: "metallb_k8s_client_config_loaded_bool",
      help: "1 if a node configuration was applied at least once",
      registers: [registry],
    }),
    configStale: new Gauge({
      name: "metallb_k8s_client_config_stale_bool",
      help: "1 while the latest node configuration could not be applied",
      registers: [registry],
    }),
    serviceToFrrApplied: new Histogram({
      name: "metallb_ts_service_to_frr_applied_seconds",
      help: "Time from the operator's change of a Service's announcement entry to FRR on this node running it (clocks of two hosts)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

/**
 * metallb_speaker_announced{service,protocol,node,ip}: one gauge per registry, shared by the BGP path
 * (protocol="bgp") and the Layer 2 controller (protocol="layer2"), whichever asks first creates it.
 */
export function speakerAnnouncedGauge(registry: Registry): Gauge<"service" | "protocol" | "node" | "ip"> {
  const existing = registry.getSingleMetric("metallb_speaker_announced");
  if (existing instanceof Gauge) return existing;
  return new Gauge({
    name: "metallb_speaker_announced",
    help: "Services being announced from this node",
    labelNames: ["service", "protocol", "node", "ip"],
    registers: [registry],
  });
}
