import { describe, expect, test } from "@jest/globals";
import type * as https from "node:https";
import yaml from "js-yaml";
import { FILE_TTL_MS, inClusterConfig, kubeConfigFromFiles, KubeConfigError, LoadedKubeConfig, loadKubeConfig, type KubeFiles } from "./kubeconfig.js";

/** Files in memory (path → content); `set` replaces one (a rotated token). */
function memFiles(init: Record<string, string>): KubeFiles & { set(p: string, v: string): void; reads: string[] } {
  const m = new Map(Object.entries(init));
  const reads: string[] = [];
  return {
    reads,
    set: (p, v) => m.set(p, v),
    exists: (p) => m.has(p),
    read: (p) => {
      reads.push(p);
      const v = m.get(p);
      if (v === undefined) throw new Error(`ENOENT: ${p}`);
      return Buffer.from(v);
    },
  };
}

const b64 = (s: string): string => Buffer.from(s).toString("base64");

async function applied(kc: LoadedKubeConfig): Promise<https.RequestOptions & { headers: Record<string, unknown> }> {
  const o: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(o);
  return o as https.RequestOptions & { headers: Record<string, unknown> };
}

const str = (b: unknown): string | undefined => (Buffer.isBuffer(b) ? b.toString("utf8") : undefined);

