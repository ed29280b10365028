import { rmSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
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
  waitUntilIdle,
  withPeakRss,
} from "./lib/servers.ts";
import { signerFor, verifierEnvs } from "./lib/signers.ts";
import { checkServiceStored } from "./lib/stored-check.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "64" },
    generator: { type: "string" },
    json: { type: "string" },
    compare: { type: "string", multiple: true, default: [] },
    verifiers: { type: "string" },
  },
});
const rounds = Number(args.rounds);
const durationSeconds = Number(args.duration);
const connections = Number(args.connections);
const generator = (args.generator as Generator | undefined) ?? defaultGenerator();

/** Width of the configuration column. */
const NAME_WIDTH = 36;

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
  /**
   * The server's CPU time per completed request, in microseconds: what a
   * verifier costs, less disturbed than throughput by other load on a shared
   * machine.
   */
  readonly cpuUsPerRequest: number;
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

// Requests are signed when a run is prepared, so the window must cover the run.
/** The service once per verifier, with its settings; `--verifiers` picks among them. */
const VERIFIER_ENVS = verifierEnvs(Math.max(300, durationSeconds + 60));
const VERIFIER_LABELS: Readonly<Record<string, string>> = {
  hmac: "hmac (standard-webhooks)",
  "hmac-github": "hmac (github)",
  "hmac-stripe": "hmac (stripe)",
};

const chosenVerifiers = (args.verifiers ?? Object.keys(VERIFIER_ENVS).join(","))
  .split(",")
  .map((name) => name.trim())
  .filter((name) => name && name !== "none");
for (const name of chosenVerifiers) {
  if (!VERIFIER_ENVS[name]) {
    console.error(
      `--verifiers: unknown "${name}" (choices: ${Object.keys(VERIFIER_ENVS).join(", ")}, none)`,
    );
    process.exit(64);
  }
}

const noneTarget = serviceTarget("service, verifiers none", { WEBHOOK_VERIFIERS: "none" });
const targets: Target[] = [
  { spec: bareSpec(freePort()), path: WEBHOOK_PATH },
  noneTarget,
  ...chosenVerifiers.map((name) => {
    const env = VERIFIER_ENVS[name] as Record<string, string>;
    return serviceTarget(`service, ${VERIFIER_LABELS[name] ?? name}`, env, signerFor(env));
  }),
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
// Whatever happens (a server that dies, a generator that fails), no server is left running.
try {
  for (let round = 1; round <= rounds; round++) {
    // The bare server first, then the service targets in an order rotated by
    // one each round, so that none of them always follows the same one.
    const [bareTarget, ...serviceTargets] = targets as [Target, ...Target[]];
    const shift = (round - 1) % serviceTargets.length;
    const order = [bareTarget, ...serviceTargets.slice(shift), ...serviceTargets.slice(0, shift)];
    for (const target of order) {
      const server = servers.get(target) as RunningServer;
      const requests = prepareRequests(
        PREPARED_PER_SECOND * durationSeconds,
        target.path,
        target.sign,
      );
      Bun.gc(true);
      // A service's worker drains what its last run left (see waitUntilIdle).
      await waitUntilIdle([...servers.values()]);
      // The previous run's database pages are still being written back; left
      // alone, that writeback competes with this run's fsyncs, and the target
      // that follows the bare server (which writes nothing) would be favoured.
      Bun.spawnSync(["sync"]);
      const cpuBefore = server.cpuSeconds();
      const { result, peakRssMiB } = await withPeakRss(
        server,
        runLoad({ baseUrl: server.baseUrl, requests, connections, durationSeconds, generator }),
      );
      const cpuUsPerRequest = ((server.cpuSeconds() - cpuBefore) * 1e6) / result.requests;
      samples.get(target)?.push({ ...result, peakRssMiB, cpuUsPerRequest });
      console.log(
        `round ${round}  ${target.spec.name.padEnd(NAME_WIDTH)} ${fmt(result.requestsPerSecond, 0).padStart(7)} req/s  ` +
          `p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  ` +
          `CPU ${fmt(cpuUsPerRequest, 1)} µs/req  non-2xx ${result.failed}`,
      );
    }
  }
} finally {
  for (const server of servers.values()) await server.stop();
}

const bare = samples.get(targets[0] as Target) as Sample[];
const none = samples.get(noneTarget) as Sample[];
const rows = targets.map((target) =>
  summarize(target, samples.get(target) as Sample[], bare, none),
);
for (const target of targets) removeServerFiles(target.spec);
console.log(
  `\n${"configuration".padEnd(NAME_WIDTH)} ${"req/s".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ` +
    `${"RSS MiB".padStart(8)} ${"µs CPU".padStart(7)} ${"vs bare".padStart(8)} ${"vs none".padStart(8)}  stored check`,
);
for (const row of rows) {
  console.log(
    `${row.name.padEnd(NAME_WIDTH)} ${fmt(row.requestsPerSecond, 0).padStart(8)} ${fmt(row.p50Ms, 2).padStart(7)} ` +
      `${fmt(row.p99Ms, 2).padStart(7)} ${fmt(row.peakRssMiB, 0).padStart(8)} ${fmt(row.cpuUsPerRequest, 1).padStart(7)} ` +
      `${`${fmt(row.ratioToBare * 100, 0)}%`.padStart(8)} ${`${fmt(row.ratioToNone * 100, 0)}%`.padStart(8)}  ${row.storedCheck}`,
  );
}
const hmacRow = rows.find((row) => row.name === `service, ${VERIFIER_LABELS.hmac}`);
if (hmacRow) {
  console.log(
    `\nhmac (standard-webhooks) vs none: ${fmt(hmacRow.ratioToNone * 100, 1)}% of the throughput, ` +
      `${fmt(hmacRow.cpuRatioToNone * 100, 1)}% of the CPU time per request (medians of the ` +
      "per-round ratios; the target is at least 90% of the throughput)",
  );
}

// The databases (hundreds of MB each) are only needed for the stored check.
for (const target of targets) {
  if (target.databasePath) rmSync(dirname(target.databasePath), { recursive: true, force: true });
}
if (args.json) writeFileSync(args.json, `${JSON.stringify({ generator, rows }, null, 2)}\n`);

const failedChecks = rows.filter((row) => row.storedCheck.startsWith("FAIL"));
process.exit(failedChecks.length > 0 ? 1 : 0);

function summarize(target: Target, runs: Sample[], baseline: Sample[], none: Sample[]) {
  const ok = runs.reduce((sum, run) => sum + run.ok, 0);
  const failed = runs.reduce((sum, run) => sum + run.failed, 0);
  return {
    name: target.spec.name,
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    maxMs: Math.max(...runs.map((run) => run.maxMs)),
    peakRssMiB: Math.max(...runs.map((run) => run.peakRssMiB)),
    cpuUsPerRequest: median(runs.map((run) => run.cpuUsPerRequest)),
    // Per round, then the median: each ratio compares runs minutes apart at most.
    ratioToBare: median(
      runs.map((run, i) => run.requestsPerSecond / (baseline[i] as Sample).requestsPerSecond),
    ),
    ratioToNone: median(
      runs.map((run, i) => run.requestsPerSecond / (none[i] as Sample).requestsPerSecond),
    ),
    cpuRatioToNone: median(
      runs.map((run, i) => run.cpuUsPerRequest / (none[i] as Sample).cpuUsPerRequest),
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
