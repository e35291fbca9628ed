// Kubeconfig loading without @kubernetes/client-node's runtime: importing that package costs 107–120 MiB of RSS (its
// KubeConfig pulls in the generated API), more than the operator's own data at 2,000 Services. The operator and the
// speaker need only what client-go's rest.InClusterConfig and clientcmd give a controller:
//   - in a Pod: KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount token file (re-read: bound tokens rotate) and CA;
//   - outside: KUBECONFIG (several files merged, the first to set a name wins) or ~/.kube/config, its current context,
//     client certificates, tokens, token files, basic auth, CA data or files, insecure-skip-tls-verify, tls-server-name.
// Exec and auth-provider plugins and proxies are refused with a clear error rather than half supported.
// Files (token, CA, client certificate and key) are read again when older than FILE_TTL_MS, as client-go re-reads a
// token file every minute; the pooled client (kube-client.ts) opens a new pool when the TLS material changes.
import { existsSync, readFileSync } from "node:fs";
import type * as https from "node:https";
import { isIPv6 } from "node:net";
import { dirname, isAbsolute, join } from "node:path";
import yaml from "js-yaml";

/** What KubeClient needs from a kubeconfig; client-node's KubeConfig has the same shape (the tests pass theirs). */
export interface KubeCluster {
  readonly server: string;
  readonly proxyUrl?: string | undefined;
}

export interface KubeConfigLike {
  getCurrentCluster(): KubeCluster | null;
  /** Adds the TLS material and the Authorization header of the current user to a request's options. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** A value given inline (base64 in the YAML, decoded here) or as a file read when needed. */
export type FileOrData = { file: string } | { data: Buffer };

export interface KubeCredentials {
  server: string;
  ca?: FileOrData | undefined;
  clientCert?: FileOrData | undefined;
  clientKey?: FileOrData | undefined;
  token?: string | undefined;
  tokenFile?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  impersonate?: string | undefined;
  insecureSkipTLSVerify?: boolean | undefined;
  tlsServerName?: string | undefined;
  /** The context's namespace (informational). */
  namespace?: string | undefined;
}

/** Where the files come from (tests pass their own). */
export interface KubeFiles {
  read(path: string): Buffer;
  exists(path: string): boolean;
}

export const NODE_FILES: KubeFiles = { read: (p) => readFileSync(p), exists: (p) => existsSync(p) };

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** How long a file read stays fresh (client-go re-reads a token file once a minute). */
export const FILE_TTL_MS = 60_000;

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeConfigError";
  }
}

/** A loaded kubeconfig: one cluster and one user, as the current context names them. */
export class LoadedKubeConfig implements KubeConfigLike {
  private readonly fileCache = new Map<string, { at: number; value: Buffer }>();

