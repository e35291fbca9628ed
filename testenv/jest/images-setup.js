// Preconditions of the images layer: root (rootful podman, the images live in its storage) and podman. The images
// themselves are built by `npm run test:images` (scripts/build-images.sh, cached) before jest starts; a missing one
// fails its test with the command to run.
// (Plain JS: jest loads global setup through Node's loader, which cannot import TypeScript.)
import { existsSync } from "node:fs";

export default async function imagesSetup() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push("must run as root (rootful podman: the images are in its storage)");
  if (!existsSync("/usr/bin/podman")) problems.push("/usr/bin/podman is missing (Debian package podman)");
  if (problems.length > 0) {
    throw new Error(`image tests cannot run:\n  - ${problems.join("\n  - ")}\n` + "Install with `bash scripts/install.sh` and run the layer as root.");
  }
}
