/**
 * Starts and stops the servers under test as child processes, and samples
 * their resident memory while they are loaded.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "..", "..");

/** A server process under test. */
export interface RunningServer {
  readonly name: string;
  readonly baseUrl: string;
  readonly process: Subprocess;
  /** The RSS now, in MiB (0 once the process is gone). */
  rssMiB(): number;
  /** CPU time used so far (user + system), in seconds; 0 once the process is gone. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** What to start: a command line and its environment. */
export interface ServerSpec {
  readonly name: string;
  readonly command: string[];
  readonly env: Record<string, string>;
  /** A GET path that answers once the server is ready. */
  readonly readyPath: string;
  /** The SQLite file it writes, if any. */
  readonly databasePath?: string;
  /** A temporary folder of its own, removed by `removeServerFiles`. */
  readonly dir?: string;
}

/** A server that did not come up; `message` says why ("exited: …"). */
export class ServerUnavailableError extends Error {
  override name = "ServerUnavailableError";
}

/** How long a server may take to answer its ready path. */
const READY_TIMEOUT_MS = 15_000;

/** How long a server may take to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 30_000;

/** The last lines a server wrote to stderr are kept for a failed start. */
const STDERR_TAIL_CHARS = 2000;

/** A free TCP port on the loopback interface. */
export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  return port;
}

/** The bare `Bun.serve` ceiling. */
export function bareSpec(port: number): ServerSpec {
  return {
    name: "bare Bun.serve",
    command: [process.execPath, join(ROOT, "bench", "bare-server.ts")],
    env: { PORT: String(port) },
    readyPath: "/",
  };
}

/**
 * This service from source, on a fresh database in a temporary folder.
 * `checkout` is the project folder to run (this one by default; another
 * checkout, e.g. a git worktree of an earlier commit, for a comparison).
 */
export function serviceSpec(
  name: string,
  port: number,
  env: Record<string, string>,
  checkout = ROOT,
): ServerSpec {
  const dir = mkdtempSync(join(tmpdir(), "maildesk-bench-"));
  const databasePath = join(dir, "maildesk.db");
  return {
    name,
    command: [process.execPath, join(checkout, "src", "main.ts"), "serve"],
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databasePath,
      LOG_LEVEL: "warn",
      ...env,
    },
    readyPath: "/readyz",
    databasePath,
    dir,
  };
}

/** The folder of the Express peer (its own package.json and lock file). */
export const PEER_EXPRESS_DIR = join(ROOT, "bench", "peer-express");

/** The Express 5 + better-sqlite3 peer on Node.js, on a fresh database. */
export function peerExpressSpec(port: number): ServerSpec {
  const dir = mkdtempSync(join(tmpdir(), "maildesk-bench-peer-"));
  const databasePath = join(dir, "peer.db");
  return {
    name: "Express 5 + better-sqlite3",
    command: ["node", join(PEER_EXPRESS_DIR, "server.js")],
    env: { PORT: String(port), DATABASE_PATH: databasePath, NODE_ENV: "production" },
    readyPath: "/healthz",
    databasePath,
    dir,
  };
}

/** Removes the temporary folder of a spec (its database), once it is stopped. */
export function removeServerFiles(spec: ServerSpec): void {
  if (spec.dir) rmSync(spec.dir, { recursive: true, force: true });
}

/**
 * Starts a server and waits until it answers. Throws `ServerUnavailableError`
 * when it exits first (the message carries its exit code and the last line
 * it wrote to stderr) or does not answer in time.
 */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const port = spec.env.PORT;
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = Bun.spawn(spec.command, {
    env: { ...process.env, ...spec.env },
    cwd: tmpdir(),
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = { tail: "", ready: false };
  const copied = copyStderr(child.stderr, spec.name, stderr);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await copied;
      const lastLine = stderr.tail.trim().split("\n").pop() ?? "";
      throw new ServerUnavailableError(`exited: code ${child.exitCode}: ${lastLine}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new ServerUnavailableError(`not ready after ${READY_TIMEOUT_MS / 1000} s`);
    }
    const ready = await fetch(`${baseUrl}${spec.readyPath}`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await Bun.sleep(50);
  }
  stderr.ready = true;

  let isStopping = false;
  void child.exited.then((code) => {
    if (!isStopping)
      console.error(
        `${spec.name} exited during the run (code ${code}, signal ${child.signalCode})`,
      );
  });
  return {
    name: spec.name,
    baseUrl,
    process: child,
    rssMiB: () => readRssMiB(child.pid),
    cpuSeconds: () => readCpuSeconds(child.pid),
    async stop() {
      isStopping = true;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await child.exited;
      clearTimeout(timer);
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): state is the
    // 3rd field, utime the 14th and stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * Keeps the tail of a server's stderr for a failed start, and once it runs,
 * passes what it writes on to ours, so that a crash under load is seen.
 */
async function copyStderr(
  stream: ReadableStream<Uint8Array>,
  name: string,
  state: { tail: string; ready: boolean },
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    state.tail = (state.tail + text).slice(-STDERR_TAIL_CHARS);
    if (state.ready) process.stderr.write(`[${name}] ${text}`);
  }
}

function readRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kib / 1024;
  } catch {
    return 0;
  }
}

/** Samples `server`'s RSS every 100 ms until `work` settles; returns the peak. */
export async function withPeakRss<T>(server: RunningServer, work: Promise<T>) {
  let peakMiB = server.rssMiB();
  const timer = setInterval(() => {
    peakMiB = Math.max(peakMiB, server.rssMiB());
  }, 100);
  try {
    const result = await work;
    return { result, peakRssMiB: Math.max(peakMiB, server.rssMiB()) };
  } finally {
    clearInterval(timer);
  }
}

/** The window over which `waitUntilIdle` watches the servers' CPU time. */
const IDLE_WINDOW_MS = 250;

/** Less CPU than this over one window (4% of a core) counts as idle. */
const IDLE_CPU_SECONDS = 0.01;

/**
 * Waits until none of `servers` uses the CPU any more, at most `timeoutMs`;
 * resolves to the milliseconds waited. A service goes on after a run ends:
 * its worker drains the outbox that the run filled. Left alone, that work
 * would slow down whichever run comes next (another server's, or the
 * service's own next one), so each run starts with every server idle. The
 * drain itself is what `bench:worker` measures.
 */
export async function waitUntilIdle(
  servers: readonly RunningServer[],
  timeoutMs = 120_000,
): Promise<number> {
  const started = performance.now();
  const cpu = () => servers.reduce((sum, server) => sum + server.cpuSeconds(), 0);
  let before = cpu();
  while (performance.now() - started < timeoutMs) {
    await Bun.sleep(IDLE_WINDOW_MS);
    const now = cpu();
    if (now - before < IDLE_CPU_SECONDS) break;
    before = now;
  }
  return performance.now() - started;
}
