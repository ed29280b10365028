/**
 * Runs one closed-loop load against a URL with prepared requests and reports
 * throughput and latency. wrk (Debian's `wrk` package) is used when it is on
 * the PATH: it is written in C and leaves the most CPU to the server on a
 * small machine. Otherwise autocannon (a dev dependency) runs in-process.
 * Both replay the same prepared requests, each once.
 */
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { type PreparedRequest, writeRequestFile } from "./requests.ts";

export type Generator = "wrk" | "autocannon";

/** What one load run measured. */
export interface LoadResult {
  readonly generator: Generator;
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** More requests completed than were prepared: some were sent twice. */
  readonly wrapped: boolean;
}

export interface LoadOptions {
  readonly baseUrl: string;
  readonly requests: readonly PreparedRequest[];
  readonly connections: number;
  readonly durationSeconds: number;
  readonly generator: Generator;
}

/** The generator to use when none is asked for. */
export function defaultGenerator(): Generator {
  return Bun.which("wrk") ? "wrk" : "autocannon";
}

/** Runs the load and returns what it measured. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return options.generator === "wrk" ? runWrk(options) : runAutocannon(options);
}

const REPLAY_SCRIPT = join(import.meta.dir, "replay.lua");

/**
 * Where the request file goes: memory (tmpfs) where there is one. Written to
 * the disk, its hundred-odd megabytes would still be flushing while the run
 * measures a server whose every commit waits for an fsync on that disk, and
 * the targets with larger requests (signed ones) would pay more for it.
 */
const REQUEST_FILE_DIR = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const file = join(REQUEST_FILE_DIR, `maildesk-bench-${process.pid}-${Date.now()}.txt`);
  writeRequestFile(file, options.requests);

  try {
    const child = Bun.spawn(
      [
        "wrk",
        "-t1",
        `-c${options.connections}`,
        `-d${options.durationSeconds}s`,
        "--timeout",
        "10s",
        "-s",
        REPLAY_SCRIPT,
        options.baseUrl,
        "--",
        file,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    const summaryLine = stdout.split("\n").find((line) => line.startsWith('{"requests"'));
    if (exitCode !== 0 || !summaryLine)
      throw new Error(`wrk failed (${exitCode}): ${stderr}${stdout}`);

    const s = JSON.parse(summaryLine);
    const socketErrors = s.connectErrors + s.readErrors + s.writeErrors + s.timeouts;
    return {
      generator: "wrk",
      requests: s.requests,
      ok: s.requests - s.non2xx,
      failed: s.non2xx + socketErrors,
      requestsPerSecond: s.requests / (s.durationUs / 1e6),
      p50Ms: s.p50Us / 1000,
      p99Ms: s.p99Us / 1000,
      maxMs: s.maxUs / 1000,
      wrapped: s.requests > options.requests.length,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const prepared = options.requests;
  const result = await autocannon({
    url: options.baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    method: "POST",
    requests: [
      {
        setupRequest: (request) => {
          const r = prepared[next++ % prepared.length] as PreparedRequest;
          return { ...request, path: r.path, headers: r.headers, body: r.body };
        },
      },
    ],
  });
  const completed = result["2xx"] + result.non2xx;
  return {
    generator: "autocannon",
    requests: completed,
    ok: result["2xx"],
    failed: result.non2xx + result.errors + result.timeouts,
    requestsPerSecond: completed / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    wrapped: next > prepared.length,
  };
}
