// An on-demand apiserver reachability probe for Layer 2 self-fencing: GET /readyz with a short timeout over a
// keep-alive connection. Any HTTP answer proves this node is not cut off from the control plane. It only asks when
// `needed()` says this node has had no other contact lately (a heartbeat from a peer is contact too), so with live
// peers it sends nothing: 1,000 speakers do not poll the apiserver, and one alone still does not fence itself.
// A failed probe (refused, reset, timed out) is reported too: with no peer heard, it is the evidence of isolation
// the tracker needs before this node fences itself; a slow but answering apiserver never is.
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { kubeClientFor } from "../../../shell/src/kube-client.js";

export interface ApiserverProbeOptions {
  kc: KubeConfigLike;
  intervalMs: number;
  timeoutMs: number;
  /** Called after every answered probe. */
  onReachable: () => void;
  /** Called after every failed probe, with the clock() time it was sent at. */
  onUnreachable?: (sentAtMs: number) => void;
  /** Monotonic clock (ms) for onUnreachable; default performance.now via Date.now. */
  clock?: () => number;
  /**
   * Milliseconds since this node last had contact of any kind (a peer's heartbeat, an apiserver answer). When given,
   * a probe is sent only once that reaches intervalMs: the timer is armed for the moment contact would be that old.
   * Default: probe every intervalMs.
   */
  msSinceContact?: () => number;
}

export class ApiserverProbe {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly opts: ApiserverProbeOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** One probe; resolves true when the apiserver answered (any status). */
  async probeOnce(): Promise<boolean> {
    try {
      // Through the process's pooled, counted client: one kept-alive connection, no new TLS handshake per probe.
      await kubeClientFor(this.opts.kc).request("GET", "/readyz", undefined, "application/json", { deadlineMs: this.opts.timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const since = this.opts.msSinceContact?.() ?? Number.POSITIVE_INFINITY;
      if (since < this.opts.intervalMs) {
        this.schedule(this.opts.intervalMs - since);
        return;
      }
      const started = Date.now();
      const sentAt = (this.opts.clock ?? Date.now)();
      this.probeOnce().then(
        (ok) => {
          if (this.stopped) return;
          if (ok) this.opts.onReachable();
          else this.opts.onUnreachable?.(sentAt);
          this.schedule(this.opts.msSinceContact !== undefined ? this.opts.intervalMs : Math.max(0, this.opts.intervalMs - (Date.now() - started)));
        },
        () => this.schedule(this.opts.intervalMs),
      );
    }, delayMs);
  }
}
