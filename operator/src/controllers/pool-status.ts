// Pool status controller (key "poolStatus"): IPAddressPool.status is the operator's. It publishes the allocator's
// counters when they differ from the object's status, including after someone edited the status by hand.
import { poolStatusFromCounters, poolStatusFromObject, samePoolStatus } from "../../../model/src/service/status.js";
import { stringifyWithBigInts } from "../../../shell/src/kube-raw.js";
import { DONE, type Outcome } from "../../../shell/src/workqueue.js";
import type { OperatorContext } from "./context.js";

export class PoolStatusController {
  constructor(private readonly ctx: OperatorContext) {}

  async reconcile(): Promise<Outcome> {
    const { ctx } = this;
    if (ctx.state.config === null) return DONE;
    const ns = ctx.settings.namespace;
    let failed = 0;
    for (const c of ctx.state.alloc.counters()) {
      const want = poolStatusFromCounters(c);
      const have = poolStatusFromObject(ctx.inf.pools.cache.get(c.pool, ns)?.status);
      if (have !== null && samePoolStatus(have, want)) continue;
      try {
        await ctx.writer.mergePatch(`/apis/metallb.io/v1beta1/namespaces/${ns}/ipaddresspools/${c.pool}/status`, stringifyWithBigInts({ status: want }));
      } catch (e) {
        failed++;
        ctx.log.warn({ pool: c.pool, err: e }, "writing pool status failed");
      }
    }
    return failed > 0 ? { kind: "retry", reason: "pool status" } : DONE;
  }
}
