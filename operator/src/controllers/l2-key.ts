// Heartbeat key controller (key "l2Key"): creates the speakers' shared heartbeat key Secret when it does not exist
// (never overwrites one), as MetalLB's controller creates its memberlist Secret.
import { randomBytes } from "node:crypto";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { MANAGED_BY, type OperatorContext } from "./context.js";

export const L2_KEY_SECRET = "metallb-ts-l2-key";
export const L2_KEY_FIELD = "secretkey";

export async function ensureL2KeySecret(ctx: OperatorContext): Promise<Outcome> {
  const ns = ctx.settings.namespace;
  const path = `/api/v1/namespaces/${ns}/secrets`;
  const got = await kubeRequest(ctx.kc, "GET", `${path}/${L2_KEY_SECRET}`);
  if (got.status === 200) return DONE;
  if (got.status !== 404) return { kind: "retry", reason: `reading Secret ${L2_KEY_SECRET}: ${statusMessage(got)}` };
  const res = await kubeRequest(ctx.kc, "POST", path, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: L2_KEY_SECRET, namespace: ns, labels: MANAGED_BY },
    type: "Opaque",
    data: { [L2_KEY_FIELD]: randomBytes(32).toString("base64") },
  });
  if (res.status >= 300 && res.status !== 409) return { kind: "retry", reason: `creating Secret ${L2_KEY_SECRET}: ${statusMessage(res)}` };
  ctx.log.info({ secret: L2_KEY_SECRET }, "created the speakers' heartbeat key");
  return DONE;
}
