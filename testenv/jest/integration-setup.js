// Precondition of the integration layer: the real kube-apiserver and etcd binaries are built.
// (Plain JS: jest loads global setup through Node's loader, which cannot import TypeScript.)
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export default async function integrationSetup() {
  const env = process.env;
  const binDir = env.METALLB_TS_BIN_DIR ?? join(env.METALLB_TS_CACHE ?? join(homedir(), ".cache", "metallb-ts"), "bin");
  const missing = ["etcd", "kube-apiserver", "kubectl"].filter((b) => !existsSync(join(binDir, b)));
  if (missing.length > 0) {
    throw new Error(
      `integration tests cannot run: ${missing.join(", ")} not found in ${binDir}.\n` +
        "Build them once with `npm run build:control-plane` (needs Go >= 1.24 and the Go module proxy).",
    );
  }
  // helm renders and lints the chart (tools/src/chart.int.test.ts).
  if (!existsSync(join(binDir, "helm"))) {
    throw new Error(`integration tests cannot run: helm not found in ${binDir}.\nBuild it once with \`npm run build:helm\` (Go modules).`);
  }
  for (const tool of ["/usr/bin/openssl"]) {
    if (!existsSync(tool)) throw new Error(`integration tests cannot run: ${tool} is missing (apt-get install openssl)`);
  }
}
