// The webhook's API access: uncached listing for validation, and this replica's CAs merged into the caBundles of the
// ValidatingWebhookConfiguration and the CRD conversion webhooks (no certificate or key is ever stored in the API).
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { listAllPages } from "../../../shell/src/informer.js";
import { kubeRequest, statusMessage, type RawResponse } from "../../../shell/src/kube-raw.js";
import type { Logger } from "../../../shell/src/logger.js";
import type { ListedKind, Lister } from "./admission.js";
import { bundleHolds, joinPem, mergeCaBundle, splitPem } from "./ca-bundle.js";
import type { CaBundleInjector } from "./cert-rotator.js";

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

export interface KubeInjectorOptions {
  /** ValidatingWebhookConfiguration names whose every webhook gets the bundle. */
  readonly validatingWebhookConfigurations: readonly string[];
  /** CRDs whose conversion webhook gets the bundle (only when their strategy is Webhook). */
  readonly crds: readonly string[];
  /** This replica, as named in its CAs (its Pod name in a cluster). */
  readonly identity: string;
  /** Namespace and name of the webhook Service: its EndpointSlices tell which replicas (Pods) are still there. */
  readonly namespace: string;
  readonly serviceName: string;
  /** A CA younger than this is not pruned for its replica's absence from the Service (default 5 minutes). */
  readonly pruneGraceMs?: number;
  readonly now?: () => Date;
  /** Attempts per object when another replica writes in between (default 8). */
  readonly maxAttempts?: number;
}

/** Where a bundle lives in an object: read it, and write a new one into a copy. */
interface BundleSlot {
  get(obj: Record<string, unknown>): string;
  set(obj: Record<string, unknown>, caBundleB64: string): void;
}

type ClientConfig = { caBundle?: string };

function webhookSlots(obj: Record<string, unknown>): BundleSlot[] {
  const hooks = Array.isArray(obj["webhooks"]) ? (obj["webhooks"] as Array<{ clientConfig?: ClientConfig }>) : [];
  return hooks.map((_h, i) => ({
    get: (o) => (o["webhooks"] as Array<{ clientConfig?: ClientConfig }>)[i]?.clientConfig?.caBundle ?? "",
    set: (o, v) => {
      const h = (o["webhooks"] as Array<{ clientConfig?: ClientConfig }>)[i];
      if (h !== undefined) h.clientConfig = { ...(h.clientConfig ?? {}), caBundle: v };
    },
  }));
}

type Conversion = { strategy?: string; webhook?: { clientConfig?: ClientConfig } };
const conversionOf = (o: Record<string, unknown>): Conversion | undefined => (o["spec"] as { conversion?: Conversion } | undefined)?.conversion;

function conversionSlots(obj: Record<string, unknown>): BundleSlot[] {
  const c = conversionOf(obj);
  if (c?.strategy !== "Webhook" || c.webhook?.clientConfig === undefined) return [];
  return [
    {
      get: (o) => conversionOf(o)?.webhook?.clientConfig?.caBundle ?? "",
      set: (o, v) => {
        const cc = conversionOf(o)?.webhook?.clientConfig;
        if (cc !== undefined) cc.caBundle = v;
      },
    },
  ];
}

/**
 * Merges this replica's CAs into every caBundle (ca-bundle.ts mergeCaBundle) with optimistic concurrency: the object
 * is read, the merged bundles written back with its resourceVersion (PUT), and a conflict (another replica wrote in
 * between) re-reads and merges again, so no live replica's CA is ever dropped. Missing objects are skipped (installed
 * later, injected at the next check).
 */
export class KubeCaBundleInjector implements CaBundleInjector {
  constructor(
    private readonly kc: KubeConfigLike,
    private readonly opts: KubeInjectorOptions,
    private readonly log: Logger,
  ) {}

  async inject(mine: readonly string[]): Promise<boolean> {
    const live = await this.liveReplicas();
    let holds = true;
    for (const name of this.opts.validatingWebhookConfigurations) {
      holds = (await this.merge(`/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`, webhookSlots, mine, live)) && holds;
    }
    for (const name of this.opts.crds) {
      holds = (await this.merge(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, conversionSlots, mine, live)) && holds;
    }
    return holds;
  }

  /**
   * The Pods behind the webhook Service (every endpoint, ready or not, terminating included: a Pod is gone once it
   * is not there at all). Undefined when this replica is not among them (it runs outside the Service, e.g. a process
   * on a test machine): then it cannot tell a gone replica from one it does not see, and prunes none for absence.
   */
  private async liveReplicas(): Promise<ReadonlySet<string> | undefined> {
    const q = new URLSearchParams({ labelSelector: `kubernetes.io/service-name=${this.opts.serviceName}` });
    const res = await kubeRequest(
      this.kc,
      "GET",
      `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/endpointslices?${q.toString()}`,
    );
    if (res.status !== 200) {
      this.log.warn({ reason: statusMessage(res) }, "listing the webhook Service's endpoints failed; pruning only expired CAs");
      return undefined;
    }
    type Slice = { endpoints?: Array<{ targetRef?: { kind?: string; name?: string } }> };
    const pods = new Set(
      ((res.body as { items?: Slice[] }).items ?? []).flatMap((s) =>
        (s.endpoints ?? []).flatMap((e) => (e.targetRef?.kind === "Pod" && e.targetRef.name !== undefined ? [e.targetRef.name] : [])),
      ),
    );
    return pods.has(this.opts.identity) ? pods : undefined;
  }

  /** Merges into every slot of one object; true when each holds all of `mine` afterwards (or the object is absent). */
  private async merge(
    path: string,
    slotsOf: (obj: Record<string, unknown>) => BundleSlot[],
    mine: readonly string[],
    live: ReadonlySet<string> | undefined,
  ): Promise<boolean> {
    const attempts = this.opts.maxAttempts ?? 8;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const got = await kubeRequest(this.kc, "GET", path);
      if (got.status === 404) {
        this.log.debug({ path }, "caBundle target not found, skipped");
        return true;
      }
      const obj = check(got, `get ${path}`).body as Record<string, unknown>;
      const slots = slotsOf(obj);
      const now = this.opts.now?.() ?? new Date();
      const next = structuredClone(obj);
      let changed = false;
      for (const slot of slots) {
        const current = splitPem(unb64(slot.get(obj)));
        const merged = mergeCaBundle({
          current,
          mine,
          self: this.opts.identity,
          live: (owner) => (live === undefined ? undefined : live.has(owner)),
          now,
          graceMs: this.opts.pruneGraceMs ?? 300_000,
        });
        const text = joinPem(merged);
        if (text === joinPem(current) || merged.length === 0) continue;
        slot.set(next, b64(text));
        changed = true;
      }
      if (!changed) return slots.every((slot) => bundleHolds(splitPem(unb64(slot.get(obj))), mine));
      // metadata.resourceVersion of the object read: the apiserver refuses the write (409) if anyone wrote since.
      const res = await kubeRequest(this.kc, "PUT", path, next);
      if (res.status === 409) {
        this.log.debug({ path, attempt }, "caBundle changed meanwhile, merging again");
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.floor(Math.random() * 50)));
        continue;
      }
      check(res, `update caBundle of ${path}`);
      this.log.info({ path, cas: slots.length === 0 ? 0 : splitPem(unb64(slotsOf(next)[0]?.get(next) ?? "")).length }, "webhook CA bundle merged");
      return true;
    }
    throw new Error(`update caBundle of ${path}: still conflicting after ${attempts} attempts`);
  }
}
