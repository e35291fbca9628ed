// The webhook's serving certificate: each operator replica generates its own CA and leaf in memory at start (the
// keys never enter the API; only the files of the serving directory, a Pod-local emptyDir, hold the leaf's key for
// the TLS server), writes tls.crt, tls.key and ca.crt, and adds its CA to the caBundle of the webhook configuration
// and the BGPPeer CRD, next to the other live replicas' CAs (ca-bundle.ts: merge and prune, pure). Renewal happens at
// 2/3 of a certificate's lifetime: a new leaf is signed by the same CA; a new CA is added to the bundles next to the
// previous one, and the leaf moves to it at its own renewal, once the apiserver has long had the new bundle.
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../../shell/src/logger.js";
import { CA_CN_PREFIX, renewalDecision, stillValid } from "./ca-bundle.js";
import type { CertificateRequest, KeyPair } from "./x509.js";

export { needsRenewal } from "./ca-bundle.js";

export interface CertBundle {
  readonly ca: KeyPair;
  readonly leaf: KeyPair;
  /** The CA that signed earlier leaves, kept in the bundle until it expires (after a CA renewal). */
  readonly previousCaPem?: string;
}

/**
 * Puts this replica's CAs (PEM, one per element) into every caBundle API clients of the webhook read, keeping the
 * other live replicas' CAs. Must be idempotent. Resolves whether every bundle now holds them all.
 */
export interface CaBundleInjector {
  inject(mine: readonly string[]): Promise<boolean>;
}

export interface CertRotatorOptions {
  readonly dir: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** This replica (its Pod name), in its CA's CN. */
  readonly identity: string;
  readonly injector: CaBundleInjector;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Default 1 year (a process that lives longer renews it in memory). */
  readonly caLifetimeMs?: number;
  /** Default 90 days. */
  readonly leafLifetimeMs?: number;
  /** How often to re-check expiry and the bundles (put back if edited, other replicas pruned); default 1 minute. */
  readonly checkIntervalMs?: number;
}

const DAY = 86_400_000;
export const CERT_FILE = "tls.crt";
export const KEY_FILE = "tls.key";
export const CA_FILE = "ca.crt";

/** The leaf is signed by one of the trusted CAs (current or previous) and carries every wanted SAN. */
function leafFits(leafPem: string, trusted: readonly string[], dnsNames: readonly string[], ips: readonly string[]): boolean {
  try {
    const leaf = new X509Certificate(leafPem);
    const signed = trusted.some((pem) => {
      const ca = new X509Certificate(pem);
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    });
    return signed && dnsNames.every((d) => leaf.checkHost(d, { wildcards: false }) === d) && ips.every((ip) => leaf.checkIP(ip) === ip);
  } catch {
    return false;
  }
}

