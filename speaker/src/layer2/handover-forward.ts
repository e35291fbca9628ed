// Second-chance forwarding after a Layer 2 hand-over, the shell: keeps the IPs this node forwards to their previous
// owner (model/src/layer2/handover-forward.ts says why and how), applies the pure batch with `nft -f -` (one atomic
// transaction each time, serialized, bursts coalesced), ends each IP's window with a timer, and removes a table left
// by an earlier run at start and its own at exit. Any failure (no nft in the image, no CAP_NET_ADMIN, an old
// kernel) is a warning and a metric: the hand-over goes on without forwarding, as before.
import { execFile } from "node:child_process";
import { networkInterfaces } from "node:os";
import { Counter, Gauge, type Registry } from "prom-client";
import {
  forwardingAddress,
  handoverForwardBatch,
  HANDOVER_COUNTER,
  HANDOVER_TABLE,
  type HandoverForwardEntry,
} from "../../../model/src/layer2/handover-forward.js";
import { cidrOf, type Cidr } from "../../../model/src/net/cidr.js";
import { formatIP, parseIP, type IPAddress } from "../../../model/src/net/ip.js";
import type { Logger } from "../../../shell/src/logger.js";

/** Runs `nft` with `args`, `input` on stdin; resolves with stdout, rejects with nft's message. */
export type NftRunner = (args: readonly string[], input?: string) => Promise<string>;

const NFT_TIMEOUT_MS = 5_000;
const SUBNETS_MAX_AGE_MS = 1_000;

/** An NftRunner over `binary` (tests pass another program). */
export function nftRunner(binary = "nft"): NftRunner {
  return (args, input) =>
    new Promise((resolve, reject) => {
      const child = execFile(binary, [...args], { timeout: NFT_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`nft ${args.join(" ")}: ${stderr.trim() || error.message}`, { cause: error }));
        else resolve(stdout);
      });
      // nft can exit before it has read the whole batch (killed at the timeout on a starved node, or failing early):
      // the write then fails with EPIPE, an 'error' event that would crash the speaker if nothing listened. The exit
      // callback above already reports the failure (seen in bench:scale: a speaker died of it during a mass hand-over).
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(input ?? "");
    });
}

export const runNft: NftRunner = nftRunner();

/** The IPv4/IPv6 subnets of an interface of this network namespace. */
export function interfaceSubnets(iface: string): Cidr[] {
  const out: Cidr[] = [];
  for (const a of networkInterfaces()[iface] ?? []) {
    const parsed = parseIP(a.address.split("%")[0] ?? "");
    const prefix = Number((a.cidr ?? "").split("/")[1]);
    if (parsed.ok && Number.isInteger(prefix)) out.push(cidrOf(parsed.value, prefix));
  }
  return out;
}

export interface HandoverForwardingOptions {
  log: Logger;
  registry: Registry;
  /** How long an IP is forwarded after the hand-over (> 0). */
  windowMs: number;
  /** A node's addresses (its NodeConfig address: the InternalIP), [] when unknown. */
  nodeAddresses: (node: string) => IPAddress[];
  /** Default: from os.networkInterfaces(). */
  interfaceSubnets?: (iface: string) => Cidr[];
  /** Default: the nft binary. */
  nft?: NftRunner;
}

interface Forwarded {
  entries: HandoverForwardEntry[];
  previous: string;
  timer: ReturnType<typeof setTimeout>;
}

const ipKey = (ip: IPAddress): string => `${ip.family}/${ip.value.toString(16)}`;

export class HandoverForwarding {
  private readonly forwarded = new Map<string, Forwarded>();
  /** Interfaces with a chain in the kernel after the last batch; null: no table of this run (or unknown). */
  private applied: string[] | null = null;
  /** The last batch run (never rejects) and the one queued behind it, not started yet (bursts share it). */
  private running: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private stopped = false;
  /** Packets forwarded by tables already deleted (the kernel counter goes with its table). */
  private forwardedBefore = 0;
  private forwardedReported = 0;
  /** Failure messages already logged at warn (then debug: without NET_ADMIN every hand-over fails alike). */
  private readonly warned = new Set<string>();
  private readonly nft: NftRunner;
  /** Interface subnets, read at most once a second (thousands of IPs handed over at once: one read, not thousands). */
  private readonly subnets = new Map<string, { at: number; subnets: Cidr[] }>();
  private readonly m: { ips: Gauge; errors: Counter; packets: Counter };

