// What the operator's controllers share: the informers' caches, the serial work queue, the API writer, metrics and
// the leader's in-memory state (the parsed configuration and the allocator). One controller per concern reads the
// caches, calls the pure core and writes the result; the Operator (operator.ts) wires them to the queue.
import type * as k8s from "@kubernetes/client-node";
import type { KubeConfigLike } from "../../../shell/src/kubeconfig.js";
import { Allocator } from "../../../model/src/allocator/allocator.js";
import type { Config } from "../../../model/src/config/types.js";
import type { ResilientInformer } from "../../../shell/src/informer.js";
import type { KubeWriter } from "../../../shell/src/kube-writer.js";
import type { Logger } from "../../../shell/src/logger.js";
import type { WorkQueue } from "../../../shell/src/workqueue.js";
import type { OperatorMetrics } from "../metrics.js";
import type { OperatorSettings } from "../operator.js";

export type Raw = k8s.KubernetesObject & { spec?: unknown; status?: unknown; data?: unknown; type?: string };

export interface Informers {
  services: ResilientInformer<Raw>;
  namespaces: ResilientInformer<Raw>;
  nodes: ResilientInformer<Raw>;
  pools: ResilientInformer<Raw>;
  l2Advertisements: ResilientInformer<Raw>;
  bgpAdvertisements: ResilientInformer<Raw>;
  bgpPeers: ResilientInformer<Raw>;
  bfdProfiles: ResilientInformer<Raw>;
  communities: ResilientInformer<Raw>;
  endpointSlices: ResilientInformer<Raw>;
  nodeConfigs: ResilientInformer<Raw>;
  shards: ResilientInformer<Raw>;
  /** Its own ConfigurationState ("controller"), to recreate it when deleted. */
  configStates: ResilientInformer<Raw>;
}

/** The leader's state: rebuilt from the caches at every takeover. */
export class LeaderState {
  alloc = new Allocator();
  config: Config | null = null;
  /** The first pass over every Service is done (until then, single Services wait for it). */
  initialDone = false;

  reset(): void {
    this.alloc = new Allocator();
    this.config = null;
    this.initialDone = false;
  }
}

export interface OperatorContext {
  kc: KubeConfigLike;
  settings: OperatorSettings;
  log: Logger;
  writer: KubeWriter;
  queue: WorkQueue;
  inf: Informers;
  metrics: OperatorMetrics;
  state: LeaderState;
  now: () => number;
}

export const NODE_CONFIG_API = "/apis/metallb-ts.dev/v1alpha1";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "metallb-ts-operator" };

/** Work queue keys, one prefix per controller. */
export const KEYS = {
  config: "config",
  reprocessAll: "reprocessAll",
  poolStatus: "poolStatus",
  l2Key: "l2Key",
  speakerWorkload: "speakerWorkload",
  service: "svc/",
  node: "node/",
  shard: "shard/",
} as const;
