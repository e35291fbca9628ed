// HTTP probes from a lab host every ~100 ms while a disruption runs (a rolling update, a cordon, an upgrade): how
// many failed and the longest outage, for the cluster layer's "no request lost" checks.
import type { RunResult } from "./proc.js";
import { sleep } from "./proc.js";

/** Runs a command on a lab host (NetLab.exec or LabCluster.lab.exec). */
export type HostExec = (host: string, cmd: string, args: string[], opts: { allowFail: boolean }) => Promise<RunResult>;

export interface ProbeFigures {
  probes: number;
  failed: number;
  /** From the first failed probe of a run of failures to the next good one; Infinity when it never came back. */
  maxGapMs: number;
}

/** The page every lab backend serves ("hello from web"). */
export const WEB_GREETING = "hello from web";

/** The URL of the lab web Service at `ip` (IPv6 in brackets). */
export function webUrl(ip: string): string {
  return ip.includes(":") ? `http://[${ip}]/` : `http://${ip}/`;
}

/** Figures of a probe series in time order. Pure. */
export function probeFigures(results: ReadonlyArray<{ t: number; ok: boolean }>): ProbeFigures {
  let maxGapMs = 0;
  let since: number | undefined;
  for (const r of results) {
    if (!r.ok && since === undefined) since = r.t;
    if (r.ok && since !== undefined) {
      maxGapMs = Math.max(maxGapMs, r.t - since);
      since = undefined;
    }
  }
  if (since !== undefined) maxGapMs = Number.POSITIVE_INFINITY;
  return { probes: results.length, failed: results.filter((r) => !r.ok).length, maxGapMs };
}

/** Probes `http://ip/` from `host` with a 1 s timeout, every ~100 ms, at most `maxProbes` times, until finish(). */
export class HttpProber {
  private stopped = false;
  private readonly results: Array<{ t: number; ok: boolean }> = [];
  private readonly loop: Promise<void>;

  constructor(
    private readonly exec: HostExec,
    private readonly host: string,
    private readonly ip: string,
    private readonly maxProbes = 6_000,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.results.length < this.maxProbes) {
      const t = Date.now();
      const r = await this.exec(this.host, "curl", ["-s", "-m", "1", webUrl(this.ip)], { allowFail: true });
      this.results.push({ t, ok: r.code === 0 && r.stdout.startsWith(WEB_GREETING) });
      await sleep(100);
    }
  }

  async finish(): Promise<ProbeFigures> {
    this.stopped = true;
    await this.loop;
    return probeFigures(this.results);
  }
}