  constructor(private readonly opts: HandoverForwardingOptions) {
    this.nft = opts.nft ?? runNft;
    const r = [opts.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect with the metric as `this`
    const self = this;
    this.m = {
      ips: new Gauge({
        name: "metallb_ts_layer2_handover_forwarding_ips",
        help: "Layer 2 IPs this node took over and forwards, for a window, the connections it did not start to the previous owner of",
        registers: r,
      }),
      errors: new Counter({
        name: "metallb_ts_layer2_handover_forwarding_errors_total",
        help: "nft batches of the Layer 2 hand-over forwarding that failed (the hand-over went on without forwarding)",
        registers: r,
      }),
      packets: new Counter({
        name: "metallb_ts_layer2_handover_forwarded_packets_total",
        help: "TCP packets this node passed to the previous owner of an IP after a hand-over (connections the previous owner started)",
        registers: r,
        async collect(this: Counter): Promise<void> {
          const total = self.forwardedBefore + (await self.readKernelCounter());
          if (total > self.forwardedReported) this.inc(total - self.forwardedReported);
          self.forwardedReported = Math.max(self.forwardedReported, total);
        },
      }),
    };
  }

  /** Removes a table an earlier run left (it may forward IPs this node no longer owns). */
  start(): Promise<void> {
    return this.apply();
  }

  /**
   * Starts forwarding `ip`'s connections this node did not start to `previous` on `ifaces`, for the window.
   * Resolves once the batch ran (whether it worked or not); null when nothing is forwarded (the previous owner has
   * no address on those links, or no interface).
   */
  begin(ip: IPAddress, previous: string, ifaces: readonly string[]): Promise<void> | null {
    if (this.stopped) return null;
    const key = ipKey(ip);
    const entries: HandoverForwardEntry[] = [];
    const addresses = this.opts.nodeAddresses(previous);
    for (const iface of ifaces) {
      const now = Date.now();
      let read = this.subnets.get(iface);
      if (read === undefined || Math.abs(now - read.at) > SUBNETS_MAX_AGE_MS) {
        read = { at: now, subnets: (this.opts.interfaceSubnets ?? interfaceSubnets)(iface) };
        this.subnets.set(iface, read);
      }
      const to = forwardingAddress(ip, addresses, read.subnets);
      if (to !== null) entries.push({ vip: ip, previousOwner: to, iface });
    }
    if (entries.length === 0) {
      const why = `${formatIP(ip)}|${previous}`;
      if (!this.warned.has(why)) {
        this.warned.add(why);
        this.opts.log.info(
          { ip: formatIP(ip), previous, addresses: addresses.map(formatIP), ifaces },
          "hand-over forwarding: the previous owner has no address on the announcing link, not forwarding",
        );
      }
      return null;
    }
    const old = this.forwarded.get(key);
    if (old !== undefined) clearTimeout(old.timer);
    const timer = setTimeout(() => this.end(ip, "window"), this.opts.windowMs);
    this.forwarded.set(key, { entries, previous, timer });
    this.opts.log.info(
      { ip: formatIP(ip), previous, to: formatIP(entries[0]?.previousOwner ?? ip), ifaces: entries.map((e) => e.iface), windowMs: this.opts.windowMs },
      "hand-over forwarding: on",
    );
    return this.apply();
  }

  /** Stops forwarding `ip` (its window ended, or this node no longer announces it). */
  end(ip: IPAddress, why: "window" | "withdrawn" = "withdrawn"): void {
    const f = this.forwarded.get(ipKey(ip));
    if (f === undefined) return;
    clearTimeout(f.timer);
    this.forwarded.delete(ipKey(ip));
    // Every IP of a mass hand-over ends its window at about the same time: one line each only at debug level.
    const fields = { ip: formatIP(ip), previous: f.previous, reason: why };
    if (why === "window") this.opts.log.debug(fields, "hand-over forwarding: off");
    else this.opts.log.info(fields, "hand-over forwarding: off");
    void this.apply();
  }

  /** IPs forwarded now, as text (tests). */
  forwardedIPs(): string[] {
    return [...this.forwarded.values()].map((f) => formatIP(f.entries[0]?.vip ?? { family: "IPv4", value: 0n }));
  }

  /** Ends every window and deletes the table (shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.forwarded.values()) clearTimeout(f.timer);
    this.forwarded.clear();
    await this.apply();
  }

  /** Queues one batch for the state at the time it runs; calls before it starts share it. */
  private apply(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const run = this.running.then(() => {
      this.queued = undefined;
      return this.applyNow();
    });
    this.queued = run;
    this.running = run;
    return run;
  }

  private async applyNow(): Promise<void> {
    const entries = [...this.forwarded.values()].flatMap((f) => f.entries);
    const flowTimeoutSeconds = this.opts.windowMs / 1000 + 5;
    const batch = handoverForwardBatch(this.applied, { entries, flowTimeoutSeconds });
    const deletes = entries.length === 0 || this.applied === null;
    try {
      if (deletes && this.applied !== null) this.forwardedBefore += await this.readKernelCounter();
      await this.nft(["-f", "-"], batch.text);
      this.applied = batch.interfaces.length === 0 ? null : batch.interfaces;
      this.m.ips.set(this.forwarded.size);
    } catch (err) {
      this.failed(err, entries.length);
    }
  }

  /** A batch failed: nothing changed in the kernel (atomic); forget the IPs and try to remove the table. */
  private failed(err: unknown, entries: number): void {
    this.m.errors.inc();
    const message = err instanceof Error ? err.message : String(err);
    const level = this.warned.has(message) ? "debug" : "warn";
    this.warned.add(message);
    this.opts.log[level]({ err, entries }, "hand-over forwarding failed: handing over without it (needs nft and CAP_NET_ADMIN)");
    for (const f of this.forwarded.values()) clearTimeout(f.timer);
    this.forwarded.clear();
    this.m.ips.set(0);
    const had = this.applied;
    this.applied = null;
    // The table of an earlier batch may still be there, forwarding IPs forgotten here: delete it (an empty batch).
    if (had !== null && entries > 0) void this.apply();
  }

  /** Packets the kernel's counter holds now (0 without a table). */
  private async readKernelCounter(): Promise<number> {
    if (this.applied === null) return 0;
    try {
      const out = await this.nft(["-j", "list", "counter", "netdev", HANDOVER_TABLE, HANDOVER_COUNTER]);
      return Number(/"packets":\s*(\d+)/.exec(out)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }
}
