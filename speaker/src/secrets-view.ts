// The Secrets a speaker reads, as one informer-shaped view over the only two Secrets its RBAC needs to name: the
// Layer 2 heartbeat key and the operator's BGP password Secret (model/src/config/speaker-secrets.ts). Each is watched
// alone (a list/watch with fieldSelector metadata.name=X is authorized by a resourceNames rule), so the speaker never
// lists the namespace's Secrets. `cache.get(name)` answers for the heartbeat key Secret as it is, and for the name
// of a Secret a BGPPeer references with a Secret-shaped object whose data.password is that password; so code that
// looked Secrets up in an informer over every Secret keeps working unchanged.
import type * as k8s from "@kubernetes/client-node";
import type { KubeConfigLike } from "../../shell/src/kubeconfig.js";
import { BGP_PASSWORDS_SECRET, typeKey } from "../../model/src/config/speaker-secrets.js";
import { resilientInformer, type ObjectCache, type ResilientInformer } from "../../shell/src/informer.js";
import type { Logger } from "../../shell/src/logger.js";

export type SecretObject = k8s.KubernetesObject & { type?: string; data?: Record<string, string> };

export interface SpeakerSecretsOptions {
  /** The heartbeat key Secret (Layer 2 mode); undefined when the speaker has no Layer 2 path. */
  l2SecretName?: string | undefined;
  minRetryMs?: number;
}

export function speakerSecretsInformer(kc: KubeConfigLike, namespace: string, log: Logger, opts: SpeakerSecretsOptions = {}): ResilientInformer<SecretObject> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  const retry = opts.minRetryMs !== undefined ? { minRetryMs: opts.minRetryMs } : {};
  const one = (name: string): ResilientInformer<SecretObject> =>
    resilientInformer<SecretObject>(kc, path, log.child({ informer: `secret/${name}` }), { fieldSelector: `metadata.name=${name}`, ...retry });
  const passwords = one(BGP_PASSWORDS_SECRET);
  const l2Name = opts.l2SecretName;
  const l2 = l2Name === undefined ? undefined : one(l2Name);
  const parts = [passwords, ...(l2 !== undefined ? [l2] : [])];

  // A referenced Secret as the operator saw it: its type, and its password when it has one; absent when it is missing.
  const passwordSecret = (name: string, ns: string): SecretObject | undefined => {
    const data = passwords.cache.get(BGP_PASSWORDS_SECRET, ns)?.data;
    const type = data?.[typeKey(name)];
    if (type === undefined) return undefined;
    const pw = data?.[name];
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: ns },
      type: Buffer.from(type, "base64").toString("utf8"),
      data: pw === undefined ? {} : { password: pw },
    };
  };
  const cache: ObjectCache<SecretObject> = {
    get: (name, ns = namespace) => (name === l2Name ? l2?.cache.get(name, ns) : passwordSecret(name, ns)),
    list: (ns = namespace) => {
      const names = Object.keys(passwords.cache.get(BGP_PASSWORDS_SECRET, ns)?.data ?? {}).flatMap((k) =>
        k.startsWith(typeKey("")) ? [k.slice(typeKey("").length)] : [],
      );
      return [...(l2?.cache.list(ns) ?? []), ...names.flatMap((n) => passwordSecret(n, ns) ?? [])];
    },
  };
  return {
    cache,
    synced: Promise.all(parts.map((p) => p.synced)).then(() => undefined),
    path,
    // Events carry the watched object: the heartbeat key Secret, or the BGP password Secret (any password changed).
    on: (verb, cb) => {
      for (const p of parts) p.on(verb, cb);
    },
    start: async () => {
      await Promise.all(parts.map((p) => p.start()));
    },
    stop: async () => {
      await Promise.all(parts.map((p) => p.stop()));
    },
  };
}
