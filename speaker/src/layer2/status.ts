// ServiceL2Status objects (MetalLB's contract): the node announcing a Service in Layer 2 mode keeps one object per
// Service in the speaker namespace (status node / serviceName / serviceNamespace / interfaces) and removes the
// objects of other nodes for the same Service; a node deletes its own objects for Services it no longer announces.
// Writes are coalesced: only the latest wanted state is written, one sync at a time.
import { createHash } from "node:crypto";
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import type { Logger } from "../../../shell/src/logger.js";

export interface AnnouncedService {
  /** "namespace/name". */
  service: string;
  /** Interfaces it is announced on when restricted by the advertisement; empty = all. */
  interfaces: readonly string[];
}

export interface L2StatusSyncOptions {
  kc: KubeConfigLike;
  nodeName: string;
  namespace: string;
  log: Logger;
  /** Called after every successful API round trip (liveness: apiserver contact). */
  onApiSuccess?: () => void;
}

interface Raw {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name: string }> };
}

const API = "metallb.io/v1beta1";
const NODE_LABEL = "metallb.io/node";
const NAME_LABEL = "metallb.io/service-name";
const NS_LABEL = "metallb.io/service-namespace";

/** The object name for a node's status of a Service: stable, so creates are idempotent. */
export function l2StatusName(node: string, service: string): string {
  return `l2-${createHash("sha256").update(`${node}/${service}`).digest("hex").slice(0, 20)}`;
}

export class L2StatusSync {
  private wanted: AnnouncedService[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly opts: L2StatusSyncOptions) {}

  /** Sets what this node announces now and schedules a sync. */
  set(announced: readonly AnnouncedService[]): void {
    this.wanted = [...announced].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
    this.kick();
  }

  /** Resolves when no sync is running or pending (tests). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.syncOnce();
      } catch (e) {
        this.opts.log.warn({ err: e }, "syncing ServiceL2Status failed, retrying");
        if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), 2_000);
      }
    } while (this.again && !this.stopped);
  }

  private async req(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: unknown }> {
    const res = await kubeRequest(this.opts.kc, method, path, body, contentType);
    if (res.status > 0 && res.status < 500) this.opts.onApiSuccess?.();
    return res;
  }

  private async syncOnce(): Promise<void> {
    const { nodeName, namespace } = this.opts;
    const path = `/apis/${API}/namespaces/${namespace}/servicel2statuses`;
    const list = await this.req("GET", path);
    if (list.status !== 200) throw new Error(`listing ServiceL2Status: ${statusMessage(list)}`);
    const items = (list.body as { items?: Raw[] }).items ?? [];
    const mine = new Set(this.wanted.map((w) => w.service));
    const keep = new Set<string>();
    for (const w of this.wanted) {
      const [svcNs = "", svcName = ""] = w.service.split("/");
      const name = l2StatusName(nodeName, w.service);
      keep.add(name);
      const status = {
        node: nodeName,
        serviceName: svcName,
        serviceNamespace: svcNs,
        ...(w.interfaces.length > 0 ? { interfaces: w.interfaces.map((n) => ({ name: n })) } : {}),
      };
      const cur = items.find((o) => o.metadata?.name === name);
      if (cur !== undefined && sameStatus(cur.status, status)) continue;
      if (cur === undefined) {
        const created = await this.req("POST", path, {
          apiVersion: API,
          kind: "ServiceL2Status",
          metadata: { name, namespace, labels: { [NODE_LABEL]: nodeName, [NAME_LABEL]: svcName, [NS_LABEL]: svcNs } },
        });
        if (created.status >= 300 && created.status !== 409) throw new Error(`creating ServiceL2Status for ${w.service}: ${statusMessage(created)}`);
      }
      // A merge patch cannot remove list entries selectively; replace the interfaces explicitly (null = none).
      const patch = { status: { ...status, interfaces: status.interfaces ?? null } };
      const res = await this.req("PATCH", `${path}/${name}/status`, patch, "application/merge-patch+json");
      if (res.status >= 300) throw new Error(`writing ServiceL2Status for ${w.service}: ${statusMessage(res)}`);
      this.opts.log.info({ service: w.service }, "ServiceL2Status written");
    }
    for (const o of items) {
      const name = o.metadata?.name ?? "";
      if (keep.has(name) || name === "") continue;
      const labels = o.metadata?.labels ?? {};
      const ownStale = labels[NODE_LABEL] === nodeName;
      // As MetalLB's leader does: another node's object for a Service this node announces is stale.
      const othersForMine = labels[NODE_LABEL] !== nodeName && mine.has(`${labels[NS_LABEL] ?? ""}/${labels[NAME_LABEL] ?? ""}`);
      if (!ownStale && !othersForMine) continue;
      const res = await this.req("DELETE", `${path}/${name}`);
      if (res.status >= 300 && res.status !== 404) throw new Error(`deleting ServiceL2Status ${name}: ${statusMessage(res)}`);
    }
  }
}

function sameStatus(a: Raw["status"], b: { node: string; serviceName: string; serviceNamespace: string; interfaces?: Array<{ name: string }> }): boolean {
  if (a === undefined) return false;
  const ai = (a.interfaces ?? []).map((i) => i.name).join(",");
  const bi = (b.interfaces ?? []).map((i) => i.name).join(",");
  return a.node === b.node && a.serviceName === b.serviceName && a.serviceNamespace === b.serviceNamespace && ai === bi;
}
