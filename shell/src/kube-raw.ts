// Raw JSON requests with a kubeconfig's credentials, for the few places where client-node's typed serializer gets in
// the way (fields it maps under other names, MicroTime formatting, patch content types).
import type * as k8s from "@kubernetes/client-node";
import { request, type RequestOptions } from "node:https";

/** A request body that is already JSON text (e.g. int64 values a JS number cannot hold exactly). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify that writes bigints as exact integers. */
export function stringifyWithBigInts(value: unknown): RawJson {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== "bigint") return v;
    marks.push(v.toString());
    return `\u0000bigint${marks.length - 1}\u0000`;
  });
  return new RawJson(text.replace(/"\\u0000bigint(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)] ?? "0"));
}

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
    req.end(body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body));
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
