// A TCP round-robin balancer on 127.0.0.1 standing in for a Service in front of several replicas (the webhook
// Service in front of the operator replicas): each new connection goes to the next backend, bytes pass through
// untouched (TLS ends at the replica), and the backends are set as the endpoints controller would (a killed replica
// is removed). Counts the connections each backend got.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export class TcpBalancer {
  private backends: number[] = [];
  private next = 0;
  private readonly conns = new Set<Socket>();
  readonly connections = new Map<number, number>();

  private constructor(private readonly server: Server) {
    server.on("connection", (c) => this.forward(c));
  }

  static async start(): Promise<TcpBalancer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return new TcpBalancer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The backend ports (127.0.0.1) new connections are spread over. */
  setBackends(ports: readonly number[]): void {
    this.backends = [...ports];
  }

  private forward(c: Socket): void {
    const port = this.backends[this.next++ % Math.max(1, this.backends.length)];
    if (port === undefined) {
      c.destroy();
      return;
    }
    this.connections.set(port, (this.connections.get(port) ?? 0) + 1);
    relayTo(c, port, this.conns);
  }

  async close(): Promise<void> {
    for (const s of this.conns) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Pipes an accepted connection both ways to 127.0.0.1:port; both sockets are tracked in `conns` until either ends. */
export function relayTo(c: Socket, port: number, conns: Set<Socket>): void {
  const up = connect(port, "127.0.0.1");
  conns.add(c).add(up);
  const drop = (): void => {
    c.destroy();
    up.destroy();
    conns.delete(c);
    conns.delete(up);
  };
  c.on("error", drop).on("close", drop);
  up.on("error", drop).on("close", drop);
  c.pipe(up);
  up.pipe(c);
}
