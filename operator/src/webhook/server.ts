// The HTTPS server for the validating webhooks and the BGPPeer conversion webhook. It serves the certificate files
// of a directory and reloads them when they change (chokidar): the new pair is swapped in with setSecureContext, so
// open connections and in-flight requests are not dropped; a half-written pair (new key, old certificate) is ignored
// until the other file arrives.
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { watch, type FSWatcher } from "chokidar";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureVersion } from "node:tls";
import type { Logger } from "../../../shell/src/logger.js";
import { admit, CONVERSION_PATH, WEBHOOK_ROUTES, type Lister } from "./admission.js";
import { CERT_FILE, CertRotator, KEY_FILE } from "./cert-rotator.js";
import { reviewConversion } from "./conversion.js";
import { KubeCaBundleInjector, kubeLister } from "./kube.js";

export interface WebhookServerOptions {
  /** Listen address (MetalLB: all interfaces, port 9443). */
  readonly host: string;
  /** 0 picks a free port (tests); see `port` after start(). */
  readonly port: number;
  /** Directory with tls.crt and tls.key (written by CertRotator, or mounted from an external Secret). */
  readonly certDir: string;
  /** The MetalLB namespace (objects must be created there). */
  readonly namespace: string;
  readonly lister: Lister;
  readonly log: Logger;
  /** Default TLSv1.3 (as MetalLB). */
  readonly minTlsVersion?: SecureVersion;
  /** Quiet period after a file event before reloading (default 50 ms). */
  readonly reloadDebounceMs?: number;
}

const MAX_BODY = 8 * 1024 * 1024;
const ROUTES = new Map(WEBHOOK_ROUTES.map((r) => [r.path, r]));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error("request body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export class WebhookServer {
  private server: Server | undefined;
  private watcher: FSWatcher | undefined;
  private loaded = { cert: "", key: "" };
  private debounce: NodeJS.Timeout | undefined;
  private reloading: Promise<boolean> = Promise.resolve(false);

  constructor(private readonly opts: WebhookServerOptions) {}

  /** The bound port (after start). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The certificate currently served (PEM). */
  get certificatePem(): string {
    return this.loaded.cert;
  }

  /** Loads the certificate files (they must exist), listens, and watches the directory. */
  async start(): Promise<number> {
    const pair = await this.readPair();
    this.loaded = pair;
    const minVersion = this.opts.minTlsVersion ?? "TLSv1.3";
    const server = createServer({ cert: pair.cert, key: pair.key, minVersion, ALPNProtocols: ["http/1.1"] }, (req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.watcher = watch(this.opts.certDir, { ignoreInitial: true, depth: 1 });
    this.watcher.on("all", () => this.scheduleReload());
    this.watcher.on("error", (e: unknown) => this.opts.log.warn({ err: e }, "watching the webhook certificate directory failed"));
    await new Promise<void>((resolve) => this.watcher?.once("ready", resolve));
    this.opts.log.info({ port: this.port, certDir: this.opts.certDir }, "webhook server listening");
    return this.port;
  }

  async close(): Promise<void> {
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    await this.watcher?.close();
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async readPair(): Promise<{ cert: string; key: string }> {
    const [cert, key] = await Promise.all([readFile(join(this.opts.certDir, CERT_FILE), "utf8"), readFile(join(this.opts.certDir, KEY_FILE), "utf8")]);
    return { cert, key };
  }

  private scheduleReload(): void {
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.opts.reloadDebounceMs ?? 50);
  }

  /** Re-reads the files; swaps the TLS context when they hold a new, matching pair. Resolves true when swapped. */
  reload(): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private async reloadOnce(): Promise<boolean> {
    let pair: { cert: string; key: string };
    try {
      pair = await this.readPair();
    } catch (e: unknown) {
      this.opts.log.warn({ err: e }, "webhook certificate files unreadable, keeping the current ones");
      return false;
    }
    if (pair.cert === this.loaded.cert && pair.key === this.loaded.key) return false;
    try {
      createSecureContext({ cert: pair.cert, key: pair.key }); // throws on a mismatched or partial pair
    } catch (e: unknown) {
      this.opts.log.debug({ err: e }, "webhook certificate pair not usable yet");
      return false;
    }
    this.server?.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: this.opts.minTlsVersion ?? "TLSv1.3" });
    this.loaded = pair;
    this.opts.log.info({}, "webhook serving certificate reloaded");
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && (path === "/healthz" || path === "/readyz")) return reply(res, 200, { status: "ok" });
    const route = ROUTES.get(path);
    if (req.method !== "POST" || (route === undefined && path !== CONVERSION_PATH)) return reply(res, 404, { message: `no webhook at ${req.method} ${path}` });
    let review: unknown;
    try {
      review = JSON.parse(await readBody(req));
    } catch (e: unknown) {
      return reply(res, 400, { message: `bad request body: ${e instanceof Error ? e.message : String(e)}` });
    }
    if (path === CONVERSION_PATH) {
      const out = reviewConversion(review);
      if (out.response.result.status === "Failure") this.opts.log.warn({ reason: out.response.result }, "BGPPeer conversion failed");
      return reply(res, 200, out);
    }
    const out = await admit(review, { lister: this.opts.lister, namespace: this.opts.namespace });
    if (!out.response.allowed) this.opts.log.info({ op: path, reason: out.response.status?.message }, "admission denied");
    reply(res, 200, out);
  }
}

