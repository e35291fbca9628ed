// The repository root, for tests and tools that read files of the repository (config/, testdata/): its own module so
// that a unit test needing only this path does not load the control-plane code.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The repository root: the nearest directory above this module with a package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
    dir = up;
  }
  return dir;
}
