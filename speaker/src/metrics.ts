// The speaker's Prometheus metrics, named as MetalLB's (and its frr-metrics exporter's) so dashboards and alerts
// port over. Values come from the last FRR state read; they are published at scrape time.
import { Counter, Gauge, type Registry } from "prom-client";
import type { BfdPeerState, BgpSessionState } from "../../model/src/frr/state.js";

export interface FrrStateSource {
  sessions(): readonly BgpSessionState[];
  bfdPeers(): readonly BfdPeerState[];
}

type SessionField = (s: BgpSessionState) => number;
type BfdField = (b: BfdPeerState) => number | undefined;

export function registerSpeakerMetrics(registry: Registry, state: FrrStateSource): { k8sUpdates: Counter; k8sUpdateErrors: Counter; configLoaded: Gauge; configStale: Gauge } {
  const bgpGauge = (name: string, help: string, f: SessionField): void => {
    new Gauge({
      name,
      help,
      labelNames: ["peer", "vrf"],
      registers: [registry],
      collect(): void {
        this.reset();
        for (const s of state.sessions()) this.set({ peer: s.peerLabel, vrf: s.vrf }, f(s));
      },
    });
  };
  const bgpCounter = (name: string, help: string, f: SessionField): void => {
    new Counter({
      name,
      help,
      labelNames: ["peer", "vrf"],
      registers: [registry],
      collect(): void {
        this.reset();
        for (const s of state.sessions()) this.inc({ peer: s.peerLabel, vrf: s.vrf }, f(s));
      },
    });
  };
  const bfd = (name: string, help: string, kind: "gauge" | "counter", f: BfdField): void => {
    const collect = function (this: Gauge | Counter): void {
      this.reset();
      for (const b of state.bfdPeers()) {
        const v = f(b);
        if (v === undefined) continue;
        if (this instanceof Gauge) this.set({ peer: b.peer, vrf: b.vrf }, v);
        else this.inc({ peer: b.peer, vrf: b.vrf }, v);
      }
    };
    if (kind === "gauge") new Gauge({ name, help, labelNames: ["peer", "vrf"], registers: [registry], collect });
    else new Counter({ name, help, labelNames: ["peer", "vrf"], registers: [registry], collect });
  };
  bgpGauge("metallb_bgp_session_up", "BGP session state (1 = Established)", (s) => (s.established ? 1 : 0));
  bgpGauge("metallb_bgp_announced_prefixes_total", "Number of prefixes currently advertised on the BGP session", (s) => s.sentPrefixes);
  bgpCounter("metallb_bgp_opens_sent", "Number of BGP open messages sent", (s) => s.messages.opensSent);
  bgpCounter("metallb_bgp_opens_received", "Number of BGP open messages received", (s) => s.messages.opensRecv);
  bgpCounter("metallb_bgp_notifications_sent", "Number of BGP notification messages sent", (s) => s.messages.notificationsSent);
  bgpCounter("metallb_bgp_updates_total", "Number of BGP UPDATE messages sent", (s) => s.messages.updatesSent);
  bgpCounter("metallb_bgp_updates_total_received", "Number of BGP UPDATE messages received", (s) => s.messages.updatesRecv);
  bgpCounter("metallb_bgp_keepalives_sent", "Number of BGP keepalive messages sent", (s) => s.messages.keepalivesSent);
  bgpCounter("metallb_bgp_keepalives_received", "Number of BGP keepalive messages received", (s) => s.messages.keepalivesRecv);
  bgpCounter("metallb_bgp_route_refresh_sent", "Number of BGP route refresh messages sent", (s) => s.messages.routeRefreshSent);
  bgpCounter("metallb_bgp_total_sent", "Number of BGP messages sent", (s) => s.messages.totalSent);
  bgpCounter("metallb_bgp_total_received", "Number of BGP messages received", (s) => s.messages.totalRecv);
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
    k8sUpdateErrors: new Counter({ name: "metallb_k8s_client_update_errors_total", help: "Number of Kubernetes object updates that failed", registers: [registry] }),
    configLoaded: new Gauge({ name: "metallb_k8s_client_config_loaded_bool", help: "1 if a node configuration was applied at least once", registers: [registry] }),
    configStale: new Gauge({ name: "metallb_k8s_client_config_stale_bool", help: "1 while the latest node configuration could not be applied", registers: [registry] }),
  };
}
