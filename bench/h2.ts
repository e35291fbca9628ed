// The benchmark's own apiserver client: ONE HTTP/2 connection (TLS with the kubeconfig's credentials) carrying every
// request and watch of the benchmark as concurrent streams, so that creating thousands of objects neither opens
// thousands of TLS sessions nor queues behind one HTTP/1.1 socket.
import type * as k8s from "@kubernetes/client-node";
import { connect, constants, type ClientHttp2Session } from "node:http2";
import type { RequestOptions } from "node:https";

export interface H2Response {
  status: number;
  body: unknown;
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

export class H2Client {
  private constructor(
    private readonly session: ClientHttp2Session,
    /** A bearer token's header value (token users), or "" (certificate users authenticate in TLS). */
    private readonly authorization: string,
  ) {}

  static async open(kc: k8s.KubeConfig): Promise<H2Client> {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig has no current cluster");
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    const session = connect(cluster.server, { ca: tls.ca, cert: tls.cert, key: tls.key });
    // Token users (ServiceAccounts) carry their credential as a header; certificate users in the TLS options.
    const header = (tls.headers as Record<string, unknown> | undefined)?.Authorization ?? (tls.headers as Record<string, unknown> | undefined)?.authorization;
    const auth = typeof header === "string" ? header : "";
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
    // Errors after the connection is up surface on the streams; without a listener they would crash the process.
    session.on("error", () => undefined);
    return new H2Client(session, auth);
  }

  private headers(method: string, path: string, contentType?: string): Record<string, string> {
    return {
      [constants.HTTP2_HEADER_METHOD]: method,
      [constants.HTTP2_HEADER_PATH]: path,
      accept: "application/json",
      ...(contentType === undefined ? {} : { "content-type": contentType }),
      ...(this.authorization === "" ? {} : { authorization: this.authorization }),
    };
  }

  /** One request; the body is JSON-encoded (or sent as is when a string). */
  request(method: string, path: string, body?: unknown, contentType = "application/json", timeoutMs = 60_000): Promise<H2Response> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request(this.headers(method, path, body === undefined ? undefined : contentType));
      let status = 0;
      const chunks: Buffer[] = [];
      stream.setTimeout(timeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
      stream.on("response", (h) => (status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 0)));
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", reject);
      stream.on("close", () => {
        if (status === 0) {
          reject(new Error(`${method} ${path}: stream closed without a response`));
          return;
        }
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status, body: parsed });
      });
      stream.end(body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body));
    });
  }

  /** GET of a list, following `continue` (pages of `limit`); the items and the list's resourceVersion. */
  async listAll(path: string, limit = 500): Promise<{ items: Array<Record<string, unknown>>; resourceVersion: string }> {
    const items: Array<Record<string, unknown>> = [];
    let cont = "";
    let rv = "";
    for (;;) {
      const sep = path.includes("?") ? "&" : "?";
      const res = await this.request("GET", `${path}${sep}limit=${limit}${cont === "" ? "" : `&continue=${encodeURIComponent(cont)}`}`);
      if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      const b = res.body as { items?: Array<Record<string, unknown>>; metadata?: { continue?: string; resourceVersion?: string } };
      items.push(...(b.items ?? []));
      rv = b.metadata?.resourceVersion ?? rv;
      cont = b.metadata?.continue ?? "";
      if (cont === "") return { items, resourceVersion: rv };
    }
  }

  /** A watch from resourceVersion; onEvent per event; the promise settles when the server ends it or close() is called. */
  watch(path: string, resourceVersion: string, onEvent: (e: WatchEvent) => void): { done: Promise<void>; close: () => void } {
    const sep = path.includes("?") ? "&" : "?";
    const stream = this.session.request(
      this.headers("GET", `${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`),
    );
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === "") continue;
        try {
          onEvent(JSON.parse(line) as WatchEvent);
        } catch {
          /* a partial or foreign line: ignore */
        }
      }
    });
    const done = new Promise<void>((resolve) => {
      stream.on("close", () => resolve());
      stream.on("error", () => resolve());
    });
    return { done, close: () => stream.close(constants.NGHTTP2_CANCEL) };
  }

  close(): void {
    this.session.close();
  }
}
