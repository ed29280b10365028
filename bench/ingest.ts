/**
 * `bun run bench:ingest`: throughput and latency of the webhook endpoint
 * against a bare `Bun.serve` ceiling, loaded in turn by the same generator
 * with the same prepared requests (unique eventIds), alternating several
 * rounds so that drift on a shared machine hits all alike. Then checks that
 * every 2xx answer corresponds to a stored event.
 *
 * Options: --rounds N (3), --duration S (5), --connections N (64),
 * --generator wrk|autocannon (wrk when installed), --json FILE,
 * --compare DIR (repeatable: also run the service from another checkout,
 * e.g. a git worktree of an earlier commit, in the same alternation).
 */
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { defaultGenerator, type Generator, type LoadResult, runLoad } from "./lib/load.ts";
import { prepareRequests, type Signer } from "./lib/requests.ts";
import {
  bareSpec,
  freePort,
  type RunningServer,
  removeServerFiles,
  type ServerSpec,
  serviceSpec,
  startServer,
  withPeakRss,
} from "./lib/servers.ts";
import { checkServiceStored } from "./lib/stored-check.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "64" },
    generator: { type: "string" },
    json: { type: "string" },
    compare: { type: "string", multiple: true, default: [] },
  },
});
const rounds = Number(args.rounds);
const durationSeconds = Number(args.duration);
const connections = Number(args.connections);
const generator = (args.generator as Generator | undefined) ?? defaultGenerator();

/** Prepared requests per second of the run: above any rate this machine reaches. */
const PREPARED_PER_SECOND = 80_000;

interface Target {
  readonly spec: ServerSpec;
  readonly path: string;
  readonly sign?: Signer;
  /** The database file, for the service targets. */
  readonly databasePath?: string;
}

interface Sample extends LoadResult {
  readonly peakRssMiB: number;
}

const WEBHOOK_PATH = "/webhooks/maildesk";

function serviceTarget(
  name: string,
  env: Record<string, string>,
  sign?: Signer,
  checkout?: string,
): Target {
  const spec = serviceSpec(name, freePort(), env, checkout);
  return { spec, path: WEBHOOK_PATH, sign, databasePath: spec.env.DATABASE_URL };
}

const targets: Target[] = [
  { spec: bareSpec(freePort()), path: WEBHOOK_PATH },
  serviceTarget("service, verifiers none", { WEBHOOK_VERIFIERS: "none" }),
  ...(args.compare ?? []).map((checkout) =>
    serviceTarget(
      `${basename(checkout)}, none`,
      { WEBHOOK_VERIFIERS: "none" },
      undefined,
      checkout,
    ),
  ),
];

const servers = new Map<Target, RunningServer>();
for (const target of targets) servers.set(target, await startServer(target.spec));

const samples = new Map<Target, Sample[]>(targets.map((target) => [target, []]));
console.log(
  `generator ${generator}, ${connections} connections, ${durationSeconds} s per run, ${rounds} rounds\n`,
);
for (let round = 1; round <= rounds; round++) {
  for (const target of targets) {
    const server = servers.get(target) as RunningServer;
    const requests = prepareRequests(
      PREPARED_PER_SECOND * durationSeconds,
      target.path,
      target.sign,
    );
    Bun.gc(true);
    const { result, peakRssMiB } = await withPeakRss(
      server,
      runLoad({ baseUrl: server.baseUrl, requests, connections, durationSeconds, generator }),
    );
    samples.get(target)?.push({ ...result, peakRssMiB });
    console.log(
      `round ${round}  ${target.spec.name.padEnd(28)} ${fmt(result.requestsPerSecond, 0).padStart(7)} req/s  ` +
        `p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  non-2xx ${result.failed}`,
    );
  }
}
for (const server of servers.values()) await server.stop();

const bare = samples.get(targets[0] as Target) as Sample[];
const rows = targets.map((target) => summarize(target, samples.get(target) as Sample[], bare));
for (const target of targets) removeServerFiles(target.spec);
console.log(
  `\n${"configuration".padEnd(28)} ${"req/s".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ` +
    `${"RSS MiB".padStart(8)} ${"vs bare".padStart(8)}  stored check`,
);
for (const row of rows) {
  console.log(
    `${row.name.padEnd(28)} ${fmt(row.requestsPerSecond, 0).padStart(8)} ${fmt(row.p50Ms, 2).padStart(7)} ` +
      `${fmt(row.p99Ms, 2).padStart(7)} ${fmt(row.peakRssMiB, 0).padStart(8)} ` +
      `${`${fmt(row.ratioToBare * 100, 0)}%`.padStart(8)}  ${row.storedCheck}`,
  );
}
if (args.json) writeFileSync(args.json, `${JSON.stringify({ generator, rows }, null, 2)}\n`);

const failedChecks = rows.filter((row) => row.storedCheck.startsWith("FAIL"));
process.exit(failedChecks.length > 0 ? 1 : 0);

function summarize(target: Target, runs: Sample[], baseline: Sample[]) {
  const ok = runs.reduce((sum, run) => sum + run.ok, 0);
  const failed = runs.reduce((sum, run) => sum + run.failed, 0);
  return {
    name: target.spec.name,
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    maxMs: Math.max(...runs.map((run) => run.maxMs)),
    peakRssMiB: Math.max(...runs.map((run) => run.peakRssMiB)),
    // Per round, then the median: each ratio compares runs minutes apart at most.
    ratioToBare: median(
      runs.map((run, i) => run.requestsPerSecond / (baseline[i] as Sample).requestsPerSecond),
    ),
    ok,
    failed,
    storedCheck: target.databasePath
      ? checkServiceStored(target.databasePath, {
          ok,
          failed,
          // At most one request per connection and run answered after wrk stopped reading.
          unseenAllowance: connections * rounds,
          wrapped: runs.some((run) => run.wrapped),
          missing: 0,
        }).text
      : "-",
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function fmt(value: number, digits: number): string {
  return value.toFixed(digits);
}
