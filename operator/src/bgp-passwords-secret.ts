// Writes the speakers' BGP password Secret (model/src/config/speaker-secrets.ts): the passwords of the Secrets the
// BGPPeers reference, under one fixed name, so that the speaker's RBAC can be limited to the Secrets it needs by
// resourceNames. Run by the leader after each successful configuration parse (the parse resolves the passwords);
// nothing is written when the Secret already holds exactly these passwords.
import type { KubeConfigLike } from "../../shell/src/kubeconfig.js";
import { BGP_PASSWORDS_SECRET, bgpPasswordsSecretData, type ReferencedSecret } from "../../model/src/config/speaker-secrets.js";
import type { Config } from "../../model/src/config/types.js";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import type { Logger } from "../../shell/src/logger.js";
import { DONE, type Outcome } from "../../shell/src/workqueue.js";

const MANAGED_BY = { "app.kubernetes.io/managed-by": "metallb-ts-operator" };

const sameData = (a: Record<string, string>, b: Record<string, string>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

export async function syncBgpPasswordsSecret(
  kc: KubeConfigLike,
  namespace: string,
  config: Config,
  secret: (name: string) => ReferencedSecret | undefined,
  log: Logger,
): Promise<Outcome> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  const got = await kubeRequest(kc, "GET", `${path}/${BGP_PASSWORDS_SECRET}`);
  if (got.status !== 200 && got.status !== 404) return { kind: "retry", reason: `reading Secret ${BGP_PASSWORDS_SECRET}: ${statusMessage(got)}` };
  const current = got.status === 200 ? (got.body as { data?: Record<string, string>; metadata: { resourceVersion: string } }) : undefined;
  // While a reference is invalid the entries already there stay: speakers may still apply a configuration needing them.
  const data = bgpPasswordsSecretData(config, secret, current?.data ?? {});
  if (current !== undefined && sameData(current.data ?? {}, data)) return DONE;
  const body = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: BGP_PASSWORDS_SECRET,
      namespace,
      labels: MANAGED_BY,
      ...(current !== undefined ? { resourceVersion: current.metadata.resourceVersion } : {}),
    },
    type: "Opaque",
    data,
  };
  const res = current === undefined ? await kubeRequest(kc, "POST", path, body) : await kubeRequest(kc, "PUT", `${path}/${BGP_PASSWORDS_SECRET}`, body);
  // A conflict (someone wrote in between) is retried: the next attempt reads again.
  if (res.status >= 300) return { kind: "retry", reason: `writing Secret ${BGP_PASSWORDS_SECRET}: ${statusMessage(res)}` };
  log.info({ secret: BGP_PASSWORDS_SECRET, keys: Object.keys(data).length }, "wrote the speakers' BGP passwords");
  return DONE;
}
