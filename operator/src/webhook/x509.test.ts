import { describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, connect, type TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertificate } from "./x509.js";

const HOUR = 3_600_000;
const now = new Date("2026-11-23T12:00:00Z");
const ca = await createCertificate({
  commonName: "metallb-webhook-ca",
  organizations: ["metallb"],
  notBefore: now,
  notAfter: new Date(now.getTime() + 24 * HOUR),
  isCA: true,
});
const leaf = await createCertificate(
  {
    commonName: "metallb-webhook-service.metallb-system.svc",
    notBefore: now,
    notAfter: new Date(now.getTime() + 12 * HOUR),
    isCA: false,
    dnsNames: ["metallb-webhook-service.metallb-system.svc", "metallb-webhook-service.metallb-system.svc.cluster.local"],
    ipAddresses: ["127.0.0.1", "::1"],
  },
  ca,
);

/** The test needs the openssl CLI (scripts/install.sh installs it); without it the test fails and says so. */
function requireOpenssl(): void {
  try {
    execFileSync("openssl", ["version"]);
  } catch {
    throw new Error("openssl is not installed: apt-get install openssl (scripts/install.sh does)");
  }
}

describe("createCertificate", () => {
  test("node parses the CA and the leaf, and the leaf is issued and signed by the CA", () => {
    const caCert = new X509Certificate(ca.certPem);
    const leafCert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(leafCert.ca).toBe(false);
    expect(caCert.subject).toBe("O=metallb\nCN=metallb-webhook-ca");
    expect(leafCert.issuer).toBe(caCert.subject);
    expect(leafCert.checkIssued(caCert)).toBe(true);
    expect(leafCert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(leafCert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leafCert.checkHost("metallb-webhook-service.metallb-system.svc")).toBe("metallb-webhook-service.metallb-system.svc");
    expect(leafCert.subjectAltName).toContain("IP Address:0:0:0:0:0:0:0:1");
    expect(new Date(leafCert.validTo).getTime()).toBe(now.getTime() + 12 * HOUR);
  });

  test("a client certificate: clientAuth, every organization in the subject (the apiserver reads them as groups)", async () => {
    const client = await createCertificate(
      {
        commonName: "admin",
        organizations: ["system:masters", "team"],
        notBefore: now,
        notAfter: new Date(now.getTime() + HOUR),
        isCA: false,
        usage: "client",
      },
      ca,
    );
    const cert = new X509Certificate(client.certPem);
    expect(cert.subject).toBe("O=system:masters\nO=team\nCN=admin");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(new X509Certificate(leaf.certPem).keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
  });

  test("a different CA does not verify the leaf", async () => {
    const other = await createCertificate({ commonName: "other", notBefore: now, notAfter: new Date(now.getTime() + HOUR), isCA: true });
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
  });

  test("openssl accepts the chain and decodes the extensions", () => {
    requireOpenssl();
    const dir = mkdtempSync(join(tmpdir(), "x509-"));
    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    writeFileSync(join(dir, "leaf.pem"), leaf.certPem);
    const attime = String(Math.floor(now.getTime() / 1000) + 60);
    const verified = execFileSync("openssl", [
      "verify",
      "-attime",
      attime,
      "-purpose",
      "sslserver",
      "-CAfile",
      join(dir, "ca.pem"),
      join(dir, "leaf.pem"),
    ]).toString();
    expect(verified.trim()).toBe(`${join(dir, "leaf.pem")}: OK`);
    const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", join(dir, "leaf.pem")]).toString();
    expect(text).toContain("ecdsa-with-SHA256");
    expect(text).toContain("DNS:metallb-webhook-service.metallb-system.svc");
    expect(text).toContain("IP Address:127.0.0.1");
    expect(text).toContain("TLS Web Server Authentication");
    expect(text).toMatch(/Authority Key Identifier/);
  });

  test("node's TLS client accepts the served leaf with the CA as its only trust anchor", async () => {
    // The test's clock is "now", but the TLS stack uses the real clock: issue a fresh pair valid around the real time.
    const t = new Date(Date.now() - 60_000);
    const liveCa = await createCertificate({ commonName: "live-ca", notBefore: t, notAfter: new Date(t.getTime() + HOUR), isCA: true });
    const live = await createCertificate(
      { commonName: "live", notBefore: t, notAfter: new Date(t.getTime() + HOUR), isCA: false, ipAddresses: ["127.0.0.1"] },
      liveCa,
    );
    const server = createServer({ cert: live.certPem, key: live.keyPem }, (s) => s.end("hello"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const sock: TLSSocket = connect({ host: "127.0.0.1", port, ca: liveCa.certPem }, () => undefined);
        let data = "";
        sock.on("data", (d: Buffer) => (data += d.toString()));
        sock.on("end", () => resolve(data));
        sock.on("error", reject);
      });
      expect(got).toBe("hello");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
