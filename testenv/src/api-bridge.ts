// The test apiserver inside lab node namespaces: loopback is per namespace, so a unix socket in the shared filesystem
// carries the TCP stream (see the netlab notes) and socat listens on the apiserver's port in each namespace.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { addExitHook } from "./exit-hooks.js";
import type { NetLab } from "./netlab.js";
import { exited, isAlive, spawnLogged, waitFor } from "./proc.js";
import { relayTo } from "./tcp-balancer.js";

/**
 * The root-namespace half of the apiserver bridge: a unix socket whose connections are piped to the apiserver's
 * loopback port. `enter(lab, host)` adds the namespace half (socat listening on 127.0.0.1:<same port> there), so a
 * kubeconfig for https://127.0.0.1:<port> works unchanged inside the namespace.
 */
export class ApiBridge {
  private readonly server: Server;
  private readonly conns = new Set<Socket>();
  private readonly relays = new Map<string, { relay: ChildProcess; lab: NetLab; logFile: string }>();
  private readonly removeExitHook: () => void;

  private constructor(
    readonly socketPath: string,
    readonly port: number,
    server: Server,
  ) {
    this.server = server;
    server.on("connection", (c) => relayTo(c, port, this.conns));
    this.removeExitHook = addExitHook(() => {
      for (const { relay } of this.relays.values()) if (relay.pid !== undefined && isAlive(relay.pid)) process.kill(relay.pid, "SIGKILL");
    });
  }

  /** Listens on `socketPath` and forwards to 127.0.0.1:`port` (the apiserver's). */
  static async start(socketPath: string, port: number): Promise<ApiBridge> {
    rmSync(socketPath, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    return new ApiBridge(socketPath, port, server);
  }

  /** Starts the namespace half in a lab host and waits until it accepts connections. */
  async enter(lab: NetLab, host: string, logFile: string): Promise<void> {
    if (this.relays.has(host)) throw new Error(`apiserver bridge already in ${host}`);
    const relay = spawnLogged(
      "ip",
      ["netns", "exec", lab.host(host).netns, "socat", `TCP-LISTEN:${this.port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${this.socketPath}`],
      logFile,
      { detached: true },
    );
    this.relays.set(host, { relay, lab, logFile });
    await waitFor(
      `apiserver bridge in ${host}`,
      async () => {
        const r = await lab.exec(host, "curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", `https://127.0.0.1:${this.port}/readyz`], {
          allowFail: true,
        });
        return r.stdout.trim() !== "000" && r.stdout.trim() !== "" ? true : undefined;
      },
      15_000,
      100,
    );
  }

  /** Cuts a host off the apiserver: its relay and every connection through it die (partition drills). */
  async cut(host: string): Promise<void> {
    const r = this.relays.get(host);
    if (r === undefined) return;
    this.relays.delete(host);
    // socat forks per connection: kill the whole group it leads (it was started detached).
    if (r.relay.pid !== undefined && isAlive(r.relay.pid)) {
      try {
        process.kill(-r.relay.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await exited(r.relay);
  }

  /** Reconnects a host cut with cut(). */
  async restore(lab: NetLab, host: string, logFile: string): Promise<void> {
    await this.enter(lab, host, logFile);
  }

  async stop(): Promise<void> {
    for (const host of [...this.relays.keys()]) await this.cut(host);
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.socketPath, { force: true });
    this.removeExitHook();
  }
}
