/**
 * Runs the open-loop generator (bench/open-loop-client.ts, whose header
 * explains the method) as a child process and reads what it measured.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PreparedRequest, writeRequestFile } from "./requests.ts";

const CLIENT = join(import.meta.dir, "..", "open-loop-client.ts");

/** Latency percentiles in ms, from each request's scheduled time. */
export interface Percentiles {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** What one open-loop run measured. */
export interface OpenLoopResult extends Percentiles {
  readonly scheduled: number;
  readonly sent: number;
  readonly completed: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Still unanswered at the drain deadline, then aborted. */
  readonly timeouts: number;
  readonly statusCounts: Record<string, number>;
  readonly ratePerSecond: number;
  readonly achievedPerSecond: number;
  /** How late the generator itself sent (p99, max): large values mean it was starved. */
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
  /** Indexes of the requests that did not get a 2xx. */
  readonly failedIndexes: readonly number[];
}

/** One interval line of a long run. */
export interface OpenLoopInterval extends Percentiles {
  readonly atSeconds: number;
  readonly ok: number;
  readonly failed: number;
}

export interface OpenLoopOptions {
  readonly baseUrl: string;
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Requests to send in order; without them, fresh events are generated. */
  readonly requests?: readonly PreparedRequest[];
  /** Reports every so many seconds through `onInterval`. */
  readonly reportEverySeconds?: number;
  readonly onInterval?: (interval: OpenLoopInterval) => void;
}

/** Runs the generator to the end and returns its summary. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const file = options.requests
    ? join(tmpdir(), `maildesk-open-loop-${process.pid}-${Date.now()}.txt`)
    : null;
  if (file) writeRequestFile(file, options.requests as PreparedRequest[]);

  const command = [
    process.execPath,
    CLIENT,
    "--url",
    options.baseUrl,
    "--rate",
    String(options.ratePerSecond),
    "--duration",
    String(options.durationSeconds),
    ...(file ? ["--requests", file] : ["--generate", crypto.randomUUID().slice(0, 8)]),
    ...(options.reportEverySeconds ? ["--report-every", String(options.reportEverySeconds)] : []),
  ];
  try {
    const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
    let summary: OpenLoopResult | null = null;
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        const parsed = JSON.parse(line);
        if (parsed.kind === "interval") options.onInterval?.(parsed);
        else if (parsed.kind === "summary") summary = parsed;
      }
    }
    const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    if (exitCode !== 0 || !summary)
      throw new Error(`open-loop client failed (${exitCode}): ${stderr}`);
    return summary;
  } finally {
    if (file) rmSync(file, { force: true });
  }
}
