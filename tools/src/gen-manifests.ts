// Entry point of `npm run gen:manifests`: writes the generated install manifests (tools/src/manifests.ts) into the
// repository (the current directory must be its root).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generatedManifests } from "./manifests.js";

for (const [path, text] of generatedManifests((p) => readFileSync(p, "utf8"))) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
