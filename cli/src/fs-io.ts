// The CLI's I/O on the real file system, with where the output lines go chosen by the caller.
import { readFile, readdir, stat } from "node:fs/promises";
import type { ValidateIO } from "./validate.js";

export function fileSystemIO(stdout: (line: string) => void, stderr: (line: string) => void): ValidateIO {
  return {
    readFile: (path) => readFile(path, "utf8"),
    listDir: (path) => readdir(path),
    isDirectory: async (path) => (await stat(path)).isDirectory(),
    stdout,
    stderr,
  };
}
