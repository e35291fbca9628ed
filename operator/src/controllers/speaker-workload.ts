// Speaker workload controller (key "speakerWorkload"): when installed by OLM, the leader server-side applies the
// speaker DaemonSet (a no-op when nothing changed) and again after the resync period, restoring a deleted or edited one.
import { kubeRequest, statusMessage } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import { workloadObjectPath, type WorkloadObject } from "../speaker-workload.js";
import { KEYS, type OperatorContext } from "./context.js";

export class SpeakerWorkloadController {
  constructor(
    private readonly ctx: OperatorContext,
    private readonly objects: readonly WorkloadObject[],
    private readonly resyncMs: number,
  ) {}

  async reconcile(): Promise<Outcome> {
    for (const o of this.objects) {
      const res = await kubeRequest(
        this.ctx.kc,
        "PATCH",
        `${workloadObjectPath(o)}?fieldManager=metallb-ts-operator&force=true`,
        o,
        "application/apply-patch+yaml",
      );
      if (res.status >= 300) return { kind: "retry", reason: `applying ${o.kind} ${o.metadata.name}: ${statusMessage(res)}` };
    }
    this.ctx.queue.addAfter(KEYS.speakerWorkload, this.resyncMs);
    return DONE;
  }
}
