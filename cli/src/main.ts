#!/usr/bin/env node
import { readClusterObjects } from "./cluster.js";
import { EXPLAIN_USAGE, runExplain } from "./explain.js";
import { fileSystemIO } from "./fs-io.js";
import { RENDER_USAGE, runRender } from "./render.js";
import { runValidate, type ValidateIO } from "./validate.js";

const USAGE = `usage: metallb-ts validate <file or directory>...
       ${RENDER_USAGE}
       ${EXPLAIN_USAGE}

Validates MetalLB configuration (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community,
plus v1 Secret/Node/Namespace for references) from multi-document YAML files or directories of *.yaml / *.yml files.
Exit code 0 when valid, 1 on any problem, 2 on bad usage.

render prints the FRR configuration the node would get from the same files (Services and EndpointSlices included),
passwords redacted unless --show-passwords.

explain says why a LoadBalancer Service is pending or not announced (every pool considered, the advertisements, what
each node does with it) and the fix it most likely needs, from YAML files or a cluster (--kubeconfig); -o json for the
structured explanation. Exit code 0 when explained (whatever the Service's state), 1 on errors, 2 on bad usage.`;

const nodeIO: ValidateIO = fileSystemIO(
  (line) => process.stdout.write(`${line}\n`),
  (line) => process.stderr.write(`${line}\n`),
);

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === "render") return runRender(rest, nodeIO);
  if (command === "explain") return runExplain(rest, { ...nodeIO, readCluster: readClusterObjects });
  if (command !== "validate" || rest.length === 0 || rest.some((a) => a === "--help" || a === "-h")) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  return runValidate(rest, nodeIO);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`metallb-ts: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
