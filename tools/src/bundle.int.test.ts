// `operator-sdk bundle validate` (the real operator-sdk, built from Go modules by scripts/build-operator-sdk.sh) on the
// committed bundle/, with and without the optional operatorframework suite (OperatorHub metadata, good practices,
// deprecated APIs; all offline), and on the OwnNamespace variant (no BGPPeer conversion webhook).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { defaultBinDir } from "../../testenv/src/control-plane.js";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { run } from "../../testenv/src/proc.js";
import { generateBundle } from "./bundle.js";

const root = repoRoot();
const operatorSdk = join(defaultBinDir(), "operator-sdk");

/**
 * Warnings accepted on purpose (anything else fails the test):
 * - no alm-examples for the objects metallb-ts writes itself (status, NodeConfig, AnnouncementShard) nor for deprecated BGPPeer v1beta1;
 * - the deprecated-APIs check flags RBAC rules on endpointslices/events by resource name although RBAC rules carry no
 *   version (discovery.k8s.io/v1beta1 and events.k8s.io/v1beta1 were removed in 1.25; the operator uses v1).
 */
const ACCEPTED_WARNINGS: ((line: string) => boolean)[] = [
  (l) => /Kind=(ConfigurationState|ServiceBGPStatus|ServiceL2Status|NodeConfig|AnnouncementShard): provided API should have an example annotation/.test(l),
  (l) => /metallb\.io\/v1beta1, Kind=BGPPeer: provided API should have an example annotation/.test(l),
  (l) => {
    const m = /this bundle is using APIs which were deprecated and removed in v1\.25\..*Migrate the API\(s\) for (.*)$/.exec(l);
    const flagged = [...(m?.[1] ?? "").matchAll(/(\w+): \(\[/g)].map((x) => x[1]);
    return flagged.length > 0 && flagged.every((r) => r === "endpointslices" || r === "events");
  },
];

async function validate(bundleDir: string, optional: boolean): Promise<string> {
  const args = ["bundle", "validate", bundleDir, ...(optional ? ["--select-optional", "suite=operatorframework"] : [])];
  const r = await run(operatorSdk, args, { allowFail: true, timeoutMs: 60_000 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`operator-sdk ${args.join(" ")} exited ${r.code}:\n${out}`);
  return out;
}

function unexpected(out: string): string[] {
  return out
    .split("\n")
    .filter((l) => /level=(warning|error|fatal)/.test(l))
    .filter((l) => l.includes("level=error") || l.includes("level=fatal") || !ACCEPTED_WARNINGS.some((accept) => accept(l)));
}

describe("operator-sdk bundle validate", () => {
  let alt: string;

  beforeAll(() => {
    if (!existsSync(operatorSdk)) {
      throw new Error(
        `operator-sdk not found at ${operatorSdk}. Build it once with \`bash scripts/build-operator-sdk.sh\` ` +
          "(or `npm run build:operator-sdk`; scripts/install.sh does it): Go >= 1.25.7 and the Go module proxy, a few minutes the first time, then cached.",
      );
    }
    // The OwnNamespace variant, generated from the same config/ into a scratch directory.
    alt = mkdtempSync(join(tmpdir(), "metallb-ts-bundle-"));
    const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
    const files = generateBundle({ read: (p) => readFileSync(join(root, p), "utf8"), list: (d) => readdirSync(join(root, d)) }, version, {
      allNamespaces: false,
    });
    for (const [p, text] of files) {
      mkdirSync(dirname(join(alt, p)), { recursive: true });
      writeFileSync(join(alt, p), text);
    }
  });

  afterAll(() => {
    if (alt !== undefined) rmSync(alt, { recursive: true, force: true });
  });

  test("the committed bundle/ is valid", async () => {
    const out = await validate(join(root, "bundle"), false);
    expect(out).toContain("All validation tests have completed successfully");
    expect(unexpected(out)).toEqual([]);
  });

  test("the committed bundle/ passes the optional operatorframework suite", async () => {
    const out = await validate(join(root, "bundle"), true);
    expect(out).toContain("All validation tests have completed successfully");
    expect(unexpected(out)).toEqual([]);
  });

  test("the OwnNamespace variant (no conversion webhook) is valid", async () => {
    const out = await validate(join(alt, "bundle"), true);
    expect(out).toContain("All validation tests have completed successfully");
    expect(unexpected(out)).toEqual([]);
  });
});
