// What an IPAddressPool informer event asks of the operator. The pool's status is the operator's (MetalLB's
// controller owns it): a status that differs from the allocator's counters, e.g. edited by hand, is put back; a
// change of the status alone (our own status writes included) does not re-parse the configuration, which depends
// only on the pool's spec and labels (advertisements select pools by label).
import { canonicalJson } from "../canonical-json.js";
import { poolStatusFromObject, samePoolStatus, type PoolStatus } from "./status.js";

export type InformerVerb = "add" | "update" | "delete";

/** The parts of an IPAddressPool object this looks at. */
export interface PoolObject {
  metadata?: { name?: string; labels?: Readonly<Record<string, string>> };
  spec?: unknown;
  status?: unknown;
}

export interface PoolEventWork {
  /** The configuration must be parsed again (pool added, deleted, spec or labels changed). */
  reparse: boolean;
  /** The pool's status differs from what the operator publishes: publish it again. */
  publishStatus: boolean;
}

/** What the configuration reads of a pool: its spec and its labels. */
export const poolConfigKey = (o: PoolObject): string => canonicalJson({ spec: o.spec, labels: o.metadata?.labels ?? {} });

/**
 * The work one pool event asks for. `lastConfigKey`: poolConfigKey of the pool at its previous event (undefined when
 * unseen). `want`: the status the operator publishes for this pool (null while it has none, e.g. no configuration
 * yet or the pool is not in it).
 */
export function poolEventWork(verb: InformerVerb, obj: PoolObject, lastConfigKey: string | undefined, want: PoolStatus | null): PoolEventWork {
  const reparse = verb !== "update" || lastConfigKey !== poolConfigKey(obj);
  if (verb === "delete" || want === null) return { reparse, publishStatus: false };
  const have = poolStatusFromObject(obj.status);
  return { reparse, publishStatus: have === null || !samePoolStatus(have, want) };
}

/** poolEventWork with the previous config key of every pool remembered (one per operator; no I/O). */
export class PoolEventFilter {
  private readonly keys = new Map<string, string>();

  observe(verb: InformerVerb, obj: PoolObject, want: PoolStatus | null): PoolEventWork {
    const name = obj.metadata?.name ?? "";
    const work = poolEventWork(verb, obj, this.keys.get(name), want);
    if (verb === "delete") this.keys.delete(name);
    else this.keys.set(name, poolConfigKey(obj));
    return work;
  }
}
