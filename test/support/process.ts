/**
 * The real program as a child process, for what needs one: start-up
 * failures, signals, crashes and restarts on the same database file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

/** The program's entry point from source. */
export const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

/**
 * The command that runs the program: from source, or the compiled binary at
 * `$MAILDESK_TEST_BINARY` (`MAILDESK_TEST_BINARY=dist/maildesk-receiver bun
 * test test/e2e` runs the end-to-end tests against it).
 */
export const FROM_SOURCE: readonly string[] = process.env.MAILDESK_TEST_BINARY
  ? [resolve(process.env.MAILDESK_TEST_BINARY)]
  : [process.execPath, MAIN];

export interface ServiceProcess {
  readonly url: string;
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** Lines written so far to stdout (the JSON logs). */
  readonly lines: string[];
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

const tempDirs: string[] = [];

/** Removes every folder `tempDir` made (after all tests: test/support/preload.ts). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temporary folder for a test's database and working directory. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "maildesk-e2e-"));
  tempDirs.push(dir);
  return dir;
}

/**
 * Runs the program to completion (for commands and failed starts); the
 * environment is exactly `env` plus PATH, never the developer's own.
 */
export async function runProgram(
  args: string[],
  env: Record<string, string>,
  cwd = tempDir(),
  program: readonly string[] = FROM_SOURCE,
) {
  const child = Bun.spawn([...program, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, exitCode };
}

/** Starts `serve` on a free port and waits until `/healthz` answers. */
export async function startService(
  env: Record<string, string>,
  cwd = tempDir(),
  program: readonly string[] = FROM_SOURCE,
): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort());
  const child = Bun.spawn([...program, "serve"], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", ...env, PORT: port },
    cwd,
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  void collectLines(child.stdout, lines);
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `service exited with ${child.exitCode}: ${await new Response(child.stderr).text()}`,
      );
    }
    if (Date.now() > deadline) throw new Error("service did not become healthy in 10 s");
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await Bun.sleep(20);
  }

  return {
    url,
    process: child,
    lines,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      return child.exited;
    },
  };
}

async function collectLines(stream: ReadableStream<Uint8Array>, lines: string[]) {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  }
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port as number;
  await server.stop(true);
  return port;
}

/** POSTs a JSON body to the webhook endpoint of a running service. */
export function postEvent(url: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/webhooks/maildesk`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

/**
 * Calls `probe` until it resolves to something other than `null` (a real
 * process gets there in its own time), and resolves to that.
 */
export async function pollUntil<T>(probe: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (performance.now() > deadline) throw new Error(`nothing came within ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
}
