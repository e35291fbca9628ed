// The pure parts of the webhook's certificate handling, over PEM text: which certificate is due, and the caBundle
// every replica merges its own CAs into. Each operator replica generates its own CA in memory (never stored in the
// API) and names itself in the CA's subject (CN=metallb-webhook-ca@<replica>, the Pod name in a cluster); a bundle
// holds the CAs of every live replica, so the apiserver trusts whichever replica the webhook Service picks.
import { X509Certificate } from "node:crypto";

/** CN prefix of a replica's CA; the rest of the CN is the replica (its Pod name). */
export const CA_CN_PREFIX = "metallb-webhook-ca@";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, each as `-----BEGIN…END-----\n`, in order. */
export function splitPem(bundle: string): string[] {
  return (bundle.match(PEM_CERT) ?? []).map((c) => `${c}\n`);
}

export const joinPem = (certs: readonly string[]): string => certs.join("");

const parse = (pem: string): X509Certificate | undefined => {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
};

/** The replica a CA belongs to (from its CN), or undefined for a CA that is not a replica's (or does not parse). */
export function caOwner(pem: string): string | undefined {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(parse(pem)?.subject ?? "")?.[1];
  return cn?.startsWith(CA_CN_PREFIX) === true ? cn.slice(CA_CN_PREFIX.length) : undefined;
}

const validity = (pem: string): { from: number; to: number } | undefined => {
  const c = parse(pem);
  return c === undefined ? undefined : { from: new Date(c.validFrom).getTime(), to: new Date(c.validTo).getTime() };
};

/** True from 2/3 of the certificate's lifetime on (or when it does not parse). */
export function needsRenewal(certPem: string, now: Date): boolean {
  const v = validity(certPem);
  return v === undefined || now.getTime() >= v.from + ((v.to - v.from) * 2) / 3;
}

/** The certificate parses and has not expired. */
export function stillValid(pem: string | undefined, now: Date): pem is string {
  const v = pem === undefined ? undefined : validity(pem);
  return v !== undefined && v.to > now.getTime();
}

export interface RenewalInput {
  /** The replica's current CA and leaf; undefined before the first issue. */
  readonly caPem: string | undefined;
  readonly leafPem: string | undefined;
  /** The leaf is signed by a CA the bundle still carries and has every wanted name. */
  readonly leafFits: boolean;
  readonly force: "leaf" | "ca" | undefined;
}

export interface RenewalDecision {
  readonly issueCa: boolean;
  readonly issueLeaf: boolean;
}

/**
 * What to issue. A new CA does not replace a leaf that is still good and fits: the new CA goes into the bundles
 * first (next to the previous one) and the leaf moves to it at its own renewal, long after the apiserver has the new
 * bundle. Only a missing, expiring or unfit leaf is re-issued at once.
 */
export function renewalDecision(r: RenewalInput, now: Date): RenewalDecision {
  const issueCa = r.caPem === undefined || r.force === "ca" || needsRenewal(r.caPem, now);
  const keepLeaf = r.leafPem !== undefined && r.force !== "leaf" && !needsRenewal(r.leafPem, now) && r.leafFits;
  return { issueCa, issueLeaf: !keepLeaf };
}

export interface MergeInput {
  /** The bundle as the object holds it now. */
  readonly current: readonly string[];
  /** This replica's CAs (current, and the previous one while a leaf it signed may still be served). */
  readonly mine: readonly string[];
  /** This replica's name, as in its CAs' CN. */
  readonly self: string;
  /**
   * Whether another replica is still there: false only when that is known (its Pod is not behind the webhook
   * Service); undefined when this replica cannot tell (e.g. it is not itself a Pod behind the Service).
   */
  readonly live: (owner: string) => boolean | undefined;
  readonly now: Date;
  /** A CA younger than this is never pruned for its replica's absence (the Service lists a new Pod a moment later). */
  readonly graceMs: number;
}

/**
 * The bundle after this replica's turn: its own CAs added (an older CA of its own name, from an earlier run of the
 * same Pod, dropped), another live replica's CAs kept as they are, and pruned: expired or unparsable certificates,
 * CAs that are no replica's (the shared CA of older versions, whose key was kept in a Secret), and the CAs of
 * replicas known to be gone. Order is kept; its own are appended where missing. Deduplicated.
 */
export function mergeCaBundle(m: MergeInput): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (pem: string): void => {
    const key = pem.trim();
    if (seen.has(key)) return;
    seen.add(key);
    out.push(pem);
  };
  const mine = new Set(m.mine.map((p) => p.trim()));
  for (const pem of m.current) {
    if (mine.has(pem.trim())) {
      add(pem);
      continue;
    }
    const v = validity(pem);
    if (v === undefined || v.to <= m.now.getTime()) continue;
    const owner = caOwner(pem);
    if (owner === undefined || owner === m.self) continue;
    if (m.live(owner) === false && m.now.getTime() - v.from >= m.graceMs) continue;
    add(pem);
  }
  for (const pem of m.mine) add(pem);
  return out;
}

/** Every one of `mine` is in the bundle. */
export const bundleHolds = (bundle: readonly string[], mine: readonly string[]): boolean => {
  const have = new Set(bundle.map((p) => p.trim()));
  return mine.every((p) => have.has(p.trim()));
};
