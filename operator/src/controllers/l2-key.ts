// Heartbeat key controller (key "l2Key"): creates the speakers' shared heartbeat key Secret when it does not exist
// (never overwrites one), as MetalLB's controller creates its memberlist Secret. Create only: the operator may read no
// Secret (its RBAC has none of get/list/watch on secrets), so "already exists" (409) is the answer that it is there.
import { randomBytes } from "node:crypto";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { MANAGED_BY, type OperatorContext } from "./context.js";

export const L2_KEY_SECRET = "metallb-ts-l2-key";
export const L2_KEY_FIELD = "secretkey";

export async function ensureL2KeySecret(ctx: OperatorContext): Promise<Outcome> {
  const ns = ctx.settings.namespace;
  const path = `/api/v1/namespaces/${ns}/secrets`;
  const res = await kubeRequest(ctx.kc, "POST", path, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: L2_KEY_SECRET, namespace: ns, labels: MANAGED_BY },
    type: "Opaque",
    data: { [L2_KEY_FIELD]: randomBytes(32).toString("base64") },
  });
  if (res.status === 409) return DONE; // it exists (created by an earlier leader): never rewritten
  if (res.status >= 300) return { kind: "retry", reason: `creating Secret ${L2_KEY_SECRET}: ${statusMessage(res)}` };
  ctx.log.info({ secret: L2_KEY_SECRET }, "created the speakers' heartbeat key");
  return DONE;
}
