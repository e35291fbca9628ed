// The webhook's API access: uncached listing for validation, the certificate Secret, and CA bundle injection into the
// ValidatingWebhookConfiguration and the CRD conversion webhooks.
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { listAllPages } from "../../../shell/src/informer.js";
import { kubeRequest, statusMessage, type RawResponse } from "../../../shell/src/kube-raw.js";
import type { Logger } from "../../../shell/src/logger.js";
import type { ListedKind, Lister } from "./admission.js";
import type { CaBundleInjector, CertBundle, CertStore } from "./cert-rotator.js";

const LIST_PATHS: Record<Exclude<ListedKind, "Node">, string> = {
  IPAddressPool: "metallb.io/v1beta1/namespaces/{ns}/ipaddresspools",
  L2Advertisement: "metallb.io/v1beta1/namespaces/{ns}/l2advertisements",
  BGPAdvertisement: "metallb.io/v1beta1/namespaces/{ns}/bgpadvertisements",
  BGPPeer: "metallb.io/v1beta2/namespaces/{ns}/bgppeers",
  BFDProfile: "metallb.io/v1beta1/namespaces/{ns}/bfdprofiles",
  Community: "metallb.io/v1beta1/namespaces/{ns}/communities",
};

function check(res: RawResponse, what: string): RawResponse {
  if (res.status >= 300) throw new Error(`${what}: HTTP ${res.status}: ${statusMessage(res)}`);
  return res;
}

/** Lists straight from the apiserver (no cache: a webhook must see the objects admitted a moment ago). */
export function kubeLister(kc: KubeConfigLike, namespace: string): Lister {
  return {
    async list(kind: ListedKind): Promise<readonly unknown[]> {
      const path = kind === "Node" ? "/api/v1/nodes" : `/apis/${LIST_PATHS[kind].replace("{ns}", encodeURIComponent(namespace))}`;
      try {
        // Paginated: a webhook validating against 1,000 Nodes or many pools does not ask for one huge page.
        return (await listAllPages<Record<string, unknown>>(kc, path, new URLSearchParams())).items;
      } catch (e) {
        throw new Error(`list ${kind}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: unknown): string => (typeof s === "string" ? Buffer.from(s, "base64").toString("utf8") : "");

/** The bundle in a Secret (`tls.crt`, `tls.key`, `ca.crt`, `ca.key`, `ca-previous.crt`), shared by the replicas. */
export class SecretCertStore implements CertStore {
  private resourceVersion: string | undefined;

  constructor(
    private readonly kc: KubeConfigLike,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  private get path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`;
  }

  async load(): Promise<CertBundle | undefined> {
    const res = await kubeRequest(this.kc, "GET", `${this.path}/${encodeURIComponent(this.name)}`);
    if (res.status === 404) {
      this.resourceVersion = undefined;
      return undefined;
    }
    const secret = check(res, `get Secret ${this.name}`).body as { data?: Record<string, string>; metadata?: { resourceVersion?: string } };
    this.resourceVersion = secret.metadata?.resourceVersion;
    const d = secret.data ?? {};
    const [cert, key, caCert, caKey, prev] = [d["tls.crt"], d["tls.key"], d["ca.crt"], d["ca.key"], d["ca-previous.crt"]].map(unb64);
    if (cert === "" || key === "" || caCert === "" || caKey === "") return undefined;
    return { ca: { certPem: caCert ?? "", keyPem: caKey ?? "" }, leaf: { certPem: cert ?? "", keyPem: key ?? "" }, ...(prev ? { previousCaPem: prev } : {}) };
  }

  async save(bundle: CertBundle): Promise<CertBundle> {
    const data: Record<string, string> = {
      "tls.crt": b64(bundle.leaf.certPem),
      "tls.key": b64(bundle.leaf.keyPem),
      "ca.crt": b64(bundle.ca.certPem),
      "ca.key": b64(bundle.ca.keyPem),
      ...(bundle.previousCaPem !== undefined ? { "ca-previous.crt": b64(bundle.previousCaPem) } : {}),
    };
    const metadata = { name: this.name, namespace: this.namespace, ...(this.resourceVersion !== undefined ? { resourceVersion: this.resourceVersion } : {}) };
    const body = { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata, data };
    const res =
      this.resourceVersion === undefined
        ? await kubeRequest(this.kc, "POST", this.path, body)
        : await kubeRequest(this.kc, "PUT", `${this.path}/${encodeURIComponent(this.name)}`, body);
    if (res.status === 409) {
      // Another replica wrote first: use its bundle.
      const theirs = await this.load();
      if (theirs !== undefined) return theirs;
    }
    check(res, `save Secret ${this.name}`);
    this.resourceVersion = (res.body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    return bundle;
  }
}

export interface KubeInjectorOptions {
  /** ValidatingWebhookConfiguration names whose every webhook gets the bundle. */
  readonly validatingWebhookConfigurations: readonly string[];
  /** CRDs whose conversion webhook gets the bundle (only when their strategy is Webhook). */
  readonly crds: readonly string[];
}

interface JsonPatchOp {
  op: "add" | "replace" | "test";
  path: string;
  value: unknown;
}

/** Patches `caBundle` where it differs; missing objects are skipped (installed later, injected at the next check). */
export class KubeCaBundleInjector implements CaBundleInjector {
  constructor(
    private readonly kc: KubeConfigLike,
    private readonly opts: KubeInjectorOptions,
    private readonly log: Logger,
  ) {}

  async inject(caBundlePem: string): Promise<void> {
    const caBundle = b64(caBundlePem);
    for (const name of this.opts.validatingWebhookConfigurations) {
      await this.patch(`/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`, (obj) => {
        const hooks = Array.isArray(obj["webhooks"]) ? (obj["webhooks"] as Array<{ clientConfig?: { caBundle?: string } }>) : [];
        return hooks.flatMap((h, i) =>
          h.clientConfig?.caBundle === caBundle ? [] : [{ op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }],
        );
      });
    }
    for (const name of this.opts.crds) {
      await this.patch(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, (obj) => {
        const conversion = (obj["spec"] as { conversion?: { strategy?: string; webhook?: { clientConfig?: { caBundle?: string } } } } | undefined)?.conversion;
        if (conversion?.strategy !== "Webhook" || conversion.webhook?.clientConfig === undefined) return [];
        if (conversion.webhook.clientConfig.caBundle === caBundle) return [];
        return [{ op: "add", path: "/spec/conversion/webhook/clientConfig/caBundle", value: caBundle }];
      });
    }
  }

  private async patch(path: string, ops: (obj: Record<string, unknown>) => JsonPatchOp[]): Promise<void> {
    const got = await kubeRequest(this.kc, "GET", path);
    if (got.status === 404) {
      this.log.debug({ path }, "caBundle target not found, skipped");
      return;
    }
    const obj = check(got, `get ${path}`).body as Record<string, unknown>;
    const patch = ops(obj);
    if (patch.length === 0) return;
    const rv = (obj["metadata"] as { resourceVersion?: string } | undefined)?.resourceVersion;
    const guarded = [{ op: "test" as const, path: "/metadata/resourceVersion", value: rv }, ...patch];
    check(await kubeRequest(this.kc, "PATCH", path, guarded, "application/json-patch+json"), `patch caBundle of ${path}`);
    this.log.info({ path }, "webhook CA bundle injected");
  }
}
