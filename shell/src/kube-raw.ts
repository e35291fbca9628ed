// Raw JSON requests with a kubeconfig's credentials, for the few places where client-node's typed serializer gets in
// the way (fields it maps under other names, MicroTime formatting, patch content types).
import type * as k8s from "@kubernetes/client-node";
import { request, type RequestOptions } from "node:https";

export interface RawResponse {
  status: number;
  body: unknown;
}

export async function kubeRequest(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("kubeconfig has no current cluster");
  const opts: RequestOptions = { method, headers: { "content-type": contentType, accept: "application/json" }, timeout: 30_000 };
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(path, cluster.server);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The API's message for a failed request, for errors and events. */
export function statusMessage(res: RawResponse): string {
  const b = res.body as { message?: unknown } | null;
  return typeof b?.message === "string" ? b.message : `HTTP ${res.status}`;
}

/** Kubernetes MicroTime (RFC 3339 with 6 fractional digits). */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
