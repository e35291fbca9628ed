// Entry point of `npm run gen:bundle`: writes the OLM bundle (tools/src/bundle.ts) into the repository (the current
// directory must be its root) and removes files under bundle/manifests and bundle/metadata it no longer generates.
//   --out DIR          write under DIR instead (DIR/bundle/..., DIR/bundle.Dockerfile)
//   --own-namespace    the OwnNamespace/SingleNamespace variant, without the BGPPeer conversion webhook
//   --version V        the CSV's version (default: package.json's), e.g. for an upgrade bundle
//   --replaces CSV     spec.replaces, the CSV this version upgrades (e.g. metallb-ts.v0.1.0)
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { GENERATED_DIRS, generateBundle } from "./bundle.js";

const usage = (): never => {
  process.stderr.write("usage: gen-bundle [--out DIR] [--own-namespace] [--version V] [--replaces CSV]\n");
  process.exit(2);
};
const valued = new Map<string, string>();
let ownNamespace = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  if (a === "--own-namespace") ownNamespace = true;
  else if (a === "--out" || a === "--version" || a === "--replaces") valued.set(a, argv[++i] ?? usage());
  else usage();
}
const out = valued.get("--out") ?? ".";
const version = valued.get("--version") ?? (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
const replaces = valued.get("--replaces");
const files = generateBundle({ read: (p) => readFileSync(p, "utf8"), list: (d) => readdirSync(d) }, version, {
  allNamespaces: !ownNamespace,
  ...(replaces !== undefined ? { replaces } : {}),
});

for (const dir of GENERATED_DIRS) {
  const abs = join(out, dir);
  if (!existsSync(abs)) continue;
  for (const f of readdirSync(abs)) {
    if (!files.has(`${dir}/${f}`)) {
      rmSync(join(abs, f), { recursive: true });
      process.stdout.write(`removed ${join(out, dir, f)}\n`);
    }
  }
}
for (const [path, text] of files) {
  const abs = join(out, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, text);
  process.stdout.write(`wrote ${abs}\n`);
}