  constructor(
    readonly credentials: KubeCredentials,
    private readonly files: KubeFiles = NODE_FILES,
    private readonly now: () => number = Date.now,
  ) {
    const c = credentials;
    if (c.server === "") throw new KubeConfigError("kubeconfig: the cluster has no server");
    if (!/^https?:\/\//.test(c.server)) throw new KubeConfigError(`kubeconfig: server ${JSON.stringify(c.server)} is not an http(s) URL`);
    if (c.server.startsWith("http:") && c.insecureSkipTLSVerify !== true) {
      // client-node's rule: plain HTTP only when TLS verification is explicitly off (kubectl proxy, tests).
      throw new KubeConfigError(`kubeconfig: server ${c.server} is plain HTTP: set insecure-skip-tls-verify to use it`);
    }
    if ((c.clientCert === undefined) !== (c.clientKey === undefined))
      throw new KubeConfigError("kubeconfig: a client certificate needs its key and vice versa");
  }

  getCurrentCluster(): KubeCluster {
    return { server: this.credentials.server };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const c = this.credentials;
    const ca = this.value(c.ca);
    if (ca !== undefined) opts.ca = ca;
    const cert = this.value(c.clientCert);
    if (cert !== undefined) opts.cert = cert;
    const key = this.value(c.clientKey);
    if (key !== undefined) opts.key = key;
    if (c.insecureSkipTLSVerify === true) opts.rejectUnauthorized = false;
    if (c.tlsServerName !== undefined) opts.servername = c.tlsServerName;
    const headers = (opts.headers ??= {}) as Record<string, string | string[] | number | undefined>;
    const token = c.tokenFile !== undefined ? this.read(c.tokenFile).toString("utf8").trim() : c.token;
    if (token !== undefined && token !== "") headers.authorization = `Bearer ${token}`;
    else if (c.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ""}`).toString("base64")}`;
    if (c.impersonate !== undefined) headers["impersonate-user"] = c.impersonate;
    return Promise.resolve();
  }

  private value(v: FileOrData | undefined): Buffer | undefined {
    if (v === undefined) return undefined;
    return "data" in v ? v.data : this.read(v.file);
  }

  private read(path: string): Buffer {
    const hit = this.fileCache.get(path);
    const t = this.now();
    if (hit !== undefined && t - hit.at < FILE_TTL_MS) return hit.value;
    try {
      const value = this.files.read(path);
      this.fileCache.set(path, { at: t, value });
      return value;
    } catch (e) {
      // A rotated file may be missing for an instant (atomic symlink swap): keep the last good value.
      if (hit !== undefined) return hit.value;
      throw new KubeConfigError(`kubeconfig: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** The environment the default loading reads (main.ts passes process.env). */
export interface KubeConfigEnv {
  KUBECONFIG?: string | undefined;
  HOME?: string | undefined;
  KUBERNETES_SERVICE_HOST?: string | undefined;
  KUBERNETES_SERVICE_PORT?: string | undefined;
}

export interface LoadOptions {
  files?: KubeFiles;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
  /** Use this context instead of current-context. */
  context?: string;
}

/**
 * client-node's loadFromDefault order: $KUBECONFIG (path list, merged), else ~/.kube/config, else the in-cluster
 * ServiceAccount. Unlike client-node, no silent fallback to http://localhost:8080: nothing found is an error.
 */
export function loadKubeConfig(env: KubeConfigEnv, opts: LoadOptions = {}): LoadedKubeConfig {
  const files = opts.files ?? NODE_FILES;
  const list = (env.KUBECONFIG ?? "").split(":").filter((p) => p !== "");
  if (list.length > 0) return kubeConfigFromFiles(list, files, opts.context);
  if (env.HOME !== undefined && env.HOME !== "") {
    const home = join(env.HOME, ".kube", "config");
    if (files.exists(home)) return kubeConfigFromFiles([home], files, opts.context);
  }
  const sa = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (files.exists(join(sa, "token"))) return inClusterConfig(env, { files, serviceAccountDir: sa });
  throw new KubeConfigError(`no kubeconfig: set KUBECONFIG, create ~/.kube/config, or run in a Pod with a ServiceAccount token (${sa}/token)`);
}

/** client-go's rest.InClusterConfig: the Service env, the token file (re-read) and the CA of the ServiceAccount. */
export function inClusterConfig(env: KubeConfigEnv, opts: { files?: KubeFiles; serviceAccountDir?: string } = {}): LoadedKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const port = env.KUBERNETES_SERVICE_PORT ?? "";
  if (host === "" || port === "") throw new KubeConfigError("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  const files = opts.files ?? NODE_FILES;
  const sa = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const h = isIPv6(host) ? `[${host}]` : host;
  const nsFile = join(sa, "namespace");
  return new LoadedKubeConfig(
    {
      server: `https://${h}:${port}`,
      tokenFile: join(sa, "token"),
      ca: { file: join(sa, "ca.crt") },
      namespace: files.exists(nsFile) ? files.read(nsFile).toString("utf8").trim() : undefined,
    },
    files,
  );
}

type Named<T> = { name: string; value: T; dir: string };

interface ParsedFile {
  currentContext: string | undefined;
  clusters: Array<Named<Record<string, unknown>>>;
  users: Array<Named<Record<string, unknown>>>;
  contexts: Array<Named<Record<string, unknown>>>;
}

function parseFile(text: string, path: string): ParsedFile {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    throw new KubeConfigError(`kubeconfig ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const root = (doc ?? {}) as Record<string, unknown>;
  if (typeof root !== "object" || Array.isArray(root)) throw new KubeConfigError(`kubeconfig ${path}: not a mapping`);
  const dir = dirname(path);
  const named = (field: string, inner: string): Array<Named<Record<string, unknown>>> => {
    const arr = root[field];
    if (arr === undefined || arr === null) return [];
    if (!Array.isArray(arr)) throw new KubeConfigError(`kubeconfig ${path}: ${field} is not a list`);
    return arr.map((e: unknown, i) => {
      const o = (e ?? {}) as Record<string, unknown>;
      if (typeof o.name !== "string" || o.name === "") throw new KubeConfigError(`kubeconfig ${path}: ${field}[${i}] has no name`);
      const value = (o[inner] ?? {}) as Record<string, unknown>;
      return { name: o.name, value, dir };
    });
  };
  const cc = root["current-context"];
  return {
    currentContext: typeof cc === "string" && cc !== "" ? cc : undefined,
    clusters: named("clusters", "cluster"),
    users: named("users", "user"),
    contexts: named("contexts", "context"),
  };
}

/** Merges kubeconfig files as clientcmd does (the first file to set a name or current-context wins). */
export function kubeConfigFromFiles(paths: readonly string[], files: KubeFiles = NODE_FILES, context?: string): LoadedKubeConfig {
  const parsed = paths.map((p) => {
    let text: string;
    try {
      text = files.read(p).toString("utf8");
    } catch (e) {
      throw new KubeConfigError(`kubeconfig ${p}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return parseFile(text, p);
  });
  const first = <T>(pick: (f: ParsedFile) => Array<Named<T>>, name: string): Named<T> | undefined => {
    for (const f of parsed) {
      const hit = pick(f).find((n) => n.name === name);
      if (hit !== undefined) return hit;
    }
    return undefined;
  };
  const ctxName = context ?? parsed.find((f) => f.currentContext !== undefined)?.currentContext;
  if (ctxName === undefined) throw new KubeConfigError(`kubeconfig ${paths.join(":")}: no current-context`);
  const ctx = first((f) => f.contexts, ctxName);
  if (ctx === undefined) throw new KubeConfigError(`kubeconfig: context ${JSON.stringify(ctxName)} not found`);
  const clusterName = str(ctx.value, "cluster", "context") ?? "";
  const cluster = first((f) => f.clusters, clusterName);
  if (cluster === undefined) throw new KubeConfigError(`kubeconfig: cluster ${JSON.stringify(clusterName)} of context ${ctxName} not found`);
  const userName = str(ctx.value, "user", "context");
  const user = userName === undefined || userName === "" ? undefined : first((f) => f.users, userName);
  if (userName !== undefined && userName !== "" && user === undefined) throw new KubeConfigError(`kubeconfig: user ${JSON.stringify(userName)} not found`);
  return new LoadedKubeConfig(
    { ...clusterCredentials(cluster), ...(user !== undefined ? userCredentials(user) : {}), namespace: str(ctx.value, "namespace", "context") },
    files,
  );
}

function str(o: Record<string, unknown>, field: string, where: string): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new KubeConfigError(`kubeconfig: ${where}.${field} is not a string`);
  return v;
}