export interface OperatorWebhookOptions {
  readonly kc: KubeConfigLike;
  readonly namespace: string;
  readonly log: Logger;
  /** Default "0.0.0.0" / 9443. */
  readonly host?: string;
  readonly port?: number;
  /** Default /tmp/k8s-webhook-server/serving-certs (MetalLB's --cert-dir). */
  readonly certDir?: string;
  /** Webhook Service name, for the certificate's DNS SANs (default metallb-webhook-service). */
  readonly serviceName?: string;
  /** Extra IP SANs (e.g. 127.0.0.1 for a local apiserver). */
  readonly ipAddresses?: readonly string[];
  /** This replica (its Pod name: POD_NAME), named in its CA; the webhook Service's endpoints tell who is still there. */
  readonly identity: string;
  /** Default ["metallb-webhook-configuration"]. */
  readonly validatingWebhookConfigurations?: readonly string[];
  /** Default ["bgppeers.metallb.io"]. */
  readonly conversionCrds?: readonly string[];
  /**
   * "generated" (default): this replica's own CA and leaf, in memory, its CA merged into the bundles. "mounted": the
   * certificate is managed elsewhere (OLM, cert-manager); the files in certDir are served and nothing is injected.
   */
  readonly certSource?: WebhookCertSource;
  /** A replica's CA younger than this is not pruned for its absence from the Service (default 5 minutes). */
  readonly pruneGraceMs?: number;
  /** How often the certificates and bundles are checked (default 1 minute). */
  readonly checkIntervalMs?: number;
}

export type WebhookCertSource = "generated" | "mounted";

export interface RunningWebhook {
  readonly server: WebhookServer;
  readonly rotator: CertRotator | undefined;
  /** Serving, and (generated certificates) its CA in every bundle at the last check. */
  readonly ready: boolean;
  stop(): Promise<void>;
}

/** Everything the operator needs: certificates (unless mounted), CA injection and the HTTPS server. */
export async function startOperatorWebhook(o: OperatorWebhookOptions): Promise<RunningWebhook> {
  const certDir = o.certDir ?? "/tmp/k8s-webhook-server/serving-certs";
  const service = o.serviceName ?? "metallb-webhook-service";
  const log = o.log.child({ controller: "webhook" });
  let rotator: CertRotator | undefined;
  if (o.certSource !== "mounted") {
    rotator = new CertRotator({
      dir: certDir,
      dnsNames: [`${service}.${o.namespace}.svc`, `${service}.${o.namespace}.svc.cluster.local`],
      ipAddresses: o.ipAddresses ?? [],
      identity: o.identity,
      injector: new KubeCaBundleInjector(
        o.kc,
        {
          validatingWebhookConfigurations: o.validatingWebhookConfigurations ?? ["metallb-webhook-configuration"],
          crds: o.conversionCrds ?? ["bgppeers.metallb.io"],
          identity: o.identity,
          namespace: o.namespace,
          serviceName: service,
          ...(o.pruneGraceMs !== undefined ? { pruneGraceMs: o.pruneGraceMs } : {}),
        },
        log,
      ),
      log,
      ...(o.checkIntervalMs !== undefined ? { checkIntervalMs: o.checkIntervalMs } : {}),
    });
    await rotator.start();
  }
  const server = new WebhookServer({
    host: o.host ?? "0.0.0.0",
    port: o.port ?? 9443,
    certDir,
    namespace: o.namespace,
    lister: kubeLister(o.kc, o.namespace),
    log,
  });
  await server.start();
  return {
    server,
    rotator,
    get ready(): boolean {
      return rotator === undefined || rotator.injected;
    },
    stop: async () => {
      rotator?.stop();
      await server.close();
    },
  };
}