/** tmp + rename, so a reader never sees half a file; unchanged content is not rewritten (no reload churn). */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current === data) return;
  const tmp = join(path, "..", `.${path.split("/").pop() ?? "file"}.tmp`);
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export class CertRotator {
  private timer: NodeJS.Timeout | undefined;
  private current: CertBundle | undefined;
  private running: Promise<void> | undefined;
  private inBundles = false;
  private readonly now: () => Date;

  constructor(private readonly opts: CertRotatorOptions) {
    this.now = opts.now ?? ((): Date => new Date());
  }

  /** This replica's CAs (PEM): the current one, and the previous one while it is valid. Empty before start(). */
  get caBundle(): string {
    return this.mine().join("");
  }

  /** Its CAs were in every caBundle at the last check (the replica is Ready only then). */
  get injected(): boolean {
    return this.inBundles;
  }

  private mine(): string[] {
    if (this.current === undefined) return [];
    const previous = this.current.previousCaPem;
    return [this.current.ca.certPem, ...(stillValid(previous, this.now()) ? [previous] : [])];
  }

  /** Ensures valid certificates exist, are written and injected, then re-checks periodically. Throws on failure. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => {
      this.check().catch((e: unknown) => this.opts.log.error({ err: e }, "webhook certificate check failed"));
    }, this.opts.checkIntervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass: renew what is due (or what `force` names), inject, write the files. Serialized. */
  async check(force: "leaf" | "ca" | undefined = undefined): Promise<void> {
    const previous = this.running ?? Promise.resolve();
    const run = previous.then(() => this.checkOnce(force));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async checkOnce(force: "leaf" | "ca" | undefined): Promise<void> {
    const now = this.now();
    const renewed = await this.renew(this.current, now, force);
    if (renewed !== undefined) {
      this.current = renewed;
      this.opts.log.info({ notAfter: new X509Certificate(renewed.leaf.certPem).validTo }, "webhook serving certificate issued");
    }
    // Bundles first: clients must trust a new CA before the server presents a leaf signed by it.
    try {
      this.inBundles = await this.opts.injector.inject(this.mine());
    } catch (e) {
      this.inBundles = false;
      throw e;
    }
    if (this.current !== undefined) await this.writeFiles(this.current);
  }

  /** The certificates to hold from now on, or undefined when nothing is due (ca-bundle.ts renewalDecision). */
  private async renew(bundle: CertBundle | undefined, now: Date, force: "leaf" | "ca" | undefined): Promise<CertBundle | undefined> {
    const ips = this.opts.ipAddresses ?? [];
    const trustedNow = bundle === undefined ? [] : [bundle.ca.certPem, ...(stillValid(bundle.previousCaPem, now) ? [bundle.previousCaPem] : [])];
    const decision = renewalDecision(
      {
        caPem: bundle?.ca.certPem,
        leafPem: bundle?.leaf.certPem,
        leafFits: bundle !== undefined && leafFits(bundle.leaf.certPem, trustedNow, this.opts.dnsNames, ips),
        force,
      },
      now,
    );
    if (bundle !== undefined && !decision.issueCa && !decision.issueLeaf) return undefined;
    const ca = decision.issueCa || bundle === undefined ? await this.issueCa(now) : bundle.ca;
    const previousCaPem = decision.issueCa ? bundle?.ca.certPem : bundle?.previousCaPem;
    const leaf = decision.issueLeaf || bundle === undefined ? await this.issueLeaf(ca, now) : bundle.leaf;
    return { ca, leaf, ...(stillValid(previousCaPem, now) ? { previousCaPem } : {}) };
  }

  private issueLeaf(ca: KeyPair, now: Date): Promise<KeyPair> {
    const ips = this.opts.ipAddresses ?? [];
    return createCertificateLazily(
      {
        commonName: this.opts.dnsNames[0] ?? ips[0] ?? "metallb-webhook",
        notBefore: new Date(now.getTime() - 60_000), // tolerate small clock skew
        notAfter: new Date(now.getTime() + (this.opts.leafLifetimeMs ?? 90 * DAY)),
        isCA: false,
        dnsNames: this.opts.dnsNames,
        ipAddresses: ips,
      },
      ca,
    );
  }

  private issueCa(now: Date): Promise<KeyPair> {
    return createCertificateLazily({
      commonName: `${CA_CN_PREFIX}${this.opts.identity}`,
      organizations: ["metallb"],
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + (this.opts.caLifetimeMs ?? 365 * DAY)),
      isCA: true,
    });
  }

  /** Key first, then certificate: a reader that sees the new key with the old certificate rejects the pair and waits. */
  private async writeFiles(bundle: CertBundle): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(join(this.opts.dir, KEY_FILE), bundle.leaf.keyPem, 0o600);
    await writeAtomic(join(this.opts.dir, CERT_FILE), bundle.leaf.certPem, 0o644);
    await writeAtomic(join(this.opts.dir, CA_FILE), this.caBundle, 0o644);
  }
}

/** @peculiar/x509 (with its reflect-metadata polyfill) costs ~15 MiB of RSS once loaded: only when issuing. */
async function createCertificateLazily(req: CertificateRequest, issuer?: KeyPair): Promise<KeyPair> {
  const { createCertificate } = await import("./x509.js");
  return createCertificate(req, issuer);
}
