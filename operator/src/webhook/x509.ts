// X.509 certificates for the webhook's own CA and serving certificate (cert-rotator.ts), and for the test PKI of the
// control plane (testenv/src/certs.ts): ECDSA P-256 / SHA-256 keys from Node's WebCrypto, certificates built and
// signed by @peculiar/x509. No openssl binary is needed.
import "reflect-metadata"; // @peculiar/x509 (through tsyringe) needs a Reflect metadata polyfill loaded before it
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";

const crypto = webcrypto;

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

export interface KeyPair {
  readonly certPem: string;
  /** PKCS#8 PEM ("PRIVATE KEY"). */
  readonly keyPem: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  /** Subject O= values (for a client certificate of the apiserver: its groups). */
  readonly organizations?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA certificate (keyCertSign, basicConstraints cA) instead of a TLS leaf certificate. */
  readonly isCA: boolean;
  /** What a leaf certificate is for (extended key usage): TLS server (default) or TLS client. */
  readonly usage?: "server" | "client";
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** Subject name as @peculiar/x509's JSON form (no string escaping): O= values first, then CN=. */
function subjectName(req: CertificateRequest): x509.JsonName {
  return [...(req.organizations ?? []).map((o) => ({ O: [o] })), { CN: [req.commonName] }];
}

/** A positive 128-bit serial number in hex. */
function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return Buffer.from(bytes).toString("hex");
}

async function extensions(req: CertificateRequest, publicKey: webcrypto.CryptoKey, issuer: x509.X509Certificate | undefined): Promise<x509.Extension[]> {
  const { KeyUsageFlags: U } = x509;
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(req.isCA, undefined, true),
    new x509.KeyUsagesExtension(req.isCA ? U.digitalSignature | U.keyCertSign | U.cRLSign : U.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
  ];
  if (issuer !== undefined) exts.push(await x509.AuthorityKeyIdentifierExtension.create(issuer, false, crypto));
  else exts.push(await x509.AuthorityKeyIdentifierExtension.create(publicKey, false, crypto));
  if (!req.isCA) {
    exts.push(new x509.ExtendedKeyUsageExtension([req.usage === "client" ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]));
    const names = [
      ...(req.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
      ...(req.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ];
    if (names.length > 0) exts.push(new x509.SubjectAlternativeNameExtension(names));
  }
  return exts;
}

/**
 * Creates a new ECDSA P-256 key and a certificate for it, self-signed when `issuer` is omitted (a CA), otherwise
 * signed by the issuer's key.
 */
export async function createCertificate(req: CertificateRequest, issuer?: KeyPair): Promise<KeyPair> {
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const issuerCert = issuer === undefined ? undefined : new x509.X509Certificate(issuer.certPem);
  const signingKey =
    issuer === undefined
      ? keys.privateKey
      : await crypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(issuer.keyPem), KEY_ALGORITHM, false, ["sign"]);
  const subject = subjectName(req);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject,
      issuer: issuerCert?.subjectName ?? subject,
      notBefore: req.notBefore,
      notAfter: req.notAfter,
      publicKey: keys.publicKey,
      signingKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await extensions(req, keys.publicKey, issuerCert),
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: `${cert.toString("pem")}\n`, keyPem: `${x509.PemConverter.encode(pkcs8, "PRIVATE KEY")}\n` };
}
