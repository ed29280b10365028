/**
 * The compiled program, built once per test run (every test file runs in
 * the same `bun test` process, so the promise below is shared) into a
 * temporary folder; `removeTestBinary` deletes it (it is ~110 MB).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../../scripts/build.ts";

/** The built binary, or why this machine cannot build one at all. */
export type TestBinary =
  | { readonly ok: true; readonly path: string; readonly dir: string; readonly buildMs: number }
  | { readonly ok: false; readonly reason: string };

let built: Promise<TestBinary> | undefined;

/**
 * Builds the binary with `bun run build`'s own flags. A build that fails
 * while `bun build --compile` of a one-line program works is our fault and
 * throws; when that fails too, compiling is impossible here and the answer
 * says why, for the tests to skip with.
 */
export function buildTestBinary(): Promise<TestBinary> {
  built ??= build();
  return built;
}

async function build(): Promise<TestBinary> {
  const dir = mkdtempSync(join(tmpdir(), "maildesk-binary-test-"));

  const path = join(dir, "maildesk-receiver");
  const started = performance.now();
  try {
    await buildBinary({ outfile: path });
    return { ok: true, path, dir, buildMs: performance.now() - started };
  } catch (error) {
    const reason = canCompileAtAll(dir);
    rmSync(dir, { recursive: true, force: true });
    if (reason === null) throw error;
    return { ok: false, reason };
  }
}

/** Deletes the built binary; a later `buildTestBinary` builds it again. */
export async function removeTestBinary(): Promise<void> {
  const current = await built?.catch(() => undefined);
  built = undefined;
  if (current?.ok) rmSync(current.dir, { recursive: true, force: true });
}

/** `null` if `bun build --compile` works here; otherwise its complaint. */
function canCompileAtAll(dir: string): string | null {
  const source = join(dir, "hello.ts");
  writeFileSync(source, 'console.log("hello");\n');
  const result = Bun.spawnSync(
    [process.execPath, "build", "--compile", source, "--outfile", join(dir, "hello")],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (result.exitCode === 0) return null;
  return `bun build --compile cannot build even a one-line program here: ${result.stderr.toString().trim()}`;
}
