import { describe, expect, test } from "@jest/globals";
import { repoRoot } from "../../testenv/src/repo-root.js";
import {
  cycles,
  folderGraph,
  importSpecifiers,
  isProductFile,
  isTestFile,
  listTsFiles,
  productImportsOfTestenv,
  repoImports,
  resolveRelative,
  runtimeImportSpecifiers,
  runtimePackages,
  type FileImport,
} from "./import-graph.js";

const graphOf = (edges: Array<[string, string]>): Map<string, Map<string, unknown>> => {
  const g = new Map<string, Map<string, unknown>>();
  for (const [a, b] of edges) {
    if (!g.has(a)) g.set(a, new Map());
    g.get(a)?.set(b, true);
  }
  return g;
};

describe("import graph helpers", () => {
  test("importSpecifiers sees static, type-only, re-export, side-effect and dynamic imports", () => {
    const src = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'export { c } from "./c.js";',
      'import "./d.js";',
      'const e = await import("./e.js");',
      'import yaml from "js-yaml";',
    ].join("\n");
    expect(importSpecifiers(src)).toEqual(["./a.js", "../b.js", "./c.js", "./d.js", "./e.js", "js-yaml"]);
  });

  test("runtimeImportSpecifiers leaves out what tsc erases (import type, export type) and keeps the rest", () => {
    const src = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'import type * as k8s from "@kubernetes/client-node";',
      'import { type C } from "./c.js";',
      'export type { D } from "./d.js";',
      'export { e } from "./e.js";',
      'import "./f.js";',
      'async function g(): Promise<void> { await import("./g.js"); }',
      'type H = import("./h.js").H;',
    ].join("\n");
    expect(runtimeImportSpecifiers(src)).toEqual(["./a.js", "./c.js", "./e.js", "./f.js", "./g.js"]);
  });

  test.each([
    ["operator/src/main.ts", "../../model/src/config/parse.js", "model/src/config/parse.ts"],
    ["operator/src/webhook/server.ts", "./x509.js", "operator/src/webhook/x509.ts"],
    ["e2e/l2.e2e.test.ts", "../testenv/src/objects.js", "testenv/src/objects.ts"],
    ["operator/src/main.ts", "@kubernetes/client-node", undefined],
    ["operator/src/main.ts", "node:fs", undefined],
  ])("resolveRelative(%s, %s) = %s", (from, spec, want) => {
    expect(resolveRelative(from, spec)).toBe(want);
  });

  test.each<[string, Array<[string, string]>, string[][]]>([
    [
      "a layered graph has none",
      [
        ["operator", "model"],
        ["operator", "shell"],
        ["shell", "model"],
        ["e2e", "operator"],
      ],
      [],
    ],
    [
      "two folders importing each other",
      [
        ["operator", "testenv"],
        ["testenv", "operator"],
        ["testenv", "model"],
      ],
      [["operator", "testenv"]],
    ],
    [
      "a longer loop",
      [
        ["a", "b"],
        ["b", "c"],
        ["c", "a"],
        ["c", "d"],
      ],
      [["a", "b", "c"]],
    ],
    [
      "two separate loops",
      [
        ["a", "b"],
        ["b", "a"],
        ["c", "d"],
        ["d", "c"],
      ],
      [
        ["a", "b"],
        ["c", "d"],
      ],
    ],
  ])("cycles: %s", (_desc, edges, want) => {
    expect(cycles(graphOf(edges))).toEqual(want);
  });

  test("folderGraph keeps edges between folders only, with an example import", () => {
    const imports: FileImport[] = [
      { from: "operator/src/a.ts", to: "operator/src/b.ts" },
      { from: "operator/src/a.ts", to: "model/src/x.ts" },
      { from: "operator/src/c.ts", to: "model/src/y.ts" },
    ];
    const g = folderGraph(imports);
    expect([...g.keys()]).toEqual(["operator"]);
    expect(g.get("operator")?.get("model")).toEqual({ from: "operator/src/a.ts", to: "model/src/x.ts" });
  });

  test.each([
    ["operator/src/main.ts", true],
    ["shell/src/kube-raw.ts", true],
    ["tools/src/gen-manifests.ts", true],
    ["operator/src/operator.int.test.ts", false],
    ["testenv/src/objects.ts", false],
    ["e2e/l2.e2e.test.ts", false],
    ["bench/allocator.bench.ts", false],
    ["demo/src/main.ts", false],
  ])("isProductFile(%s) = %s", (path, want) => {
    expect(isProductFile(path)).toBe(want);
  });

  test("productImportsOfTestenv flags a product file importing testenv/ and nothing else", () => {
    const imports: FileImport[] = [
      { from: "operator/src/testing.ts", to: "testenv/src/control-plane.ts" },
      { from: "operator/src/operator.int.test.ts", to: "testenv/src/objects.ts" },
      { from: "testenv/src/objects.ts", to: "shell/src/kube-raw.ts" },
    ];
    expect(productImportsOfTestenv(imports)).toEqual([imports[0]]);
  });
});

