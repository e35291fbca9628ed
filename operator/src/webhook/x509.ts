// A minimal X.509 v3 certificate builder (DER/ASN.1 by hand, signed with node:crypto ECDSA P-256 / SHA-256), enough
// for the webhook's own CA and serving certificate. No openssl binary and no X.509 library are needed at runtime.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { isIP } from "node:net";

// ---- DER encoding -------------------------------------------------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: tag byte, DER length, contents. */
export function tlv(tag: number, ...contents: readonly Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...items: readonly Buffer[]): Buffer => tlv(0x30, ...items);
const set = (...items: readonly Buffer[]): Buffer => tlv(0x31, ...items);
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const bitString = (b: Buffer, unusedBits = 0): Buffer => tlv(0x03, Buffer.from([unusedBits]), b);
const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, "utf8"));
const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes (minimal encoding). */
function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  const needsPad = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return tlv(0x02, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [a * 40 + b];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). Seconds precision, Zulu. */
export function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-11-23T21:49:31.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

// ---- certificate pieces -------------------------------------------------------------------------------------------

const OID = {
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

interface DistinguishedName {
  readonly commonName: string;
  readonly organization?: string;
}

function name(dn: DistinguishedName): Buffer {
  const rdns = [];
  if (dn.organization !== undefined) rdns.push(set(sequence(objectIdentifier(OID.organization), utf8String(dn.organization))));
  rdns.push(set(sequence(objectIdentifier(OID.commonName), utf8String(dn.commonName))));
  return sequence(...rdns);
}

const extension = (oid: string, critical: boolean, value: Buffer): Buffer =>
  sequence(objectIdentifier(oid), ...(critical ? [boolean(true)] : []), octetString(value));

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  // Expand "::" then write eight 16-bit groups.
  const [head = "", tail] = ip.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function subjectAltName(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  return sequence(...dnsNames.map((d) => tlv(0x82, Buffer.from(d, "ascii"))), ...ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))));
}

/** Key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1). */
function keyIdentifier(spki: Buffer): Buffer {
  // spki = SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }; for P-256 the BIT STRING is the last 66 bytes
  // (tag, length, unused-bits byte, 65-byte point); hashing the point is what matters for matching SKI/AKI.
  return createHash("sha1").update(spki.subarray(spki.length - 65)).digest();
}

// ---- public API ---------------------------------------------------------------------------------------------------

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly organization?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA certificate (keyCertSign, basicConstraints cA) instead of a TLS server certificate. */
  readonly isCA: boolean;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

interface Issuer {
  readonly dn: DistinguishedName;
  readonly key: KeyObject;
  readonly keyId: Buffer;
}

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.endsWith("\n") ? b64 : `${b64}\n`}-----END ${label}-----\n`;
}

function extensions(req: CertificateRequest, spki: Buffer, issuerKeyId: Buffer): Buffer {
  const exts = [
    // basicConstraints: cA TRUE for the CA; an empty SEQUENCE (cA FALSE by default) for the leaf.
    extension(OID.basicConstraints, true, req.isCA ? sequence(boolean(true)) : sequence()),
    // keyUsage: CA = digitalSignature|keyCertSign|cRLSign (0x86, 1 unused bit); leaf = digitalSignature (0x80, 7).
    extension(OID.keyUsage, true, req.isCA ? bitString(Buffer.from([0x86]), 1) : bitString(Buffer.from([0x80]), 7)),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, issuerKeyId))),
  ];
  if (!req.isCA) {
    exts.push(extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth))));
    exts.push(extension(OID.subjectAltName, false, subjectAltName(req.dnsNames ?? [], req.ipAddresses ?? [])));
  }
  return explicit(3, sequence(...exts));
}

/**
 * Creates a new ECDSA P-256 key and a certificate for it, self-signed when `issuer` is omitted (a CA), otherwise
 * signed by the issuer's key.
 */
export function createCertificate(req: CertificateRequest, issuer?: KeyPair): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const subject: DistinguishedName = { commonName: req.commonName, ...(req.organization !== undefined ? { organization: req.organization } : {}) };
  const signer: Issuer =
    issuer === undefined
      ? { dn: subject, key: privateKey, keyId: keyIdentifier(spki) }
      : issuerFrom(issuer);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, 16 significant bytes
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSHA256));
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3
    unsignedInteger(serial),
    algorithm,
    name(signer.dn),
    sequence(derTime(req.notBefore), derTime(req.notAfter)),
    name(subject),
    spki,
    extensions(req, spki, signer.keyId),
  );
  const signature = sign("sha256", tbs, signer.key); // DER-encoded ECDSA-Sig-Value
  const der = sequence(tbs, algorithm, bitString(signature));
  return { certPem: toPem(der, "CERTIFICATE"), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

function issuerFrom(ca: KeyPair): Issuer {
  const cert = new X509Certificate(ca.certPem);
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "";
  const o = /(?:^|\n)O=([^\n]*)/.exec(cert.subject)?.[1];
  const dn: DistinguishedName = { commonName: cn, ...(o !== undefined ? { organization: o } : {}) };
  return { dn, key: createPrivateKey(ca.keyPem), keyId: keyIdentifier(spki) };
}
