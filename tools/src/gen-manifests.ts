// Entry point of `npm run gen:manifests`: writes the generated install manifests (tools/src/manifests.ts) and the
// Helm chart (tools/src/chart.ts) into the
// repository (the current directory must be its root).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generatedChart } from "./chart.js";
import { generatedManifests } from "./manifests.js";

const read = (p: string): string => readFileSync(p, "utf8");
for (const [path, text] of [...generatedManifests(read), ...generatedChart(read)]) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
