// Test PKI of the control plane: a CA, and server/client certificates signed by it, made by the same certificate
// code as the webhook's own PKI (operator/src/webhook/x509.ts), written as PEM files; and the service-account keys.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCertificate, type KeyPair } from "../../operator/src/webhook/x509.js";

export interface CertFiles {
  cert: string;
  key: string;
}

export interface CertRequest {
  /** File name stem inside the directory. */
  name: string;
  commonName: string;
  organizations?: readonly string[];
  ipSANs?: readonly string[];
  dnsSANs?: readonly string[];
  usage: "server" | "client";
}

const DAY = 86_400_000;

/** Valid from a minute ago (clock skew between this process and the children) for seven days. */
function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + 7 * DAY) };
}

function writePair(dir: string, name: string, pair: KeyPair): CertFiles {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  writeFileSync(files.key, pair.keyPem, { mode: 0o600 });
  writeFileSync(files.cert, pair.certPem);
  return files;
}

export async function makeCA(dir: string, name: string, commonName: string): Promise<CertFiles> {
  return writePair(dir, name, await createCertificate({ commonName, isCA: true, ...validity() }));
}

export async function signCert(dir: string, ca: CertFiles, req: CertRequest): Promise<CertFiles> {
  const issuer: KeyPair = { certPem: readFileSync(ca.cert, "utf8"), keyPem: readFileSync(ca.key, "utf8") };
  const pair = await createCertificate(
    {
      commonName: req.commonName,
      organizations: req.organizations ?? [],
      isCA: false,
      usage: req.usage,
      dnsNames: req.dnsSANs ?? [],
      ipAddresses: req.ipSANs ?? [],
      ...validity(),
    },
    issuer,
  );
  return writePair(dir, req.name, pair);
}

/** An RSA key pair for signing service-account tokens. */
export function makeServiceAccountKeys(dir: string): { publicKey: string; privateKey: string } {
  const pair = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const files = { publicKey: join(dir, "sa.pub"), privateKey: join(dir, "sa.key") };
  writeFileSync(files.publicKey, pair.publicKey);
  writeFileSync(files.privateKey, pair.privateKey, { mode: 0o600 });
  return files;
}
