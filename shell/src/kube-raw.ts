// Raw JSON requests with a kubeconfig's credentials, for the few places where client-node's typed serializer gets in
// the way (fields it maps under other names, MicroTime formatting, patch content types). Every call goes through the
// KubeClient of its KubeConfig (shell/src/kube-client.ts): one keep-alive connection pool, counted by verb.
import type { KubeConfigLike } from "./kubeconfig.js";
import { kubeClientFor, RawJson, type RawResponse } from "./kube-client.js";

export { RawJson, type RawResponse } from "./kube-client.js";

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

/** One request through the pooled client of `kc` (created on first use). */
export function kubeRequest(kc: KubeConfigLike, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<RawResponse> {
  return kubeClientFor(kc).request(method, path, body, contentType);
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
