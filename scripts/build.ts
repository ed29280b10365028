/**
 * `bun run build`: the single-file executable, `dist/maildesk-receiver`.
 * `bun run build:release`: one per release platform (linux x64, x64
 * baseline for CPUs without AVX2, arm64) and `dist/SHA256SUMS`.
 *
 * `bun build --compile` bundles the program and every package it imports
 * with a copy of the Bun runtime. What the program reads at run time is in
 * the bundle too: the migrations (a Bun macro inlines drizzle/ at build
 * time, src/store/embedded-migrations.ts) and the Swagger UI files
 * (imported `with { type: "file" }` in src/api/docs-routes.ts). The writer
 * thread's module is a second entry point: a worker's code must be an
 * entry of the build to be in the binary.
 *
 * Flags: `--minify-whitespace --minify-syntax` but not `--minify`, whose
 * renaming of identifiers breaks Elysia (it compiles handlers from their
 * source text). `--sourcemap` puts a source map inside the binary, so that
 * stack traces name src/ files and lines. Builds for another platform than
 * this one fetch that platform's runtime from the npm registry, once.
 *
 * Options: --release (the release set and SHA256SUMS), --outfile PATH (one
 * build for this platform to PATH), --target bun-<os>-<arch>[-baseline].
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dir, "..");
const ENTRIES = ["src/main.ts", "src/writer-thread.ts"].map((entry) => join(ROOT, entry));
const FLAGS = [
  "--compile",
  "--bytecode",
  "--format=esm",
  "--minify-whitespace",
  "--minify-syntax",
  "--sourcemap",
];

/** The release platforms and the names of their binaries in dist/. */
export const RELEASE_TARGETS = [
  { target: "bun-linux-x64", name: "maildesk-receiver-linux-x64" },
  { target: "bun-linux-x64-baseline", name: "maildesk-receiver-linux-x64-baseline" },
  { target: "bun-linux-arm64", name: "maildesk-receiver-linux-arm64" },
] as const;

export interface BuildOptions {
  /** Where the executable goes; its folder is created. */
  readonly outfile: string;
  /** A `bun-<os>-<arch>` target; this machine's platform when absent. */
  readonly target?: string;
}

/**
 * Builds one executable. The build runs in a folder of its own, so that
 * the source map files `bun build` writes beside its output do not land
 * next to the binary (the binary holds its own map); only the executable
 * is moved to `outfile`. Throws with bun's output if the build fails.
 */
export async function buildBinary({ outfile, target }: BuildOptions): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "maildesk-build-"));
  try {
    const built = join(work, basename(outfile));
    const command = [
      process.execPath,
      "build",
      ...FLAGS,
      ...(target ? [`--target=${target}`] : []),
      `--define=BUILD_COMMIT=${JSON.stringify(readGitCommit())}`,
      ...ENTRIES,
      "--outfile",
      built,
    ];
    const child = Bun.spawn(command, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    if (exitCode !== 0) {
      throw new Error(`bun build --compile failed (exit ${exitCode}):\n${stdout}${stderr}`);
    }
    mkdirSync(dirname(resolve(outfile)), { recursive: true });
    moveFile(built, resolve(outfile));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    // Another file system (e.g. /tmp on tmpfs): copy, and keep it executable.
    copyFileSync(from, to);
    chmodSync(to, statSync(from).mode);
  }
}

/** The short commit of the working tree, "+dirty" when it has changes; `unknown` outside git. */
function readGitCommit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT });
  if (head.exitCode !== 0) return "unknown";
  const status = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], {
    cwd: ROOT,
  });
  const dirty = status.stdout.toString().trim() !== "";
  return `${head.stdout.toString().trim()}${dirty ? "+dirty" : ""}`;
}

/** `SHA256SUMS` in the format `sha256sum -c` reads: `<hex>  <name>` per line. */
export async function writeChecksums(folder: string, names: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const name of names) {
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of Bun.file(join(folder, name)).stream()) hasher.update(chunk);
    lines.push(`${hasher.digest("hex")}  ${name}`);
  }
  const path = join(folder, "SHA256SUMS");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

function describe(path: string): string {
  return `${path} (${(statSync(path).size / 2 ** 20).toFixed(1)} MiB)`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      release: { type: "boolean" },
      outfile: { type: "string" },
      target: { type: "string" },
    },
  });
  const dist = join(ROOT, "dist");
  mkdirSync(dist, { recursive: true });
  if (values.release) {
    // Only what this run writes: an old SHA256SUMS must not list stale files.
    for (const name of readdirSync(dist, { withFileTypes: true }).map((entry) => entry.name)) {
      if (name.startsWith("maildesk-receiver-linux-") || name === "SHA256SUMS") {
        rmSync(join(dist, name), { force: true });
      }
    }
    for (const { target, name } of RELEASE_TARGETS) {
      const started = performance.now();
      await buildBinary({ outfile: join(dist, name), target });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`built ${describe(join(dist, name))} for ${target} in ${seconds} s`);
    }
    const sums = await writeChecksums(
      dist,
      RELEASE_TARGETS.map(({ name }) => name),
    );
    console.log(`wrote ${sums}`);
  } else {
    const outfile = values.outfile ?? join(dist, "maildesk-receiver");
    await buildBinary({ outfile, target: values.target });
    console.log(`built ${describe(outfile)}`);
  }
}
