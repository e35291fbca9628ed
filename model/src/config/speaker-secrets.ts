// The BGP passwords the speakers need, gathered by the operator into one Secret of a fixed name, so that the
// speakers' RBAC can name the two Secrets they read (this one and the Layer 2 heartbeat key) instead of granting
// every Secret of the namespace, the webhook's CA key included. Kubernetes RBAC matches exact names only
// (resourceNames), never a label or a prefix, and BGPPeers reference Secrets of any name.
import type { Config } from "./types.js";

/** Name of the Secret holding the BGP passwords (key: the name of the Secret a BGPPeer references). */
export const BGP_PASSWORDS_SECRET = "metallb-ts-bgp-passwords";

/**
 * Key of a referenced Secret's type. Secret names never contain "_" (DNS subdomains), data keys may: a key with "_" is
 * never a Secret's name.
 */
const BASIC_AUTH = "kubernetes.io/basic-auth";

export const typeKey = (secretName: string): string => `type_${secretName}`;

/** A referenced Secret as the operator's cache holds it (data values base64, as the API serves them). */
export interface ReferencedSecret {
  readonly type?: string | undefined;
  readonly data?: Readonly<Record<string, string>> | undefined;
}

/**
 * The data of BGP_PASSWORDS_SECRET (values base64, ready for the Secret): for every Secret a BGPPeer references that
 * exists, its type under typeKey(name) and its `password` under its name. The type travels so that a speaker can say,
 * in MetalLB's words, that a Secret is of the wrong type (its own check, speaker-problems.ts); a missing Secret has no
 * key at all. Inline `spec.password` values are not copied (speakers read them from the BGPPeer). Sorted by key.
 *
 * `previous` is what the Secret holds now. While a BGPPeer references a Secret that is missing, not of type
 * kubernetes.io/basic-auth or without a password, the speakers of its nodes keep applying their last good
 * configuration, which may need a password this data would no longer carry (the peer referenced another Secret
 * before): the previous entries are then kept, and dropped once every reference is valid again.
 */
export function bgpPasswordsSecretData(
  config: Config,
  secret: (name: string) => ReferencedSecret | undefined,
  previous: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const out = new Map<string, string>();
  let invalidReference = false;
  for (const p of config.peers) {
    const name = p.passwordSecretName;
    if (name === null) continue;
    const s = secret(name);
    if (s === undefined || s.type !== BASIC_AUTH || s.data?.password === undefined) invalidReference = true;
    if (s === undefined) continue;
    // A Secret type is ASCII (a DNS-style name): btoa encodes it as the API would.
    out.set(typeKey(name), btoa(s.type ?? "Opaque"));
    const password = s.data?.password;
    if (password !== undefined) out.set(name, password);
  }
  if (invalidReference) for (const [k, v] of Object.entries(previous)) if (!out.has(k)) out.set(k, v);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
