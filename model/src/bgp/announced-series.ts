// The series of metallb_speaker_announced for BGP (issue 18 item 4), as MetalLB's speaker sets them
// (speaker/main.go handleService / deleteBalancerProtocol): one gauge sample of value 1 per Service and IP this node
// announces, labels service ("namespace/name"), protocol ("bgp"), node and ip; the samples of a Service are deleted
// when it is withdrawn. Desired state, not session state: a Service counts as announced when this node's plan
// advertises it, whether or not the sessions are up. Pure: the speaker turns the diff into Gauge.set / Gauge.remove.

/** The label names of metallb_speaker_announced, in MetalLB's order. */
export const ANNOUNCED_LABEL_NAMES = ["service", "protocol", "node", "ip"] as const;

export interface AnnouncedSeries {
  readonly service: string;
  readonly protocol: "bgp";
  readonly node: string;
  readonly ip: string;
}

/** A Service this node announces by BGP and its IPs (status.loadBalancer.ingress, as text). */
export interface BgpAnnouncedService {
  readonly service: string;
  readonly ips: readonly string[];
}

const seriesKey = (s: AnnouncedSeries): string => `${s.service}\u0000${s.ip}`;

/** Every series for the node: one per Service and IP, sorted (service, then ip), duplicates merged. */
export function bgpAnnouncedSeries(node: string, services: readonly BgpAnnouncedService[]): AnnouncedSeries[] {
  const out = new Map<string, AnnouncedSeries>();
  for (const s of services) {
    for (const ip of s.ips) {
      const series: AnnouncedSeries = { service: s.service, protocol: "bgp", node, ip };
      out.set(seriesKey(series), series);
    }
  }
  return [...out.values()].sort((a, b) => (a.service !== b.service ? (a.service < b.service ? -1 : 1) : a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

export interface AnnouncedSeriesDiff {
  /** Series to set to 1 (new ones). */
  readonly set: AnnouncedSeries[];
  /** Series to remove (withdrawn Services, changed IPs). */
  readonly remove: AnnouncedSeries[];
}

/** What changes between the series exported now and the wanted ones; nothing when they are the same. */
export function diffAnnouncedSeries(have: readonly AnnouncedSeries[], want: readonly AnnouncedSeries[]): AnnouncedSeriesDiff {
  const key = (s: AnnouncedSeries): string => `${seriesKey(s)}\u0000${s.node}`;
  const haveKeys = new Set(have.map(key));
  const wantKeys = new Set(want.map(key));
  return { set: want.filter((s) => !haveKeys.has(key(s))), remove: have.filter((s) => !wantKeys.has(key(s))) };
}
