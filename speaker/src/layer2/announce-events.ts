// The Service Events of a Layer 2 announcement, in MetalLB's terms (speaker/main.go, layer2_controller.go):
// - Warning `announceFailed` when this node wins an IP but none of the interfaces its L2Advertisements name exists
//   (or is usable) here: nothing answers, and the Event tells the user why;
// - Normal `nodeAssigned` when this node starts announcing an IP, which also marks the end of a failure (the
//   interface appeared).
// Emitted once per transition of an IP, never again while the outcome stays the same (MetalLB repeats them on every
// sync). Pure: the caller reports each IP's outcome after every election and sends the Events it gets back.

export type AnnounceOutcome = "announced" | "announceFailed";

export interface ServiceEvent {
  /** "namespace/name" */
  service: string;
  type: "Normal" | "Warning";
  reason: "nodeAssigned" | "announceFailed";
  message: string;
}

export const LAYER2_PROTOCOL = "layer2";

export const announceFailedMessage = (ip: string, node: string): string =>
  `the interfaces specified by LB IP "${ip}" doesn't exist in assigned node "${node}" with protocol "${LAYER2_PROTOCOL}"`;

export const nodeAssignedMessage = (node: string): string => `announcing from node "${node}" with protocol "${LAYER2_PROTOCOL}"`;

export class AnnounceEventTracker {
  private readonly last = new Map<string, AnnounceOutcome>();

  constructor(private readonly node: string) {}

  /** The outcome last set for an IP (undefined: none). Lets callers skip set() cheaply when nothing changed. */
  outcomeOf(ip: string): AnnounceOutcome | undefined {
    return this.last.get(ip);
  }

  /**
   * The outcome of one IP now: announced, failed for want of an interface, or null (not this node's to announce).
   * Returns the Events the transition asks for (none when nothing changed or the IP is not announced any more).
   * `key` identifies the IP (its text, or any stable key); `ip` is its text for the message. `detail` is appended to
   * a nodeAssigned message: why ownership moved here (e.g. `owner silent: took over from node "node1"`).
   */
  set(ip: string, services: readonly string[], outcome: AnnounceOutcome | null, key: string = ip, detail?: string): ServiceEvent[] {
    const prev = this.last.get(key);
    if (outcome === null) {
      this.last.delete(key);
      return [];
    }
    if (prev === outcome) return [];
    this.last.set(key, outcome);
    return services.map((service) =>
      outcome === "announced"
        ? { service, type: "Normal", reason: "nodeAssigned", message: nodeAssignedMessage(this.node) + (detail === undefined ? "" : ` (${detail})`) }
        : { service, type: "Warning", reason: "announceFailed", message: announceFailedMessage(ip, this.node) },
    );
  }

  /** Forgets every IP (key) not in `ips` (left the plan). */
  retain(ips: ReadonlySet<string>): void {
    for (const ip of this.last.keys()) if (!ips.has(ip)) this.last.delete(ip);
  }
}
