// The BGP passwords the speakers need, gathered by the operator into one Secret of a fixed name, so that the
// speakers' RBAC can name the two Secrets they read (this one and the Layer 2 heartbeat key) instead of granting
// every Secret of the namespace, the webhook's CA key included. Kubernetes RBAC matches exact names only
// (resourceNames), never a label or a prefix, and BGPPeers reference Secrets of any name.
import type { Config } from "./types.js";

/** Name of the Secret holding the BGP passwords (key: the name of the Secret a BGPPeer references). */
export const BGP_PASSWORDS_SECRET = "metallb-ts-bgp-passwords";

/**
 * The contents of BGP_PASSWORDS_SECRET for a parsed configuration: for every peer whose password comes from a
 * Secret, that Secret's name → its password (parseConfig already resolved it). Inline `spec.password` values are
 * not copied (speakers read them from the BGPPeer). Sorted by name, so that equal inputs give equal objects.
 */
export function bgpPasswordsSecretData(config: Config): Record<string, string> {
  const out = new Map<string, string>();
  for (const p of config.peers) if (p.passwordSecretName !== null && p.password !== "") out.set(p.passwordSecretName, p.password);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
