// A small HTTP server for /metrics (Prometheus text format), /healthz and /readyz.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";

export interface HttpServerOptions {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
  log: Logger;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/metrics") {
      opts.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": opts.registry.contentType });
          res.end(text);
        },
        (e: unknown) => {
          opts.log.error({ err: e }, "collecting metrics failed");
          res.writeHead(500).end();
        },
      );
      return;
    }
    if (url === "/healthz") {
      res.writeHead(200).end("ok");
      return;
    }
    if (url === "/readyz") {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503).end(ok ? "ok" : "not ready");
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
