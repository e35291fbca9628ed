/**
 * Every document in config/samples is MetalLB configuration (or a Namespace/Secret it needs) in metallb-system, and
 * the samples together parse without a single problem through parseConfig, the parser the operator, the webhooks
 * and the CLI use: dangling references, overlapping pools, community formats, aggregation lengths and password
 * Secrets are its checks. The CRD schemas are checked against the samples by the real apiserver in crds.int.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { loadAll } from "js-yaml";
import { formatProblem } from "../config/problems.js";
import { parseConfig } from "../config/parse-config.js";
import { emptyClusterResources, LIST_OF_KIND } from "../config/resources.js";
import type { ClusterResources, ResourceKind } from "../config/types.js";

const SAMPLES_DIR = new URL("../../../config/samples/", import.meta.url);
const NAMESPACE = "metallb-system";

type Doc = Readonly<Record<string, unknown>>;

const isDoc = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
const isResourceKind = (k: unknown): k is ResourceKind => typeof k === "string" && Object.hasOwn(LIST_OF_KIND, k);

function loadSamples(): { file: string; doc: Doc }[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((file) =>
      loadAll(readFileSync(new URL(file, SAMPLES_DIR), "utf8"))
        .filter((d) => d !== null && d !== undefined)
        .map((doc) => {
          if (!isDoc(doc)) throw new Error(`${file}: document is not an object`);
          return { file, doc };
        }),
    );
}

const meta = (doc: Doc): Doc => (isDoc(doc["metadata"]) ? doc["metadata"] : {});
const describeDoc = (s: { file: string; doc: Doc }): string => `${s.file}: ${String(s.doc["kind"])} ${String(meta(s.doc)["name"])}`;

const samples = loadSamples();

function sampleResources(): ClusterResources {
  const lists = emptyClusterResources();
  for (const { doc } of samples) if (isResourceKind(doc["kind"])) lists[LIST_OF_KIND[doc["kind"]]].push(doc);
  return lists;
}

describe("config/samples", () => {
  test("there are L2 and BGP samples", () => {
    expect(new Set(samples.map((s) => s.file))).toEqual(new Set(["bgp.yaml", "l2.yaml"]));
  });

  test.each(samples.map((s) => [describeDoc(s), s.doc] as const))("%s: a configuration kind, named, in metallb-system", (_, doc) => {
    expect(typeof meta(doc)["name"]).toBe("string");
    expect([doc["kind"], isResourceKind(doc["kind"])]).toEqual([doc["kind"], true]);
    if (doc["kind"] !== "Namespace") expect(meta(doc)["namespace"]).toBe(NAMESPACE);
  });

  test("names are unique per kind", () => {
    const keys = samples.filter((s) => s.doc["kind"] !== "Namespace").map((s) => `${String(s.doc["kind"])}/${String(meta(s.doc)["name"])}`);
    expect(keys).toEqual([...new Set(keys)]);
  });

  test("the samples parse without a problem, and every object makes it into the configuration", () => {
    const resources = sampleResources();
    const result = parseConfig(resources);
    expect(result.ok ? [] : result.error.map(formatProblem)).toEqual([]);
    if (!result.ok) return;
    const config = result.value;
    expect(config.pools).toHaveLength(resources.pools.length);
    expect(config.peers).toHaveLength(resources.bgpPeers.length);
    expect(config.bfdProfiles).toHaveLength(resources.bfdProfiles.length);
    expect(config.l2Advertisements).toHaveLength(resources.l2Advertisements.length);
    expect(config.bgpAdvertisements).toHaveLength(resources.bgpAdvertisements.length);
    expect(config.communities.size).toBeGreaterThan(0);
  });

  test("a peer with a password Secret gets the Secret's password (the sample shows the reference, not an inline password)", () => {
    const result = parseConfig(sampleResources());
    if (!result.ok) throw new Error(result.error.map(formatProblem).join("\n"));
    const withSecret = result.value.peers.filter((p) => p.passwordSecretName !== null);
    expect(withSecret.length).toBeGreaterThan(0);
    for (const p of withSecret) expect([p.name, p.password.length > 0]).toEqual([p.name, true]);
  });
});
