// BIRD 2 (Debian's bird2) as a second kind of upstream router in a lab namespace: a generated configuration (eBGP
// sessions to the nodes, optionally with BFD and graceful restart), bird in the foreground as our child, and its
// routes read with birdc. Traffic stays in the namespace; the control socket and the log are in the given directory.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addExitHook } from "./exit-hooks.js";
import type { NetLab } from "./netlab.js";
import { isAlive, run, spawnLogged, terminate, waitFor } from "./proc.js";

export interface BirdNeighbor {
  /** Protocol name in BIRD (letters, digits, underscores). */
  name: string;
  address: string;
  asn: number;
}

export interface BirdOptions {
  routerId: string;
  asn: number;
  neighbors: readonly BirdNeighbor[];
  /** BFD on every session (100 ms × 3). */
  bfd?: boolean;
  /** Graceful restart (helper) on every session; with bfd, a BFD down is handled as a graceful restart (`bfd graceful`). */
  gracefulRestart?: boolean;
  /** BGP hold time in seconds (default 9, keepalive a third). */
  holdSeconds?: number;
}

/** A BIRD 2 configuration for the lab: learns everything the nodes send into its table, exports nothing. */
export function birdConfig(o: BirdOptions, logFile: string): string {
  const hold = o.holdSeconds ?? 9;
  const lines = [
    `log "${logFile}" all;`,
    `router id ${o.routerId};`,
    "protocol device {}",
    ...(o.bfd === true ? ["protocol bfd {", '  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };', "}"] : []),
  ];
  for (const n of o.neighbors) {
    lines.push(
      `protocol bgp ${n.name} {`,
      `  local as ${o.asn};`,
      `  neighbor ${n.address} as ${n.asn};`,
      "  ipv4 { import all; export none; };",
      `  hold time ${hold}; keepalive time ${Math.max(1, Math.floor(hold / 3))}; connect retry time 1;`,
      // BIRD waits 60 s after an error (a BFD down, a closed session) before reconnecting by default.
      "  error wait time 1, 5;",
      ...(o.gracefulRestart === true ? ["  graceful restart on;"] : []),
      ...(o.bfd === true ? [o.gracefulRestart === true ? "  bfd graceful;" : "  bfd on;"] : []),
      "}",
    );
  }
  return `${lines.join("\n")}\n`;
}

export interface BirdRoute {
  prefix: string;
  /** Protocol (BGP session) names the route came from. */
  from: string[];
  /** Flagged stale (kept through a neighbor's graceful restart). */
  stale: boolean;
}

export class BirdRouter {
  private removeExitHook: () => void = () => undefined;

  private constructor(
    readonly host: string,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    this.removeExitHook = addExitHook(() => {
      if (child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, "SIGKILL");
    });
  }

  get socket(): string {
    return join(this.dir, "bird.ctl");
  }

  /** Writes the configuration, checks it (`bird -p`), starts bird in the host's namespace and waits for its socket. */
  static async start(lab: NetLab, host: string, dir: string, opts: BirdOptions): Promise<BirdRouter> {
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, "bird.conf");
    writeFileSync(conf, birdConfig(opts, join(dir, "bird.log")));
    await run("bird", ["-p", "-c", conf]);
    const ns = lab.host(host).netns;
    const child = spawnLogged("ip", ["netns", "exec", ns, "bird", "-f", "-c", conf, "-s", join(dir, "bird.ctl")], join(dir, "bird.out"));
    const bird = new BirdRouter(host, dir, child);
    await waitFor("bird's control socket", async () => ((await bird.birdc("show status")).includes("Daemon is up") ? true : undefined), 15_000, 100).catch(
      async (e: unknown) => {
        await bird.stop();
        throw e;
      },
    );
    return bird;
  }

  /** Runs one birdc command; returns its output ("" when bird does not answer). */
  async birdc(command: string): Promise<string> {
    const r = await run("birdc", ["-s", this.socket, ...command.split(" ")], { allowFail: true, timeoutMs: 5_000 });
    return r.code === 0 ? r.stdout : "";
  }

  /** The routes of the master IPv4 table (`show route all`). */
  async routes(): Promise<BirdRoute[]> {
    const out = await this.birdc("show route all");
    const routes: BirdRoute[] = [];
    let current: BirdRoute | undefined;
    for (const line of out.split("\n")) {
      // "10.200.0.1/32        unicast [node1 19:50:00.123] * (100) [AS64512i]" or a continuation "  unicast [node2 …"
      const head = /^(\S+\/\d+)\s+\S+\s+\[(\S+)\s/.exec(line);
      const more = /^\s+\S+\s+\[(\S+)\s.*\]/.exec(line);
      if (head !== null) {
        current = { prefix: head[1] ?? "", from: [head[2] ?? ""], stale: false };
        routes.push(current);
      } else if (more !== null && current !== undefined && !line.includes("via") && /^\s+unicast/.test(line)) {
        current.from.push(more[1] ?? "");
      } else if (current !== undefined && /BGP\.stale|\(stale\)|stale/i.test(line)) {
        current.stale = true;
      }
    }
    return routes;
  }

  /** The state of a BGP protocol (`show protocols`), e.g. "Established". */
  async protocolState(name: string): Promise<string | undefined> {
    const out = await this.birdc(`show protocols ${name}`);
    const line = out.split("\n").find((l) => l.startsWith(`${name} `));
    return line?.trim().split(/\s+/).slice(5).join(" ");
  }

  async stop(): Promise<void> {
    if (this.child.pid !== undefined) await terminate(this.child.pid, 3_000);
    this.removeExitHook();
  }
}
