// Test PKI made with the openssl CLI: a CA, and server/client certificates signed by it.
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./proc.js";

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

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export async function makeCA(dir: string, name: string, commonName: string): Promise<CertFiles> {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await run("openssl", [
    "req", "-x509", ...EC_KEY, "-keyout", files.key, "-out", files.cert, "-days", "7",
    "-subj", `/CN=${commonName}`,
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return files;
}

export async function signCert(dir: string, ca: CertFiles, req: CertRequest): Promise<CertFiles> {
  const files = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  const csr = join(dir, `${req.name}.csr`);
  const ext = join(dir, `${req.name}.ext`);
  const subject = `/CN=${req.commonName}${(req.organizations ?? []).map((o) => `/O=${o}`).join("")}`;
  const sans = [...(req.ipSANs ?? []).map((ip) => `IP:${ip}`), ...(req.dnsSANs ?? []).map((d) => `DNS:${d}`)];
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${req.usage === "server" ? "serverAuth" : "clientAuth"}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
  ];
  writeFileSync(ext, lines.join("\n") + "\n");
  await run("openssl", ["req", ...EC_KEY, "-keyout", files.key, "-out", csr, "-subj", subject]);
  await run("openssl", [
    "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", files.cert, "-days", "7", "-extfile", ext,
  ]);
  return files;
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
