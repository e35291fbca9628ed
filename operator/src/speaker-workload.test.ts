import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { MANAGED_BY_OPERATOR, parseSpeakerWorkload, workloadObjectPath, type WorkloadObject } from "./speaker-workload.js";

const frrYaml = readFileSync(join(repoRoot(), "config/speaker/speaker-frr.yaml"), "utf8");

describe("parseSpeakerWorkload", () => {
  test("the FRR speaker manifest: moved to the namespace, labelled, every container on the release image", () => {
    const objs = parseSpeakerWorkload(frrYaml, "speaker-frr.yaml", { namespace: "operators", speakerImage: "registry.example/speaker:v9" }) as WorkloadObject[];
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ConfigMap/metallb-ts-frr-startup",
      "DaemonSet/metallb-ts-speaker",
      "Service/metallb-ts-speaker-monitor",
    ]);
    for (const o of objs) expect(o.metadata).toMatchObject({ namespace: "operators", labels: MANAGED_BY_OPERATOR });
    const pod = (objs[1]?.["spec"] as { template: { spec: { containers: Array<{ name: string; image: string }> } } }).template.spec;
    expect(pod.containers.map((c) => [c.name, c.image])).toEqual([
      ["speaker", "registry.example/speaker:v9"],
      ["frr", "registry.example/speaker:v9"],
    ]);
    expect(objs.map(workloadObjectPath)).toEqual([
      "/api/v1/namespaces/operators/configmaps/metallb-ts-frr-startup",
      "/apis/apps/v1/namespaces/operators/daemonsets/metallb-ts-speaker",
      "/api/v1/namespaces/operators/services/metallb-ts-speaker-monitor",
    ]);
  });

  test("without an image the manifest's images stay", () => {
    const objs = parseSpeakerWorkload(frrYaml, "f", { namespace: "metallb-system" }) as WorkloadObject[];
    expect(JSON.stringify(objs[1])).toContain('"image":"ghcr.io/metallb-ts/speaker:v0.1.0"');
  });

  test("init containers get the release image too", () => {
    const text =
      "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {initContainers: [{name: i, image: old}], containers: [{name: c, image: old}]}}}";
    const objs = parseSpeakerWorkload(text, "f", { namespace: "n", speakerImage: "new" }) as WorkloadObject[];
    expect(JSON.stringify(objs[0]?.["spec"])).toBe(
      '{"template":{"spec":{"initContainers":[{"name":"i","image":"new"}],"containers":[{"name":"c","image":"new"}]}}}',
    );
  });

  test.each([
    ["kind: [", /f: /],
    ["apiVersion: v1\nkind: Secret\nmetadata: {name: s}", /document 1 \(Secret\/s\): only ConfigMap, Service and DaemonSet are allowed/],
    ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}", /f: no DaemonSet/],
    ["apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}", /DaemonSet\/d\): spec.template.spec is missing/],
    ["kind: DaemonSet", /document 1: needs apiVersion, kind and metadata.name/],
  ])("%j is refused with a message naming the document", (text, want) => {
    expect(parseSpeakerWorkload(text, "f", { namespace: "n", speakerImage: "i" })).toMatch(want);
  });
});