describe("the repository's imports", () => {
  const imports = repoImports(repoRoot());
  const describeEdge = (i: FileImport): string => `${i.from} → ${i.to}`;

  test("the walk sees the repository (guards against a walker that finds nothing)", () => {
    const g = folderGraph(imports);
    expect(imports.length).toBeGreaterThan(500);
    expect(g.get("operator")?.has("model")).toBe(true);
    expect(g.get("speaker")?.has("shell")).toBe(true);
    expect(g.get("e2e")?.has("testenv")).toBe(true);
  });

  test("every relative import names a file that exists", () => {
    const files = new Set(listTsFiles(repoRoot()));
    expect(imports.filter((i) => !files.has(i.to)).map(describeEdge)).toEqual([]);
  });

  test("no file imports a test file (so test files are leaves and may import any folder)", () => {
    expect(imports.filter((i) => isTestFile(i.to)).map(describeEdge)).toEqual([]);
  });

  test("no import cycle between top-level folders (imports made by test files left out: they are leaves)", () => {
    const g = folderGraph(imports.filter((i) => !isTestFile(i.from)));
    const found = cycles(g).map((scc) => {
      const inCycle = new Set(scc);
      const edges = scc.flatMap((a) =>
        [...(g.get(a) ?? new Map<string, FileImport>())].filter(([b]) => inCycle.has(b)).map(([b, i]) => `${a} → ${b} (${describeEdge(i)})`),
      );
      return `cycle between ${scc.join(", ")}: ${edges.join("; ")}`;
    });
    expect(found).toEqual([]);
  });

  // @kubernetes/client-node costs 107–120 MiB of RSS just to load (its generated API): the processes use our own
  // kubeconfig loader, client and informers (shell/src/kubeconfig.ts, kube-client.ts, informer.ts) and only its types.
  test.each(["operator/src/main.ts", "speaker/src/main.ts", "cli/src/main.ts"])("%s does not load @kubernetes/client-node at run time", (entry) => {
    const pkgs = runtimePackages(repoRoot(), entry);
    expect(pkgs.size).toBeGreaterThan(2); // the walk sees node:* and packages
    const clientNode = [...pkgs].filter(([p]) => p === "@kubernetes/client-node" || p.startsWith("@kubernetes/client-node/"));
    expect(clientNode.map(([p, chain]) => `${p} via ${chain.join(" → ")}`)).toEqual([]);
  });

  test("the runtime walk would see a runtime import of client-node (guards against a check that cannot fail)", () => {
    const pkgs = runtimePackages(repoRoot(), "testenv/src/kube.ts");
    expect(pkgs.get("@kubernetes/client-node")).toEqual(["testenv/src/kube.ts"]);
  });

  test("no product file imports from testenv/", () => {
    expect(productImportsOfTestenv(imports).map(describeEdge)).toEqual([]);
  });
});
