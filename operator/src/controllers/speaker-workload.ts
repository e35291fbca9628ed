// Speaker workload controller (key "speakerWorkload"): when installed by OLM, the leader server-side applies the
// speaker DaemonSet (a no-op when nothing changed) and again after the resync period, restoring a deleted or edited one.
// With an owner (--speaker-workload-owner, the operator's own Deployment), every applied object carries an
// ownerReference to it: deleting the Deployment (OLM deletes it with the CSV) garbage-collects the speaker.
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { workloadObjectPath, type WorkloadObject } from "../speaker-workload.js";
import { KEYS, type OperatorContext } from "./context.js";

export class SpeakerWorkloadController {
  constructor(
    private readonly ctx: OperatorContext,
    private readonly objects: readonly WorkloadObject[],
    private readonly resyncMs: number,
    private readonly owner?: string,
  ) {}

  /** The ownerReference to the owner Deployment (its uid read now: a re-created Deployment has a new one). */
  private async ownerReference(namespace: string): Promise<{ ok: true; ref: object[] | undefined } | { ok: false; reason: string }> {
    if (this.owner === undefined) return { ok: true, ref: undefined };
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(this.owner)}`;
    const res = await kubeRequest(this.ctx.kc, "GET", path);
    if (res.status >= 300) return { ok: false, reason: `reading owner Deployment ${this.owner}: ${statusMessage(res)}` };
    const uid = (res.body as { metadata?: { uid?: string } } | undefined)?.metadata?.uid;
    if (uid === undefined) return { ok: false, reason: `owner Deployment ${this.owner} has no uid` };
    return { ok: true, ref: [{ apiVersion: "apps/v1", kind: "Deployment", name: this.owner, uid }] };
  }

  async reconcile(): Promise<Outcome> {
    const owners = new Map<string, object[] | undefined>();
    for (const o of this.objects) {
      const ns = o.metadata.namespace;
      if (!owners.has(ns)) {
        const r = await this.ownerReference(ns);
        if (!r.ok) return { kind: "retry", reason: r.reason };
        owners.set(ns, r.ref);
      }
      const ref = owners.get(ns);
      const body = ref === undefined ? o : { ...o, metadata: { ...o.metadata, ownerReferences: ref } };
      const res = await kubeRequest(
        this.ctx.kc,
        "PATCH",
        `${workloadObjectPath(o)}?fieldManager=metallb-ts-operator&force=true`,
        body,
        "application/apply-patch+yaml",
      );
      if (res.status >= 300) return { kind: "retry", reason: `applying ${o.kind} ${o.metadata.name}: ${statusMessage(res)}` };
    }
    this.ctx.queue.addAfter(KEYS.speakerWorkload, this.resyncMs);
    return DONE;
  }
}
