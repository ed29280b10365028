/**
 * An open-loop load generator, run as its own process (like wrk) so that the
 * benchmark's bookkeeping never shares its thread.
 *
 * Why open loop: a closed-loop generator (wrk, autocannon) sends the next
 * request on a connection only after the previous answer. When the server
 * stalls for 50 ms, it simply stops sending for 50 ms, and records one slow
 * request instead of the hundred that a real sender (Maildesk, on its own
 * schedule) would have seen delayed: "coordinated omission". wrk2 corrects
 * for it; it is not packaged here, so this does the same thing plainly:
 *
 * - request i is due at `start + i / rate`, a timetable fixed in advance that
 *   does not depend on any answer;
 * - a loop wakes up about every millisecond and sends every request that is
 *   due (if it woke late, it sends the backlog at once);
 * - each latency is measured from the request's *scheduled* time to the end
 *   of its answer, so time spent waiting behind a stall, in the server or in
 *   this process, counts against the server (the generator's own lateness is
 *   reported apart, as `lag`, to tell the two apart);
 * - requests are sent over keep-alive connections that `fetch` opens as
 *   needed, with no cap below `--max-in-flight` (4,096), so a slow server gets
 *   more connections rather than fewer requests.
 *
 * After the last request is sent it waits up to `--drain-timeout` seconds
 * for the answers; those still missing are aborted and counted as timeouts.
 *
 * Input: `--requests FILE` (the replay format of lib/requests.ts, sent in
 * order, each once) or `--generate RUNID` (fresh events made as they are
 * sent, for a long soak that would not fit a file). Output on stdout: with
 * `--report-every S`, one `{"kind":"interval",…}` line per interval, then
 * one `{"kind":"summary",…}` line.
 */
import { parseArgs } from "node:util";
import { readRequestFile, sampleEvent } from "./lib/requests.ts";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    requests: { type: "string" },
    generate: { type: "string" },
    path: { type: "string", default: "/webhooks/maildesk" },
    rate: { type: "string", default: "2000" },
    duration: { type: "string", default: "5" },
    "max-in-flight": { type: "string", default: "4096" },
    "report-every": { type: "string" },
    "drain-timeout": { type: "string", default: "30" },
  },
});

const baseUrl = args.url ?? "http://127.0.0.1:3000";
const ratePerSecond = Number(args.rate);
const durationSeconds = Number(args.duration);
const maxInFlight = Number(args["max-in-flight"]);
const drainTimeoutMs = Number(args["drain-timeout"]) * 1000;
const reportEveryMs = args["report-every"] ? Number(args["report-every"]) * 1000 : 0;

interface Outgoing {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const fromFile = args.requests ? readRequestFile(args.requests) : null;
const total = Math.round(ratePerSecond * durationSeconds);
if (fromFile && fromFile.length < total) {
  throw new Error(`${fromFile.length} requests prepared, ${total} needed`);
}
const runId = args.generate ?? "";
const JSON_HEADERS = { "content-type": "application/json" };

function requestAt(index: number): Outgoing {
  if (fromFile) return fromFile[index] as Outgoing;
  return { path: args.path as string, headers: JSON_HEADERS, body: sampleEvent(index, runId).body };
}

const latenciesMs = new Float64Array(total);
const lagsMs = new Float64Array(total);
const failedIndexes: number[] = [];
const statusCounts: Record<string, number> = {};
const abort = new AbortController();
let sent = 0;
let completed = 0;
let ok = 0;
let errors = 0;
let inFlight = 0;
let lastAnswerAt = 0;
let wakeSender: (() => void) | null = null;
let intervalLatencies: number[] = [];
let intervalFailed = 0;

const intervalMs = 1000 / ratePerSecond;
const startAt = performance.now() + 20;

function send(index: number, scheduledAt: number): void {
  const request = requestAt(index);
  lagsMs[index] = performance.now() - scheduledAt;
  inFlight++;
  sent++;
  fetch(`${baseUrl}${request.path}`, {
    method: "POST",
    headers: request.headers,
    body: request.body,
    signal: abort.signal,
  })
    .then(async (response) => {
      await response.arrayBuffer();
      const latency = performance.now() - scheduledAt;
      latenciesMs[index] = latency;
      statusCounts[response.status] = (statusCounts[response.status] ?? 0) + 1;
      completed++;
      if (response.status >= 200 && response.status < 300) {
        ok++;
        intervalLatencies.push(latency);
      } else {
        failedIndexes.push(index);
        intervalFailed++;
      }
    })
    .catch(() => {
      errors++;
      failedIndexes.push(index);
      intervalFailed++;
    })
    .finally(() => {
      inFlight--;
      lastAnswerAt = performance.now();
      wakeSender?.();
    });
}

const reporter = reportEveryMs
  ? setInterval(() => {
      const line = {
        kind: "interval",
        atSeconds: (performance.now() - startAt) / 1000,
        ok: intervalLatencies.length,
        failed: intervalFailed,
        ...percentiles(Float64Array.from(intervalLatencies)),
      };
      intervalLatencies = [];
      intervalFailed = 0;
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }, reportEveryMs)
  : undefined;

// The timetable.
let next = 0;
while (next < total) {
  const now = performance.now();
  while (next < total && startAt + next * intervalMs <= now && inFlight < maxInFlight) {
    send(next, startAt + next * intervalMs);
    next++;
  }
  if (next >= total) break;
  if (inFlight >= maxInFlight) {
    await new Promise<void>((resolve) => {
      wakeSender = resolve;
    });
    wakeSender = null;
    continue;
  }
  await Bun.sleep(Math.max(0, startAt + next * intervalMs - performance.now()));
}
const scheduleEndedAt = performance.now();

// The drain.
const drainDeadline = Date.now() + drainTimeoutMs;
while (inFlight > 0 && Date.now() < drainDeadline) await Bun.sleep(5);
const timeouts = inFlight;
if (inFlight > 0) abort.abort();
while (inFlight > 0) await Bun.sleep(5);
clearInterval(reporter);

const answered = latenciesMs.subarray(0, total).filter((_, i) => latenciesMs[i] !== 0);
const summary = {
  kind: "summary",
  scheduled: total,
  sent,
  completed,
  ok,
  non2xx: completed - ok,
  // Aborted at the drain deadline are counted in `timeouts`, not in `errors`.
  errors: errors - timeouts,
  timeouts,
  statusCounts,
  ratePerSecond,
  sendSeconds: (scheduleEndedAt - startAt) / 1000,
  achievedPerSecond: completed / (Math.max(lastAnswerAt, scheduleEndedAt) / 1000 - startAt / 1000),
  ...percentiles(answered),
  lagP99Ms: percentiles(lagsMs.subarray(0, sent)).p99Ms,
  lagMaxMs: percentiles(lagsMs.subarray(0, sent)).maxMs,
  failedIndexes: failedIndexes.sort((a, b) => a - b).slice(0, 10_000),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);

/** p50, p90, p99, p99.9 and max, by nearest rank, in ms. */
function percentiles(values: Float64Array) {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0
      ? 0
      : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
  return {
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number),
  };
}
