// templates.generated.ts must match ../templates/*.hbs. `UPDATE_GOLDEN=1` regenerates it.
import { describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const TEMPLATE_DIR = join(here, "..", "templates");
const GENERATED = join(here, "templates.generated.ts");
const MAIN = "frr.conf";

function generatedSource(): string {
  const files = readdirSync(TEMPLATE_DIR)
    .filter((f) => f.endsWith(".hbs"))
    .sort();
  const read = (f: string): string => readFileSync(join(TEMPLATE_DIR, f), "utf8");
  const partials = files.filter((f) => f !== `${MAIN}.hbs`);
  return [
    "// Generated from frr-templates/templates/*.hbs by templates.generated.test.ts: do not edit.",
    "// Regenerate with `UPDATE_GOLDEN=1 npm run test:unit -- frr-templates`.",
    "",
    `/** ${MAIN}.hbs */`,
    `export const MAIN_TEMPLATE: string = ${JSON.stringify(read(`${MAIN}.hbs`))};`,
    "",
    "/** The other templates, registered as partials under their file name without `.hbs`. */",
    "export const PARTIALS: Readonly<Record<string, string>> = {",
    ...partials.map((f) => `  ${JSON.stringify(f.slice(0, -".hbs".length))}: ${JSON.stringify(read(f))},`),
    "};",
    "",
  ].join("\n");
}

describe("embedded templates", () => {
  test("templates.generated.ts is up to date with templates/*.hbs", () => {
    const want = generatedSource();
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(GENERATED, want);
    expect(readFileSync(GENERATED, "utf8")).toBe(want);
  });
});
