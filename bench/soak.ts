/**
 * `bun run bench:soak`: the service, run as it normally runs (everything
 * that starts with `serve` is on), under a steady open-loop load for a long
 * time, to see what a short benchmark cannot: memory that creeps up, a WAL
 * that keeps growing, latency that degrades as the tables grow.
 *
 * Every few seconds it samples the server's RSS and the sizes of the
 * database and its WAL, with the throughput and latency of that interval,
 * and prints a row. At the end it fits a line through the samples after the
 * warm-up and says whether RSS and the WAL grew, then checks that every 2xx
 * is a stored event. Not part of CI: it takes minutes by design.
 *
 * Options: --minutes N (10), --rate N (1000 req/s), --sample-seconds N (5).
 */
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { type OpenLoopInterval, runOpenLoop } from "./lib/open-loop.ts";
import { freePort, removeServerFiles, serviceSpec, startServer } from "./lib/servers.ts";
import { checkServiceStored } from "./lib/stored-check.ts";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "1000" },
    "sample-seconds": { type: "string", default: "5" },
  },
});
const minutes = Number(args.minutes);
const ratePerSecond = Number(args.rate);
const sampleSeconds = Number(args["sample-seconds"]);

/** The share of the run treated as warm-up (caches, JIT, the WAL reaching its size). */
const WARM_UP_SHARE = 0.2;
/**
 * Growth over the measured part that still counts as flat: this share of the
 * starting level, or the absolute allowance given per measure (5 MiB of RSS
 * or WAL, 2 ms of p99), whichever is larger.
 */
const FLAT_SHARE = 0.1;

interface Sample {
  readonly atSeconds: number;
  readonly rssMiB: number;
  readonly walMiB: number;
  readonly databaseMiB: number;
  readonly interval: OpenLoopInterval;
}

const spec = serviceSpec("service, soak", freePort(), { WEBHOOK_VERIFIERS: "none" });
const databasePath = spec.databasePath as string;
const server = await startServer(spec);
const samples: Sample[] = [];

console.log(
  `soak: ${minutes} min at ${ratePerSecond} req/s, sampling every ${sampleSeconds} s; database ${databasePath}\n`,
);
console.log(
  `${"t s".padStart(6)} ${"RSS MiB".padStart(8)} ${"WAL MiB".padStart(8)} ${"DB MiB".padStart(8)} ` +
    `${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)} ${"failed".padStart(6)}`,
);

const result = await runOpenLoop({
  baseUrl: server.baseUrl,
  ratePerSecond,
  durationSeconds: minutes * 60,
  reportEverySeconds: sampleSeconds,
  onInterval(interval) {
    const sample = {
      atSeconds: interval.atSeconds,
      rssMiB: server.rssMiB(),
      walMiB: fileMiB(`${databasePath}-wal`),
      databaseMiB: fileMiB(databasePath),
      interval,
    };
    samples.push(sample);
    console.log(
      `${fmt(sample.atSeconds, 0).padStart(6)} ${fmt(sample.rssMiB, 1).padStart(8)} ` +
        `${fmt(sample.walMiB, 1).padStart(8)} ${fmt(sample.databaseMiB, 1).padStart(8)} ` +
        `${fmt(interval.ok / sampleSeconds, 0).padStart(7)} ${fmt(interval.p50Ms, 2).padStart(7)} ` +
        `${fmt(interval.p99Ms, 2).padStart(7)} ${fmt(interval.maxMs, 1).padStart(7)} ` +
        `${String(interval.failed).padStart(6)}`,
    );
  },
});
await server.stop();

const check = checkServiceStored(databasePath, {
  ok: result.ok,
  failed: result.non2xx + result.errors + result.timeouts,
  unseenAllowance: result.timeouts,
  wrapped: false,
  missing: 0,
});
removeServerFiles(spec);

const measured = samples.slice(Math.floor(samples.length * WARM_UP_SHARE));
const rss = growth(measured.map((s) => [s.atSeconds, s.rssMiB]));
const wal = growth(measured.map((s) => [s.atSeconds, s.walMiB]));
const p99 = growth(measured.map((s) => [s.atSeconds, s.interval.p99Ms]));

console.log(
  `\n${result.ok} accepted of ${result.scheduled} scheduled, ${fmt(result.achievedPerSecond, 0)} req/s; ` +
    `whole run p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, max ${fmt(result.maxMs, 1)} ms`,
);
console.log(`stored check: ${check.text}`);
console.log(`RSS: ${verdict(rss, "MiB", 5)}`);
console.log(`WAL: ${verdict(wal, "MiB", 5)}`);
console.log(`p99 per interval: ${verdict(p99, "ms", 2)}`);
process.exit(check.ok ? 0 : 1);

interface Growth {
  /** The level at the start of the measured part, from the fitted line. */
  readonly start: number;
  /** The fitted line's rise over the measured part. */
  readonly rise: number;
  readonly perMinute: number;
  readonly max: number;
}

/** A least-squares line through (seconds, value) points. */
function growth(points: [number, number][]): Growth {
  if (points.length < 2) return { start: points[0]?.[1] ?? 0, rise: 0, perMinute: 0, max: 0 };
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  const slope = variance === 0 ? 0 : covariance / variance;
  const first = (points[0] as [number, number])[0];
  const last = (points[n - 1] as [number, number])[0];
  return {
    start: meanY + slope * (first - meanX),
    rise: slope * (last - first),
    perMinute: slope * 60,
    max: Math.max(...points.map(([, y]) => y)),
  };
}

function verdict(g: Growth, unit: string, flatAbsolute: number): string {
  const allowed = Math.max(flatAbsolute, FLAT_SHARE * g.start);
  const flat = g.rise <= allowed;
  return (
    `${flat ? "flat" : "GROWING"}: from ${fmt(g.start, 1)} ${unit}, ${g.rise >= 0 ? "+" : ""}${fmt(g.rise, 1)} ${unit} ` +
    `over the run after warm-up (${fmt(g.perMinute, 2)} ${unit}/min), max ${fmt(g.max, 1)} ${unit}` +
    (flat ? "" : `; more than the ${fmt(allowed, 1)} ${unit} allowed as flat`)
  );
}

function fileMiB(path: string): number {
  try {
    return statSync(path).size / 2 ** 20;
  } catch {
    return 0;
  }
}

function fmt(value: number, digits: number): string {
  return value.toFixed(digits);
}