describe("kubeconfig files", () => {
  const twoContexts = yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "admin",
    clusters: [
      { name: "c1", cluster: { server: "https://127.0.0.1:6443", "certificate-authority-data": b64("CA1") } },
      { name: "c2", cluster: { server: "https://10.0.0.1:443", "certificate-authority": "pki/ca.crt", "tls-server-name": "kubernetes" } },
    ],
    users: [
      { name: "admin", user: { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") } },
      { name: "ops", user: { token: "tok-1" } },
      { name: "files", user: { "client-certificate": "/abs/cert.pem", "client-key": "key.pem" } },
    ],
    contexts: [
      { name: "admin", context: { cluster: "c1", user: "admin", namespace: "kube-system" } },
      { name: "ops", context: { cluster: "c2", user: "ops" } },
      { name: "files", context: { cluster: "c2", user: "files" } },
    ],
  });

  test("current context: client certificate and CA data", async () => {
    const kc = kubeConfigFromFiles(["/home/u/.kube/config"], memFiles({ "/home/u/.kube/config": twoContexts }));
    expect(kc.getCurrentCluster()).toEqual({ server: "https://127.0.0.1:6443" });
    expect(kc.credentials.namespace).toBe("kube-system");
    const o = await applied(kc);
    expect([str(o.ca), str(o.cert), str(o.key)]).toEqual(["CA1", "CERT", "KEY"]);
    expect(o.headers.authorization).toBeUndefined();
  });

  test("another context: token, CA file relative to the kubeconfig, tls-server-name", async () => {
    const files = memFiles({ "/home/u/.kube/config": twoContexts, "/home/u/.kube/pki/ca.crt": "CA2" });
    const o = await applied(kubeConfigFromFiles(["/home/u/.kube/config"], files, "ops"));
    expect(str(o.ca)).toBe("CA2");
    expect(o.servername).toBe("kubernetes");
    expect(o.headers.authorization).toBe("Bearer tok-1");
    expect(o.cert).toBeUndefined();
  });

  test("client certificate and key files (absolute and relative paths)", async () => {
    const files = memFiles({ "/k/config": twoContexts, "/k/pki/ca.crt": "CA2", "/abs/cert.pem": "C", "/k/key.pem": "K" });
    const o = await applied(kubeConfigFromFiles(["/k/config"], files, "files"));
    expect([str(o.cert), str(o.key)]).toEqual(["C", "K"]);
  });

  test("KUBECONFIG with two files: the first to define a name or current-context wins", async () => {
    const a = yaml.dump({
      clusters: [{ name: "c", cluster: { server: "https://a:1", "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "A" } }],
    });
    const b = yaml.dump({
      "current-context": "x",
      clusters: [{ name: "c", cluster: { server: "https://b:2" } }],
      users: [{ name: "u", user: { token: "B" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    });
    const kc = loadKubeConfig({ KUBECONFIG: "/a:/b", HOME: "/home/u" }, { files: memFiles({ "/a": a, "/b": b }) });
    expect(kc.getCurrentCluster().server).toBe("https://a:1");
    const o = await applied(kc);
    expect(o.headers.authorization).toBe("Bearer A");
    expect(o.rejectUnauthorized).toBe(false);
  });

  test("basic auth and impersonation", async () => {
    const text = yaml.dump({
      "current-context": "x",
      clusters: [{ name: "c", cluster: { server: "https://a:1" } }],
      users: [{ name: "u", user: { username: "bob", password: "pw", as: "alice" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    });
    const o = await applied(kubeConfigFromFiles(["/c"], memFiles({ "/c": text })));
    expect(o.headers.authorization).toBe(`Basic ${b64("bob:pw")}`);
    expect(o.headers["impersonate-user"]).toBe("alice");
  });

  const oneUser = (user: Record<string, unknown>, cluster: Record<string, unknown> = { server: "https://a:1" }): string =>
    yaml.dump({
      "current-context": "x",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "u", user }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    });

  test.each<[string, string, RegExp]>([
    ["an exec plugin", oneUser({ exec: { command: "aws" } }), /exec credential plugins are not supported/],
    ["an auth-provider", oneUser({ "auth-provider": { name: "oidc" } }), /auth-provider credential plugins are not supported/],
    ["a proxy", oneUser({ token: "t" }, { server: "https://a:1", "proxy-url": "http://p:3128" }), /proxy-url is not supported/],
    ["plain HTTP with TLS verification on", oneUser({ token: "t" }, { server: "http://a:8080" }), /plain HTTP/],
    ["a certificate without its key", oneUser({ "client-certificate-data": b64("C") }), /needs its key/],
    ["no server", oneUser({ token: "t" }, {}), /no server/],
    ["a missing context", yaml.dump({ "current-context": "nope", clusters: [], users: [], contexts: [] }), /context "nope" not found/],
    ["no current-context", yaml.dump({ clusters: [] }), /no current-context/],
    ["a list that is not a list", yaml.dump({ "current-context": "x", clusters: { a: 1 } }), /clusters is not a list/],
    ["broken YAML", "clusters: [", /kubeconfig \/c:/],
  ])("refuses %s with a clear error", (_d, text, want) => {
    expect(() => kubeConfigFromFiles(["/c"], memFiles({ "/c": text }))).toThrow(want);
  });

  test("plain HTTP is allowed when TLS verification is explicitly off (kubectl proxy)", () => {
    const kc = kubeConfigFromFiles(["/c"], memFiles({ "/c": oneUser({}, { server: "http://127.0.0.1:8001", "insecure-skip-tls-verify": true }) }));
    expect(kc.getCurrentCluster().server).toBe("http://127.0.0.1:8001");
  });
});

describe("default loading order", () => {
  const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
  const home = yaml.dump({
    "current-context": "h",
    clusters: [{ name: "c", cluster: { server: "https://home:6443" } }],
    users: [{ name: "u", user: { token: "H" } }],
    contexts: [{ name: "h", context: { cluster: "c", user: "u" } }],
  });
  const inCluster = { [`${sa}/token`]: "SA1", [`${sa}/ca.crt`]: "SACA", [`${sa}/namespace`]: "metallb-system\n" };
  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

  test("~/.kube/config before the ServiceAccount", () => {
    const kc = loadKubeConfig({ ...env, HOME: "/root" }, { files: memFiles({ "/root/.kube/config": home, ...inCluster }) });
    expect(kc.getCurrentCluster().server).toBe("https://home:6443");
  });

  test("in a Pod: the Service env, the token and CA of the ServiceAccount", async () => {
    const kc = loadKubeConfig({ ...env, HOME: "/root" }, { files: memFiles(inCluster) });
    expect(kc.getCurrentCluster().server).toBe("https://10.96.0.1:443");
    expect(kc.credentials.namespace).toBe("metallb-system");
    const o = await applied(kc);
    expect(o.headers.authorization).toBe("Bearer SA1");
    expect(str(o.ca)).toBe("SACA");
  });

  test("an IPv6 service host is bracketed", () => {
    const kc = inClusterConfig({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, { files: memFiles(inCluster) });
    expect(kc.getCurrentCluster().server).toBe("https://[fd00::1]:443");
  });

  test("nothing found is an error, not a silent http://localhost:8080", () => {
    expect(() => loadKubeConfig({ HOME: "/root" }, { files: memFiles({}) })).toThrow(KubeConfigError);
    expect(() => loadKubeConfig({ HOME: "/root" }, { files: memFiles(inCluster) })).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  test("the token file is read again once it is a minute old (bound tokens rotate); a vanished file keeps the last token", async () => {
    const files = memFiles(inCluster);
    let now = 1_000_000;
    const first = inClusterConfig(env, { files });
    const kc = new LoadedKubeConfig(first.credentials, files, () => now);
    expect((await applied(kc)).headers.authorization).toBe("Bearer SA1");
    files.set(`${sa}/token`, "SA2\n");
    now += FILE_TTL_MS - 1;
    expect((await applied(kc)).headers.authorization).toBe("Bearer SA1");
    now += 1;
    expect((await applied(kc)).headers.authorization).toBe("Bearer SA2");
    const reads = files.reads.filter((p) => p.endsWith("/token")).length;
    (files as unknown as { read: (p: string) => Buffer }).read = () => {
      throw new Error("ENOENT");
    };
    now += FILE_TTL_MS;
    expect((await applied(kc)).headers.authorization).toBe("Bearer SA2");
    expect(reads).toBe(2);
  });
});
