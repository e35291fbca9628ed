// Static checks of the Dockerfiles, for what building and running the images (speaker/image/images.image.test.ts,
// npm run test:images) cannot say: the validator's style rules, what .dockerignore keeps out of the context, apt
// hygiene, the default base for users who build with Docker, layer-cache-friendly dependency stages and that every
// package the entry point may load (dynamic imports included) is a production dependency. Parsing and validation by
// dockerfile-ast / dockerfile-utils (the libraries of VS Code's Dockerfile language server); .dockerignore matching
// by @balena/dockerignore (Docker's rules, as used by dockerode).
import { describe, expect, test } from "@jest/globals";
import balenaDockerignore from "@balena/dockerignore";
import { Arg, Copy, DockerfileParser, From, Run, Workdir, type Instruction } from "dockerfile-ast";
import { validate, ValidationSeverity } from "dockerfile-utils";
import ts from "typescript";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSpeakerSettings } from "../src/settings.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const toPosix = (path: string): string => path.split(sep).join("/");

interface PackageJson {
  type: string;
  license: string;
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
}
const pkg = JSON.parse(read("package.json")) as PackageJson;

// ---------------------------------------------------------------------------------------------------------------
// Dockerfiles as stages of instructions

interface Stage {
  index: number;
  name: string | undefined;
  /** The base image with the global ARGs' defaults substituted. */
  image: string;
  instructions: Instruction[];
}

interface CopyOp {
  line: number;
  /** --from: a stage name or index; undefined = the build context. */
  from: string | undefined;
  chmod: string | undefined;
  sources: string[];
  /** Absolute, against the WORKDIR in force; a trailing "/" kept. */
  dest: string;
}

const expandArgs = (text: string, vars: ReadonlyMap<string, string>): string =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole: string, a?: string, b?: string) => vars.get(a ?? b ?? "") ?? whole);

function parseDockerfile(file: string): { stages: Stage[]; globalArgs: Map<string, string> } {
  const df = DockerfileParser.parse(read(file));
  const globalArgs = new Map<string, string>();
  for (const a of df.getInitialARGs()) {
    const p = a.getProperty();
    const v = p?.getValue();
    if (p !== null && p !== undefined && v !== null && v !== undefined) globalArgs.set(p.getName(), v);
  }
  const stages: Stage[] = [];
  for (const ins of df.getInstructions()) {
    if (ins instanceof From) {
      stages.push({ index: stages.length, name: ins.getBuildStage() ?? undefined, image: expandArgs(ins.getImage() ?? "", globalArgs), instructions: [] });
    } else if (!(ins instanceof Arg && stages.length === 0)) {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { stages, globalArgs };
}

const words = (ins: Instruction): string[] => ins.getArguments().map((a) => a.getValue());
const command = (ins: Instruction): string => words(ins).join(" ");
const line = (ins: Instruction): number => ins.getRange().start.line + 1;

/** The WORKDIR in force at `ins` (at the end of the stage without it). */
function workdirAt(stage: Stage, ins?: Instruction): string {
  let wd = "/";
  for (const i of stage.instructions) {
    if (i === ins) break;
    if (i instanceof Workdir) wd = posix.resolve(wd, words(i).join(" "));
  }
  return wd;
}

function copies(stage: Stage): CopyOp[] {
  return stage.instructions.flatMap((ins) => {
    if (!(ins instanceof Copy)) return [];
    const flag = (name: string): string | undefined =>
      ins
        .getFlags()
        .find((f) => f.getName() === name)
        ?.getValue() ?? undefined;
    const args = words(ins);
    const dest = args.at(-1) ?? "";
    const abs = posix.resolve(workdirAt(stage, ins), dest) + (dest.endsWith("/") || dest === "." ? "/" : "");
    return [{ line: line(ins), from: flag("from"), chmod: flag("chmod"), sources: args.slice(0, -1), dest: abs }];
  });
}

/** Where one source of a COPY lands (for a directory source: the directory its content goes into). */
function landing(op: CopyOp, source: string, isDir: boolean): string {
  if (isDir) return op.dest.replace(/\/$/, "");
  return op.dest.endsWith("/") || op.sources.length > 1 ? posix.join(op.dest, posix.basename(source)) : op.dest;
}

const runs = (stage: Stage): Instruction[] => stage.instructions.filter((i) => i instanceof Run);

function stageOf(stages: readonly Stage[], ref: string): Stage | undefined {
  return stages.find((s) => s.name === ref) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// The build context: the repository less .dockerignore

// A CommonJS module typed with an ES default export: under NodeNext the default import is module.exports, which
// carries the function as .default too.
const dockerignore = balenaDockerignore.default;
const ignoreText = read(".dockerignore");
const ignored = dockerignore().add(ignoreText.split("\n"));
const hasExceptions = ignoreText.split("\n").some((l) => l.trim().startsWith("!"));

/** The context's files under `path` (a file or a directory, relative to the root), as Docker would send them. */
function contextFiles(path: string): string[] {
  const clean = posix.normalize(path).replace(/\/$/, "");
  const full = join(ROOT, clean);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return ignored.ignores(clean) ? [] : [clean];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = dir === "." ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!hasExceptions && ignored.ignores(rel)) continue;
        walk(rel);
      } else if (!ignored.ignores(rel)) {
        out.push(rel);
      }
    }
  };
  walk(clean);
  return out;
}

