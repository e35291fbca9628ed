// Runs vtysh show commands against the co-located FRR (through its vty socket directory).
import { execFile } from "node:child_process";
import type { VtyshShow } from "./speaker.js";

export function vtyshShow(vtyshArgs: readonly string[], timeoutMs = 10_000): VtyshShow {
  return (command) =>
    new Promise((resolve, reject) => {
      execFile("vtysh", [...vtyshArgs, "-c", command], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`vtysh -c "${command}": ${stderr.trim() || error.message}`, { cause: error }));
        else resolve(stdout);
      });
    });
}
