// Entry point of `npm run gen:bundle`: writes the OLM bundle (tools/src/bundle.ts) into the repository (the current
// directory must be its root) and removes files under bundle/manifests and bundle/metadata it no longer generates.
//   --out DIR          write under DIR instead (DIR/bundle/..., DIR/bundle.Dockerfile)
//   --all-namespaces   the variant with the BGPPeer conversion webhook (AllNamespaces install mode only)
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { GENERATED_DIRS, generateBundle } from "./bundle.js";

const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? args[outAt + 1] : ".";
if (out === undefined || args.some((a, i) => a !== "--all-namespaces" && a !== "--out" && !(i === outAt + 1 && outAt >= 0))) {
  process.stderr.write("usage: gen-bundle [--out DIR] [--all-namespaces]\n");
  process.exit(2);
}
const version = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
const files = generateBundle({ read: (p) => readFileSync(p, "utf8"), list: (d) => readdirSync(d) }, version, {
  allNamespaces: args.includes("--all-namespaces"),
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
