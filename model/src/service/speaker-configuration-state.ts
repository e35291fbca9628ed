// The ConfigurationState of one speaker (issue 18 item 1), as MetalLB names and labels it (internal/k8s/k8s.go):
// `speaker-<node>` in the MetalLB namespace, labels metallb.io/component-type=speaker and metallb.io/node-name=<node>,
// owned by the speaker's Pod (so it goes with the Pod, and a deleted one is recreated by its speaker), and the status
// of MetalLB's ConfigurationStateReconciler: the configReconcilerValid condition with Result Valid/Invalid and the
// problems joined in errorSummary (the CRD's printer columns show Result and ErrorSummary). Pure.
import { configurationStateStatus, type ConfigurationStateStatus } from "./status.js";

export const COMPONENT_TYPE_LABEL = "metallb.io/component-type";
export const NODE_NAME_LABEL = "metallb.io/node-name";
/** MetalLB's ConditionTypeConfigReconcilerValid (internal/k8s/controllers/values.go). */
export const CONFIG_RECONCILER_CONDITION = "configReconcilerValid";

/** MetalLB's name for a speaker's ConfigurationState. */
export const speakerConfigurationStateName = (node: string): string => `speaker-${node}`;

export interface SpeakerPodRef {
  readonly name: string;
  readonly uid: string;
}

export interface SpeakerConfigurationState {
  apiVersion: "metallb.io/v1beta1";
  kind: "ConfigurationState";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences?: Array<{ apiVersion: "v1"; kind: "Pod"; name: string; uid: string }>;
  };
}

/** The object to create (metadata only: status is a subresource, written with speakerConfigurationStateStatus). */
export function speakerConfigurationState(node: string, namespace: string, pod?: SpeakerPodRef): SpeakerConfigurationState {
  return {
    apiVersion: "metallb.io/v1beta1",
    kind: "ConfigurationState",
    metadata: {
      name: speakerConfigurationStateName(node),
      namespace,
      labels: { [COMPONENT_TYPE_LABEL]: "speaker", [NODE_NAME_LABEL]: node },
      ...(pod !== undefined ? { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid }] } : {}),
    },
  };
}

/**
 * Its status from the speaker's problems (formatted, e.g. with formatProblem): Valid with none, Invalid with each.
 * `previous` is the condition read back, to keep lastTransitionTime while the outcome does not change.
 */
export function speakerConfigurationStateStatus(
  problems: readonly string[],
  nowIso: string,
  previous?: { status?: string; lastTransitionTime?: string },
): ConfigurationStateStatus {
  return configurationStateStatus(CONFIG_RECONCILER_CONDITION, problems, nowIso, previous);
}

/** Whether an existing object still carries the name, labels and owner the speaker would give it. */
export function speakerConfigurationStateMetadataMatches(
  have: { name?: string; labels?: Readonly<Record<string, string>>; ownerReferences?: ReadonlyArray<{ uid?: string }> },
  want: SpeakerConfigurationState,
): boolean {
  if (have.name !== want.metadata.name) return false;
  for (const [k, v] of Object.entries(want.metadata.labels)) if (have.labels?.[k] !== v) return false;
  const uid = want.metadata.ownerReferences?.[0]?.uid;
  return uid === undefined || (have.ownerReferences ?? []).some((o) => o.uid === uid);
}
