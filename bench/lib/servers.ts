/**
 * Starts and stops the servers under test as child processes, and samples
 * their resident memory while they are loaded.
 */
import { mkdtempSync, readFileSync } from "node:fs";
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
}

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
  return {
    name,
    command: [process.execPath, join(checkout, "src", "main.ts"), "serve"],
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: join(dir, "maildesk.db"),
      LOG_LEVEL: "warn",
      ...env,
    },
    readyPath: "/readyz",
  };
}

/** Starts a server and waits until it answers. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const port = spec.env.PORT;
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = Bun.spawn(spec.command, {
    env: { ...process.env, ...spec.env },
    cwd: tmpdir(),
    stdout: "ignore",
    stderr: "inherit",
  });

  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${spec.name} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}${spec.readyPath}`)).ok) break;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }

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
      await child.exited;
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
