import { describe, expect, test } from "@jest/globals";
import { speakerConfigurationState, speakerConfigurationStateMetadataMatches, speakerConfigurationStateStatus } from "./speaker-configuration-state.js";

describe("speaker ConfigurationState (MetalLB's name, labels, owner and status)", () => {
  test("named speaker-<node>, labelled with the component type and the node, owned by the Pod", () => {
    expect(speakerConfigurationState("worker-1", "metallb-system", { name: "speaker-abcde", uid: "u-1" })).toEqual({
      apiVersion: "metallb.io/v1beta1",
      kind: "ConfigurationState",
      metadata: {
        name: "speaker-worker-1",
        namespace: "metallb-system",
        labels: { "metallb.io/component-type": "speaker", "metallb.io/node-name": "worker-1" },
        ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "speaker-abcde", uid: "u-1" }],
      },
    });
    expect(speakerConfigurationState("n", "ns").metadata.ownerReferences).toBeUndefined();
  });

  test("Valid without problems, Invalid with each one in errorSummary; lastTransitionTime kept while unchanged", () => {
    const valid = speakerConfigurationStateStatus([], "2026-01-01T00:00:00Z");
    expect(valid).toEqual({
      result: "Valid",
      errorSummary: "",
      conditions: [{ type: "configReconcilerValid", status: "True", reason: "Reconciled", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }],
    });
    const problems = [
      "BGPPeer/a spec.bfdProfile: peer a referencing non existing bfd profile slow",
      "BGPPeer/b spec.peerAddress: peer 10.0.0.1 already exists",
    ];
    const invalid = speakerConfigurationStateStatus(problems, "2026-01-01T00:01:00Z", valid.conditions[0]);
    expect(invalid).toMatchObject({
      result: "Invalid",
      errorSummary: problems.join("\n"),
      conditions: [{ status: "False", reason: "ConfigurationError", lastTransitionTime: "2026-01-01T00:01:00Z" }],
    });
    expect(speakerConfigurationStateStatus(problems, "2026-01-01T00:02:00Z", invalid.conditions[0]).conditions[0]?.lastTransitionTime).toBe(
      "2026-01-01T00:01:00Z",
    );
  });

  test("metadata check: a relabelled or re-owned object is to be fixed", () => {
    const want = speakerConfigurationState("n1", "ns", { name: "p", uid: "u" });
    const labels = { "metallb.io/component-type": "speaker", "metallb.io/node-name": "n1", extra: "kept" };
    expect(speakerConfigurationStateMetadataMatches({ name: "speaker-n1", labels, ownerReferences: [{ uid: "u" }] }, want)).toBe(true);
    expect(
      speakerConfigurationStateMetadataMatches(
        { name: "speaker-n1", labels: { ...labels, "metallb.io/node-name": "n2" }, ownerReferences: [{ uid: "u" }] },
        want,
      ),
    ).toBe(false);
    expect(speakerConfigurationStateMetadataMatches({ name: "speaker-n1", labels, ownerReferences: [{ uid: "old" }] }, want)).toBe(false);
  });
});
