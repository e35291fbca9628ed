import { afterEach, describe, expect, test } from "@jest/globals";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PeerCertificate } from "node:tls";
import { silentLogger } from "../../../shell/src/logger.js";
import { CERT_FILE, KEY_FILE } from "./cert-rotator.js";
import { WebhookServer } from "./server.js";
import { createCertificate, type KeyPair } from "./x509.js";

const HOUR = 3_600_000;
const t = new Date(Date.now() - 60_000);
const ca = await createCertificate({ commonName: "ca", notBefore: t, notAfter: new Date(t.getTime() + HOUR), isCA: true });
const leaf = (): Promise<KeyPair> =>
  createCertificate({ commonName: "leaf", notBefore: t, notAfter: new Date(t.getTime() + HOUR), isCA: false, ipAddresses: ["127.0.0.1"] }, ca);

function writePair(dir: string, pair: KeyPair): void {
  for (const [f, data] of [
    [KEY_FILE, pair.keyPem],
    [CERT_FILE, pair.certPem],
  ] as const) {
    writeFileSync(join(dir, `.${f}.tmp`), data);
    renameSync(join(dir, `.${f}.tmp`), join(dir, f));
  }
}

function post(port: number, path: string, body: unknown): Promise<{ status: number; body: unknown; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "POST", ca: ca.certPem, agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        const serial = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().serialNumber;
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, serial }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

let server: WebhookServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("WebhookServer", () => {
  test("serves admission and conversion, and swaps the certificate when the files change", async () => {
    const dir = mkdtempSync(join(tmpdir(), "whsrv-"));
    writePair(dir, await leaf());
    server = new WebhookServer({
      host: "127.0.0.1",
      port: 0,
      certDir: dir,
      namespace: "metallb-system",
      lister: { list: () => Promise.resolve([]) },
      log: silentLogger,
      reloadDebounceMs: 10,
    });
    const port = await server.start();
    const pool = {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: "p", namespace: "metallb-system" },
      spec: { addresses: ["bad"] },
    };
    const review = {
      request: { uid: "1", kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" }, operation: "CREATE", name: "p", object: pool },
    };
    const first = await post(port, "/validate-metallb-io-v1beta1-ipaddresspool", review);
    expect(first.body).toMatchObject({ kind: "AdmissionReview", response: { uid: "1", allowed: false } });
    const conv = await post(port, "/convert", { request: { uid: "2", desiredAPIVersion: "metallb.io/v1beta2", objects: [] } });
    expect(conv.body).toMatchObject({ response: { uid: "2", result: { status: "Success" } } });
    expect((await post(port, "/nope", {})).status).toBe(404);

    const next = await leaf();
    writePair(dir, next);
    const deadline = Date.now() + 10_000;
    let serial = first.serial;
    while (serial === first.serial && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      serial = (await post(port, "/validate-metallb-io-v1beta1-ipaddresspool", review)).serial;
    }
    expect(serial).not.toBe(first.serial);
  });

  test("a key without its certificate is not loaded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "whsrv-"));
    writePair(dir, await leaf());
    server = new WebhookServer({ host: "127.0.0.1", port: 0, certDir: dir, namespace: "ns", lister: { list: () => Promise.resolve([]) }, log: silentLogger });
    await server.start();
    writeFileSync(join(dir, KEY_FILE), (await leaf()).keyPem);
    expect(await server.reload()).toBe(false);
  });
});