function fileOrData(o: Record<string, unknown>, fileField: string, dataField: string, dir: string, where: string): FileOrData | undefined {
  const data = str(o, dataField, where);
  if (data !== undefined && data !== "") return { data: Buffer.from(data, "base64") };
  const file = str(o, fileField, where);
  if (file !== undefined && file !== "") return { file: isAbsolute(file) ? file : join(dir, file) };
  return undefined;
}

function clusterCredentials(n: Named<Record<string, unknown>>): KubeCredentials {
  const c = n.value;
  const where = `cluster ${n.name}`;
  const proxy = str(c, "proxy-url", where);
  if (proxy !== undefined && proxy !== "") throw new KubeConfigError(`kubeconfig: ${where}: proxy-url is not supported`);
  const skip = c["insecure-skip-tls-verify"];
  return {
    server: str(c, "server", where) ?? "",
    ca: fileOrData(c, "certificate-authority", "certificate-authority-data", n.dir, where),
    insecureSkipTLSVerify: skip === true,
    tlsServerName: str(c, "tls-server-name", where),
  };
}

function userCredentials(n: Named<Record<string, unknown>>): Partial<KubeCredentials> {
  const u = n.value;
  const where = `user ${n.name}`;
  for (const unsupported of ["exec", "auth-provider"]) {
    if (u[unsupported] !== undefined && u[unsupported] !== null) {
      throw new KubeConfigError(`kubeconfig: ${where}: ${unsupported} credential plugins are not supported; use a token, token file or client certificate`);
    }
  }
  const tokenFile = str(u, "tokenFile", where);
  return {
    clientCert: fileOrData(u, "client-certificate", "client-certificate-data", n.dir, where),
    clientKey: fileOrData(u, "client-key", "client-key-data", n.dir, where),
    token: str(u, "token", where),
    tokenFile: tokenFile === undefined || tokenFile === "" ? undefined : isAbsolute(tokenFile) ? tokenFile : join(n.dir, tokenFile),
    username: str(u, "username", where),
    password: str(u, "password", where),
    impersonate: str(u, "as", where),
  };
}