/** Repository-relative paths of the files a stage holds from the build context, as laid out under `base`. */
function contextFilesInStage(stage: Stage, base: string): Set<string> {
  const out = new Set<string>();
  for (const op of copies(stage).filter((c) => c.from === undefined)) {
    for (const src of op.sources) {
      const isDir = statSync(join(ROOT, src)).isDirectory();
      for (const f of contextFiles(src)) {
        const at = isDir ? posix.join(landing(op, src, true), posix.relative(posix.normalize(src), f)) : landing(op, src, false);
        out.add(posix.relative(base, at));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// What the entry point needs: its import graph (relative imports; static, dynamic, re-exports)

function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() ?? "";
    if (files.has(file)) continue;
    files.add(file);
    const sf = ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
    const use = (spec: string, typeOnly: boolean): void => {
      if (spec.startsWith(".")) {
        const target = toPosix(relative(ROOT, resolve(ROOT, dirname(file), spec.replace(/\.js$/, ".ts"))));
        expect(existsSync(join(ROOT, target))).toBe(true);
        queue.push(target);
      } else if (!typeOnly && !isBuiltin(spec)) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec));
      }
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        use(node.moduleSpecifier.text, node.importClause?.isTypeOnly === true);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
        use(node.moduleSpecifier.text, node.isTypeOnly);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = node.arguments[0];
        if (arg !== undefined && ts.isStringLiteral(arg)) use(arg.text, false);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { files, packages };
}

// ---------------------------------------------------------------------------------------------------------------
// Every Dockerfile at the root

const rootDockerfiles = readdirSync(ROOT).filter((f) => /(^|\.)Dockerfile(\.|$)/.test(f) && statSync(join(ROOT, f)).isFile());

/** Every optional rule of the validator raised to an error. */
const STRICT = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

describe("Dockerfiles at the repository root", () => {
  test("the operator and speaker Dockerfiles are among them", () => {
    expect(rootDockerfiles).toEqual(expect.arrayContaining(["Dockerfile.operator", "Dockerfile.speaker"]));
  });

  test(".dockerignore keeps version control, local installs, build output and tests out of the context", () => {
    for (const p of [
      ".git/HEAD",
      "node_modules/jest/package.json",
      "dist/operator/src/main.js",
      "speaker/native/build/Release/metallb_rawsock.node",
      "operator/src/settings.test.ts",
      "model/src/frr/testdata/router-show-bfd-peers.json",
      "e2e/x.ts",
    ]) {
      expect({ p, ignored: ignored.ignores(p) }).toEqual({ p, ignored: true });
    }
    for (const p of ["package.json", "package-lock.json", "operator/src/main.ts", "speaker/native/src/rawsock.cc", "speaker/image/frr-start.sh"]) {
      expect({ p, ignored: ignored.ignores(p) }).toEqual({ p, ignored: false });
    }
  });

  describe.each(rootDockerfiles)("%s", (file) => {
    const { stages } = parseDockerfile(file);

    test("the validator (dockerfile-utils, every rule an error) reports nothing", () => {
      const problems = validate(read(file), STRICT).map(
        (d) => `${file}:${d.range.start.line + 1}: ${typeof d.message === "string" ? d.message : d.message.value}`,
      );
      expect(problems).toEqual([]);
    });

    test("apt-get installs update first, skip recommends and leave no package lists", () => {
      for (const ins of stages.flatMap(runs).filter((r) => /\bapt-get install\b/.test(command(r)))) {
        const cmd = command(ins);
        expect({
          line: line(ins),
          update: /apt-get update &&/.test(cmd),
          yes: /install -y\b/.test(cmd),
          noRecommends: cmd.includes("--no-install-recommends"),
          clean: cmd.includes("rm -rf /var/lib/apt/lists/*"),
        }).toEqual({ line: line(ins), update: true, yes: true, noRecommends: true, clean: true });
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The two images

interface ImageSpec {
  file: string;
  entry: string;
  /** "non-root": a numeric UID other than 0; "root": UID 0, said explicitly. */
  user: "non-root" | "root";
}

const IMAGES: ImageSpec[] = [
  { file: "Dockerfile.operator", entry: "operator/src/main.ts", user: "non-root" },
  { file: "Dockerfile.speaker", entry: "speaker/src/main.ts", user: "root" },
];

function image(spec: ImageSpec): { stages: Stage[]; final: Stage; build: Stage; workdir: string; buildWorkdir: string } {
  const { stages } = parseDockerfile(spec.file);
  const final = stages.at(-1);
  const build = stages.find((s) => s.name === "build");
  if (final === undefined || build === undefined) throw new Error(`${spec.file}: no stage named "build" or no stages`);
  return { stages, final, build, workdir: workdirAt(final), buildWorkdir: workdirAt(build) };
}

describe.each(IMAGES)("$file", (spec) => {
  const img = image(spec);
  const workdir = img.workdir;

  test("is multi-stage: the runtime stage is not the build stage", () => {
    expect(img.stages.length).toBeGreaterThanOrEqual(2);
    expect(img.final).not.toBe(img.build);
  });

  test("every stage is the same Node 20 on Debian bookworm-slim, pinned to a release, within package.json's engines", () => {
    const images = new Set(img.stages.map((s) => s.image));
    expect(images.size).toBe(1);
    const m = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/.exec([...images][0] ?? "");
    expect(m).not.toBeNull();
    const [major, minor] = [Number(m?.[1]), Number(m?.[2])];
    expect(major).toBe(20);
    const min = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node);
    expect(min).not.toBeNull();
    expect(major > Number(min?.[1]) || (major === Number(min?.[1]) && minor >= Number(min?.[2]))).toBe(true);
  });

  test("the runtime's node_modules come from a stage that installs production dependencies only, from the lockfile", () => {
    const op = copies(img.final).find((c) => c.from !== undefined && landing(c, "", true) === posix.join(workdir, "node_modules"));
    expect(op).toBeDefined();
    const deps = stageOf(img.stages, op?.from ?? "");
    expect(deps).toBeDefined();
    if (deps === undefined || op === undefined) return;
    const depsWd = workdirAt(deps);
    expect(op.sources).toEqual([posix.join(depsWd, "node_modules")]);
    const npmCi = runs(deps)
      .map(command)
      .filter((c) => /\bnpm ci\b/.test(c));
    expect(npmCi).toHaveLength(1);
    expect(npmCi[0]).toContain("--omit=dev");
    expect([...contextFilesInStage(deps, depsWd)]).toEqual([]);
  });

  test("every npm ci installs from the manifest stage's reduced package.json and the lockfile, so a script edit keeps its layer", () => {
    const manifest = stageOf(img.stages, "manifest");
    expect(manifest).toBeDefined();
    if (manifest === undefined) return;
    const mWd = workdirAt(manifest);
    expect([...contextFilesInStage(manifest, mWd)].sort()).toEqual(["package-lock.json", "package.json"]);
    const reduce = runs(manifest).map(command);
    expect(reduce).toHaveLength(1);
    for (const field of ["dependencies", "devDependencies", "overrides", "type"])
      expect({ field, kept: reduce[0]?.includes(`"${field}"`) }).toEqual({ field, kept: true });
    expect(reduce[0]).not.toContain('"scripts"');
    for (const stage of img.stages.filter((st) => runs(st).some((r) => /\bnpm ci\b/.test(command(r))))) {
      const from = copies(stage).filter((c) => c.sources.some((src) => /package(-lock)?\.json$/.test(src)));
      const firstCi = stage.instructions.findIndex((i) => i instanceof Run && /\bnpm ci\b/.test(command(i)));
      const before = from.filter((c) => c.line < line(stage.instructions[firstCi] as Instruction));
      expect({ stage: stage.name, copies: before.map((c) => [c.from, ...c.sources]) }).toEqual({
        stage: stage.name,
        copies: [["manifest", posix.join(mWd, "package.json"), posix.join(mWd, "package-lock.json")]],
      });
    }
  });

  test("every package the entry point loads at run time is a production dependency", () => {
    const { packages } = importGraph(spec.entry);
    expect(packages.size).toBeGreaterThan(0);
    for (const p of packages) expect({ p, dependency: p in pkg.dependencies }).toEqual({ p, dependency: true });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The speaker's extras: the native addon and FRR

describe("Dockerfile.speaker: native addon and FRR", () => {
  const spec = IMAGES[1] as ImageSpec;
  const img = image(spec);
  const frrStart = read("speaker/image/frr-start.sh");
  const shellDefault = (name: string): string | undefined => new RegExp(`\\$\\{${name}:-([^}]*)\\}`).exec(frrStart)?.[1];

  test("the checkout builds the addon at install (postinstall), and the packed CLI package, without speaker/native, skips it", () => {
    expect(pkg.scripts["build:native"]).toBe("bash speaker/native/build.sh");
    expect(pkg.scripts.postinstall).toBe("test ! -e speaker/native/build.sh || npm run build:native");
  });

  test("Dockerfile.speaker puts the FRR defaults where frr-start looks for them (FRR_DEFAULTS_DIR)", () => {
    const defaults = copies(img.final).find((c) => c.sources.includes("speaker/image/daemons"));
    expect(defaults?.sources).toEqual(["speaker/image/daemons", "speaker/image/vtysh.conf"]);
    expect(defaults?.dest).toBe(`${shellDefault("FRR_DEFAULTS_DIR") ?? ""}/`);
  });

  test("frr-start and the speaker agree on FRR's directories", () => {
    const parsed = parseSpeakerSettings(["--node-name", "n"], {});
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.settings.frrDir).toBe(shellDefault("FRR_RUN_DIR"));
    expect(parsed.settings.frrConfig).toBe(`${shellDefault("FRR_CONF_DIR") ?? ""}/frr.conf`);
  });

  test("frr-start.sh is valid bash, and the default daemons file enables bgpd and bfdd", () => {
    expect(() => execFileSync("bash", ["-n", join(ROOT, "speaker/image/frr-start.sh")], { stdio: "pipe" })).not.toThrow();
    const out = execFileSync("bash", ["-c", 'set -eu; . "$1"; echo "$bgpd $bfdd"', "_", join(ROOT, "speaker/image/daemons")], { encoding: "utf8" });
    expect(out.trim()).toBe("yes yes");
    expect(read("speaker/image/vtysh.conf").trim()).toBe("service integrated-vtysh-config");
  });
});
