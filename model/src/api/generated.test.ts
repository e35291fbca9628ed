import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { loadAll } from "js-yaml";
import { generateApiTypes } from "./codegen.js";
import { parseCrd, type OpenApiSchema } from "./crd-schema.js";
import { API_KINDS, METALLB_GROUP, METALLB_KINDS } from "./index.js";

const CRD_DIR = new URL("../../../config/crd/bases/", import.meta.url);
const GENERATED = new URL("./generated.ts", import.meta.url);

function loadCrdDocuments(): unknown[] {
  return readdirSync(CRD_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => loadAll(readFileSync(new URL(f, CRD_DIR), "utf8")).filter((d) => d !== null && d !== undefined));
}

describe("generated.ts", () => {
  test("matches the CRDs in config/crd/bases (UPDATE_GENERATED=1 rewrites it)", () => {
    const text = generateApiTypes(loadCrdDocuments());
    if (process.env["UPDATE_GENERATED"] === "1") writeFileSync(GENERATED, text);
    expect(readFileSync(GENERATED, "utf8")).toBe(text);
  });
});

describe("CRD files", () => {
  const crds = loadCrdDocuments().map((d, i) => parseCrd(d, `document ${i}`));

  test("one CRD per file, named <plural>.<group> in metallb.io_<plural>.yaml", () => {
    const files = readdirSync(CRD_DIR).filter((f) => f.endsWith(".yaml")).sort();
    expect(files).toEqual(crds.map((c) => `metallb.io_${c.plural}.yaml`).sort());
    for (const crd of crds) expect(crd.name).toBe(`${crd.plural}.${crd.group}`);
  });

  test("every CRD is namespaced and in the metallb.io group", () => {
    for (const crd of crds) expect([crd.kind, crd.group, crd.scope]).toEqual([crd.kind, METALLB_GROUP, "Namespaced"]);
  });

  test("kinds table agrees with the CRDs", () => {
    expect(METALLB_KINDS).toBe(API_KINDS);
    const expected = crds
      .map((c) => ({
        kind: c.kind,
        plural: c.plural,
        versions: c.versions.filter((v) => v.served).map((v) => v.name),
        storageVersion: c.versions.find((v) => v.storage)?.name,
      }))
      .sort((a, b) => a.kind.localeCompare(b.kind));
    const actual = METALLB_KINDS.map((k) => ({ kind: k.kind, plural: k.plural, versions: [...k.versions], storageVersion: k.storageVersion }));
    expect(actual).toEqual(expected);
  });

  test("BGPPeer v1beta2 is a superset of v1beta1 (lossless v1beta1 -> v1beta2 -> v1beta1 without a webhook)", () => {
    const peer = crds.find((c) => c.kind === "BGPPeer");
    const specOf = (name: string): OpenApiSchema | undefined => peer?.versions.find((v) => v.name === name)?.schema.properties?.["spec"];
    const v1 = specOf("v1beta1");
    const v2 = specOf("v1beta2");
    expect(v1?.properties).toBeDefined();
    for (const [field, schema] of Object.entries(v1?.properties ?? {})) {
      expect([field, v2?.properties?.[field]]).toEqual([field, schema]);
    }
    for (const field of v2?.required ?? []) expect(v1?.required).toContain(field);
  });

  test("the expected kinds and versions exist", () => {
    expect(METALLB_KINDS.map((k) => `${k.kind}@${k.versions.join("+")}>${k.storageVersion}`)).toEqual([
      "BFDProfile@v1beta1>v1beta1",
      "BGPAdvertisement@v1beta1>v1beta1",
      "BGPPeer@v1beta1+v1beta2>v1beta2",
      "Community@v1beta1>v1beta1",
      "ConfigurationState@v1beta1>v1beta1",
      "IPAddressPool@v1beta1>v1beta1",
      "L2Advertisement@v1beta1>v1beta1",
      "ServiceBGPStatus@v1beta1>v1beta1",
      "ServiceL2Status@v1beta1>v1beta1",
    ]);
  });
});
