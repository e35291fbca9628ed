// Synchronous last-resort cleanups for test resources (namespaces, daemons) when the test process exits or is
// interrupted. Each owner registers a callback and removes it after its normal async cleanup.
import { execFileSync } from "node:child_process";

type Hook = () => void;

interface HookRegistry {
  hooks: Set<Hook>;
}

declare global {
  var __metallbTsExitHooks: HookRegistry | undefined;
}

function registry(): HookRegistry {
  if (globalThis.__metallbTsExitHooks !== undefined) return globalThis.__metallbTsExitHooks;
  const reg: HookRegistry = { hooks: new Set() };
  globalThis.__metallbTsExitHooks = reg;
  const runAll = (): void => {
    for (const h of [...reg.hooks]) {
      reg.hooks.delete(h);
      try {
        h();
      } catch {
        /* best effort */
      }
    }
  };
  process.on("exit", runAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      runAll();
      // Die of the signal unless someone else handles it (e.g. the demo waiting for Ctrl-C).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
  return reg;
}

export function addExitHook(h: Hook): () => void {
  const reg = registry();
  reg.hooks.add(h);
  return () => reg.hooks.delete(h);
}

/** Runs a command synchronously, ignoring failures (for exit hooks only). */
export function runSyncQuiet(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, [...args], { stdio: ["ignore", "pipe", "ignore"], encoding: "utf8", timeout: 10_000 });
  } catch {
    return "";
  }
}
