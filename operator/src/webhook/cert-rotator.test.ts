import { describe, expect, test } from "@jest/globals";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../shell/src/logger.js";
import { caOwner, splitPem } from "./ca-bundle.js";
import { CA_FILE, CERT_FILE, CertRotator, KEY_FILE, needsRenewal } from "./cert-rotator.js";

const DAY = 86_400_000;

function setup(start: Date, holds = true): { rotator: CertRotator; dir: string; injected: string[]; clock: { now: Date } } {
  const dir = mkdtempSync(join(tmpdir(), "rotator-"));
  const injected: string[] = [];
  const clock = { now: start };
  const rotator = new CertRotator({
    dir,
    dnsNames: ["svc.ns.svc"],
    ipAddresses: ["127.0.0.1"],
    identity: "operator-7d9f-abcde",
    injector: { inject: (mine) => Promise.resolve(injected.push(mine.join("")) > 0 && holds) },
    log: silentLogger,
    now: () => clock.now,
    caLifetimeMs: 300 * DAY,
    leafLifetimeMs: 30 * DAY,
  });
  return { rotator, dir, injected, clock };
}

const read = (dir: string, f: string): string => readFileSync(join(dir, f), "utf8");

describe("CertRotator", () => {
  test("issues a CA and a leaf, writes the files and injects the CA", async () => {
    const { rotator, dir, injected } = setup(new Date());
    await rotator.check();
    const leaf = new X509Certificate(read(dir, CERT_FILE));
    const ca = new X509Certificate(read(dir, CA_FILE));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkPrivateKey((await import("node:crypto")).createPrivateKey(read(dir, KEY_FILE)))).toBe(true);
    expect(injected).toEqual([read(dir, CA_FILE)]);
    expect(caOwner(read(dir, CA_FILE))).toBe("operator-7d9f-abcde");
    expect(rotator.injected).toBe(true);
  });

  test("not injected (a bundle lacks its CA): the replica must not report Ready", async () => {
    const { rotator } = setup(new Date(), false);
    await rotator.check();
    expect(rotator.injected).toBe(false);
  });

  test("each rotator (replica) has its own CA, held in memory only", async () => {
    const a = setup(new Date());
    const b = setup(new Date());
    await a.rotator.check();
    await b.rotator.check();
    expect(a.rotator.caBundle).not.toBe(b.rotator.caBundle);
    expect(splitPem(a.rotator.caBundle)).toHaveLength(1);
  });

  test("keeps the leaf before 2/3 of its lifetime, renews it after with the same CA", async () => {
    const start = new Date();
    const { rotator, dir, injected, clock } = setup(start);
    await rotator.check();
    const first = read(dir, CERT_FILE);
    clock.now = new Date(start.getTime() + 19 * DAY);
    await rotator.check();
    expect(read(dir, CERT_FILE)).toBe(first);
    clock.now = new Date(start.getTime() + 21 * DAY);
    await rotator.check();
    expect(read(dir, CERT_FILE)).not.toBe(first);
    expect(new Set(injected).size).toBe(1); // same CA bundle throughout
  });

  test("a CA renewal keeps the previous CA in the bundle and the still-good leaf until its own renewal", async () => {
    const start = new Date();
    const { rotator, dir, clock } = setup(start);
    await rotator.check();
    const oldCa = read(dir, CA_FILE);
    const oldLeaf = read(dir, CERT_FILE);
    await rotator.check("ca");
    const bundle = read(dir, CA_FILE);
    expect(bundle.endsWith(oldCa)).toBe(true);
    expect(bundle.length).toBeGreaterThan(oldCa.length);
    expect(read(dir, CERT_FILE)).toBe(oldLeaf);
    clock.now = new Date(start.getTime() + 21 * DAY);
    await rotator.check();
    const newLeaf = new X509Certificate(read(dir, CERT_FILE));
    expect(newLeaf.verify(new X509Certificate(bundle.slice(0, bundle.length - oldCa.length)).publicKey)).toBe(true);
  });

  test("needsRenewal from 2/3 of the lifetime on", async () => {
    const start = new Date();
    const { rotator, dir } = setup(start);
    await rotator.check();
    const pem = read(dir, CERT_FILE);
    const from = new Date(new X509Certificate(pem).validFrom).getTime();
    expect(needsRenewal(pem, new Date(from + 19 * DAY))).toBe(false);
    expect(needsRenewal(pem, new Date(from + 21 * DAY))).toBe(true);
    expect(needsRenewal("garbage", start)).toBe(true);
  });
});
