// The import graph of the repository's TypeScript, by top-level folder: which folder imports which, and the import
// cycles between folders. Used by import-graph.test.ts to keep the layering (model → shell → operator/speaker, tests
// and test environment on top) from decaying.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** One import of one file: the importing file and the imported file, both relative to the repository root. */
export interface FileImport {
  from: string;
  to: string;
}

const SKIP_DIRS = new Set(["node_modules", "dist", ".git", "coverage"]);

/** Every .ts file under root (relative paths with "/"), skipping node_modules, dist and hidden folders. */
export function listTsFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".") || SKIP_DIRS.has(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(relative(root, p).split(sep).join("/"));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * The module specifiers a TypeScript source imports: static imports and re-exports (type-only ones included: a
 * type-only cycle is still a cycle in the design), side-effect imports, dynamic import() and require().
 */
export function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The repository file a relative specifier of `fromFile` names (".js" → ".ts"), or undefined for a package import. */
export function resolveRelative(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  const abs = resolve("/", dirname(fromFile), specifier).slice(1);
  return abs.replace(/\.js$/, ".ts");
}

/** Every relative import of every .ts file under root. */
export function repoImports(root: string): FileImport[] {
  const out: FileImport[] = [];
  for (const from of listTsFiles(root)) {
    for (const spec of importSpecifiers(readFileSync(join(root, from), "utf8"))) {
      const to = resolveRelative(from, spec);
      if (to !== undefined) out.push({ from, to });
    }
  }
  return out;
}

/** The top-level folder of a repository path ("" for a file at the root). */
export function topFolder(path: string): string {
  const i = path.indexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** Folder → folders it imports (edges between different folders only), each with one example import. */
export function folderGraph(imports: readonly FileImport[]): Map<string, Map<string, FileImport>> {
  const g = new Map<string, Map<string, FileImport>>();
  for (const imp of imports) {
    const a = topFolder(imp.from);
    const b = topFolder(imp.to);
    if (a === b) continue;
    let edges = g.get(a);
    if (edges === undefined) g.set(a, (edges = new Map<string, FileImport>()));
    if (!edges.has(b)) edges.set(b, imp);
  }
  return g;
}

/**
 * The cycles of a directed graph: its strongly connected components with more than one node (Tarjan), each sorted,
 * the list sorted. Self-loops are not cycles here (folderGraph never makes them).
 */
export function cycles(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  const nodes = new Set<string>(graph.keys());
  for (const edges of graph.values()) for (const b of edges.keys()) nodes.add(b);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (;;) {
      const w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a.join().localeCompare(b.join()));
}

/** Folders whose files are tests or test tooling, allowed to import the test environment. */
export const TEST_FOLDERS: ReadonlySet<string> = new Set(["testenv", "e2e", "bench", "demo"]);

/** A test file (unit, golden, integration or e2e): *.test.ts. */
export function isTestFile(path: string): boolean {
  return path.endsWith(".test.ts");
}

/** A product file: not a test, not in a test folder. */
export function isProductFile(path: string): boolean {
  return !isTestFile(path) && !TEST_FOLDERS.has(topFolder(path));
}

/** Imports of test environment code (testenv/) by product files. */
export function productImportsOfTestenv(imports: readonly FileImport[]): FileImport[] {
  return imports.filter((i) => isProductFile(i.from) && topFolder(i.to) === "testenv");
}

/**
 * The specifiers a source loads when it runs: like importSpecifiers, but without `import type` and `export type`
 * declarations (erased by tsc). With verbatimModuleSyntax, `import { type A } from "x"` still loads "x", so it counts.
 */
export function runtimeImportSpecifiers(source: string): string[] {
  const sf = ts.createSourceFile("x.ts", source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      if (n.importClause?.isTypeOnly !== true) out.push(n.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier !== undefined && ts.isStringLiteral(n.moduleSpecifier)) {
      if (!n.isTypeOnly) out.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = n.arguments[0];
      if (arg !== undefined && ts.isStringLiteralLike(arg)) out.push(arg.text);
    } else if (ts.isImportTypeNode(n)) {
      return; // import("x").T in a type position
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/**
 * Every package an entry point loads at run time (through its runtime imports, transitively over repository files),
 * each with one chain of files that leads to it.
 */
export function runtimePackages(root: string, entry: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const seen = new Set<string>([entry]);
  const queue: Array<{ file: string; chain: string[] }> = [{ file: entry, chain: [entry] }];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    for (const spec of runtimeImportSpecifiers(readFileSync(join(root, item.file), "utf8"))) {
      const to = resolveRelative(item.file, spec);
      if (to === undefined) {
        if (!found.has(spec)) found.set(spec, item.chain);
      } else if (!seen.has(to)) {
        seen.add(to);
        queue.push({ file: to, chain: [...item.chain, to] });
      }
    }
  }
  return found;
}
