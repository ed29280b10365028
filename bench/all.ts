/**
 * `bun run bench`: the whole comparison, in one run.
 *
 * Configurations: the ceiling (a bare `Bun.serve` that reads the body and
 * answers 200), the peer a user would otherwise write (Express 5 on Node.js
 * with better-sqlite3, WAL, synchronous=FULL, one INSERT OR IGNORE per
 * request; bench/peer-express/), and this service with the verifiers `none`,
 * `basic` and `hmac` (Standard Webhooks). A configuration whose server does
 * not start (a verifier this build lacks) is reported as unavailable, with
 * the reason, and the others go on.
 *
 * Every server runs as a child process for the whole run, on a fresh
 * database, and is warmed up for 2 s (counted in its stored check, not in
 * its numbers). Then, per round, a closed-loop run of each configuration
 * (64 connections, wrk when installed, else autocannon) and an open-loop run
 * of each at a fixed rate (bench/open-loop-client.ts explains the method).
 * Rounds alternate the configurations, in an order rotated each round, so
 * that drift on a shared machine hits all alike; ratios are computed per
 * round and then the median taken. Each run starts once every server is
 * idle and the disk written back (a service's worker goes on draining what
 * the run left in its outbox; see waitUntilIdle). The peak RSS of each
 * server is sampled throughout.
 *
 * At the end every server's database is read back: stored events must equal
 * the accepted answers (the service) and include every 2xx the client saw.
 * Results go to bench/results.json and bench/results.svg, a table and the
 * goals (PASS/MISS) to stdout. Exit status 1 when a stored check fails.
 *
 * Options: --rounds N (3), --duration S (5, per run), --rate N (2000),
 * --connections N (64), --only NAMES (comma-separated: bare, express, none,
 * basic, hmac), --generator wrk|autocannon, --json FILE, --svg FILE.
 */
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { renderChart } from "./lib/chart.ts";
import { defaultGenerator, type Generator, type LoadResult, runLoad } from "./lib/load.ts";
import { describeMachine, readLoadAverage } from "./lib/machine.ts";
import { type OpenLoopResult, runOpenLoop } from "./lib/open-loop.ts";
import {
  evaluateGoals,
  GOALS,
  type Kind,
  median,
  printGoals,
  printTable,
  summarizeConfiguration,
} from "./lib/report.ts";
import { prepareRequests, type Signer } from "./lib/requests.ts";
import {
  bareSpec,
  freePort,
  PEER_EXPRESS_DIR,
  peerExpressSpec,
  type RunningServer,
  removeServerFiles,
  type ServerSpec,
  ServerUnavailableError,
  serviceSpec,
  startServer,
  waitUntilIdle,
  withPeakRss,
} from "./lib/servers.ts";
import { signerFor } from "./lib/signers.ts";
import {
  checkPeerStored,
  checkServiceStored,
  countMissingEvents,
  type StoredCheck,
} from "./lib/stored-check.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    rate: { type: "string", default: "2000" },
    connections: { type: "string", default: "64" },
    only: { type: "string", multiple: true },
    generator: { type: "string" },
    json: { type: "string", default: join(import.meta.dir, "results.json") },
    svg: { type: "string", default: join(import.meta.dir, "results.svg") },
  },
});
const rounds = Number(args.rounds);
const durationSeconds = Number(args.duration);
const ratePerSecond = Number(args.rate);
const connections = Number(args.connections);
const generator = (args.generator as Generator | undefined) ?? defaultGenerator();
const only = args.only?.flatMap((names) => names.split(",").map((name) => name.trim()));

/** Prepared requests per second of a closed-loop run: above any rate this machine reaches. */
const PREPARED_PER_SECOND = 80_000;
const WARM_UP_SECONDS = 2;
const WEBHOOK_PATH = "/webhooks/maildesk";

interface Target {
  /** The name for `--only`. */
  readonly key: string;
  readonly kind: Kind;
  readonly spec: ServerSpec;
  readonly sign?: Signer;
  server?: RunningServer;
  unavailable?: string;
  readonly closed: LoadResult[];
  readonly open: OpenLoopResult[];
  peakRssMiB: number;
  /** Client-side counts over every run, warm-up included, for the stored check. */
  ok: number;
  failed: number;
  unseenAllowance: number;
  wrapped: boolean;
  missing: number;
}

function target(key: string, kind: Kind, spec: ServerSpec, sign?: Signer): Target {
  return {
    key,
    kind,
    spec,
    sign,
    closed: [],
    open: [],
    peakRssMiB: 0,
    ok: 0,
    failed: 0,
    unseenAllowance: 0,
    wrapped: false,
    missing: 0,
  };
}

const basicEnv = {
  WEBHOOK_VERIFIERS: "basic",
  WEBHOOK_BASIC_USER: "maildesk",
  WEBHOOK_BASIC_PASSWORD: crypto.randomUUID(),
};
const hmacEnv = {
  WEBHOOK_VERIFIERS: "hmac",
  WEBHOOK_HMAC_SCHEME: "standard-webhooks",
  WEBHOOK_HMAC_SECRETS: `whsec_${randomBytes(32).toString("base64")}`,
  // Requests are signed when prepared, up to a run's length before they are sent.
  WEBHOOK_HMAC_TOLERANCE_SECONDS: "3600",
};

const allTargets: Target[] = [
  target("bare", "bare", bareSpec(freePort())),
  target("express", "peer", peerExpressSpec(freePort())),
  target(
    "none",
    "service",
    serviceSpec("service, verifiers none", freePort(), { WEBHOOK_VERIFIERS: "none" }),
  ),
  target(
    "basic",
    "service",
    serviceSpec("service, verifiers basic", freePort(), basicEnv),
    signerFor(basicEnv),
  ),
  target(
    "hmac",
    "service",
    serviceSpec("service, verifiers hmac", freePort(), hmacEnv),
    signerFor(hmacEnv),
  ),
];
const targets = only ? allTargets.filter((t) => only.includes(t.key)) : allTargets;
if (targets.length === 0)
  throw new Error(`--only matched nothing (names: bare, express, none, basic, hmac)`);

console.log(
  `${generator} closed loop at ${connections} connections and open loop at ${ratePerSecond} req/s, ` +
    `${durationSeconds} s per run, ${rounds} rounds\n`,
);

const peer = targets.find((t) => t.kind === "peer");
if (peer) peer.unavailable = installPeer() ?? undefined;
const loadAverageAtStart = readLoadAverage();

for (const t of targets) {
  if (t.unavailable) continue;
  try {
    t.server = await startServer(t.spec);
    await closedLoopRun(t, WARM_UP_SECONDS, false);
  } catch (error) {
    if (!(error instanceof ServerUnavailableError)) throw error;
    t.unavailable = error.message;
  }
  if (t.unavailable) console.log(`${t.spec.name}: unavailable (${t.unavailable})`);
}
const running = targets.filter((t) => t.server);

for (let round = 1; round <= rounds; round++) {
  const order = rotate(running, round - 1);
  for (const t of order) {
    const result = await closedLoopRun(t, durationSeconds, true);
    console.log(
      `round ${round}  closed  ${t.spec.name.padEnd(28)} ${fmt(result.requestsPerSecond, 0).padStart(7)} req/s  ` +
        `p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  non-2xx ${result.failed}`,
    );
  }
  for (const t of order) {
    const result = await openLoopRun(t);
    console.log(
      `round ${round}  open    ${t.spec.name.padEnd(28)} ${fmt(result.achievedPerSecond, 0).padStart(7)} req/s  ` +
        `p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  max ${fmt(result.maxMs, 1)} ms  ` +
        `non-2xx ${result.non2xx + result.errors + result.timeouts}`,
    );
  }
}

const checks = new Map<Target, StoredCheck>();
for (const t of running) {
  await t.server?.stop();
  const counts = {
    ok: t.ok,
    failed: t.failed,
    unseenAllowance: t.unseenAllowance,
    wrapped: t.wrapped,
    missing: t.missing,
  };
  const databasePath = t.spec.databasePath as string;
  if (t.kind === "service") checks.set(t, checkServiceStored(databasePath, counts));
  if (t.kind === "peer") checks.set(t, checkPeerStored(databasePath, counts));
}
for (const t of targets) removeServerFiles(t.spec);

const bare = targets.find((t) => t.kind === "bare" && t.server);
const peerRunning = peer?.server ? peer : undefined;
const configurations = targets.map((t) =>
  summarizeConfiguration(
    {
      key: t.key,
      name: t.spec.name,
      kind: t.kind,
      unavailable: t.server ? null : (t.unavailable ?? "did not start"),
      closed: t.closed,
      open: t.open,
      peakRssMiB: t.peakRssMiB,
      storedCheck: checks.get(t) ?? null,
    },
    { bare: bare?.closed, peer: peerRunning?.closed, ratePerSecond },
  ),
);
const goals = evaluateGoals(configurations, ratePerSecond);
const machine = {
  ...describeMachine(),
  // Before any server started; at the end it would show this run's own load.
  loadAverage1mAtStart: loadAverageAtStart,
};
const command = `bun run bench${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`;

printTable(configurations, ratePerSecond);
printGoals(goals);
/** A load average before the run above this means something else was running. */
const BUSY_LOAD_AVERAGE = 0.5;
console.log(
  `\nload average (1 min) before the run: ${loadAverageAtStart} on ${machine.cores} cores` +
    (loadAverageAtStart > BUSY_LOAD_AVERAGE
      ? ": something else was running; the numbers may understate this machine"
      : ""),
);

writeFileSync(
  args.json as string,
  `${JSON.stringify(
    {
      command,
      machine,
      settings: {
        rounds,
        durationSeconds,
        connections,
        ratePerSecond,
        closedLoopGenerator: generator,
        openLoopGenerator: "bench/open-loop-client.ts",
        warmUpSeconds: WARM_UP_SECONDS,
      },
      configurations,
      goals,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  args.svg as string,
  renderChart({
    title: "maildesk-receiver: webhook ingest, durable (WAL, synchronous=FULL)",
    subtitle: [
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Bun ${machine.bun}, ` +
        `Node.js ${machine.node ?? "-"}; ${machine.date.slice(0, 10)}`,
      `${command}: median of ${rounds} rounds of ${durationSeconds} s per run, alternated`,
    ],
    rows: configurations.map((c) => ({
      name: c.name,
      kind: c.kind,
      unavailable: c.unavailable ?? undefined,
      requestsPerSecond: c.closedLoop?.requestsPerSecond,
      openLoopP99Ms: c.openLoop?.p99Ms,
    })),
    connections,
    ratePerSecond,
    throughputMarkers: [
      ...(bare
        ? [{ label: "50% of bare", value: median(bare.closed.map((r) => r.requestsPerSecond)) / 2 }]
        : []),
      ...(peerRunning
        ? [
            {
              label: "8× Express",
              value: 8 * median(peerRunning.closed.map((r) => r.requestsPerSecond)),
            },
          ]
        : []),
    ],
    latencyGoalMs: GOALS.openLoopP99Ms,
  }),
);
console.log(`\nwrote ${args.json} and ${args.svg}`);

process.exit([...checks.values()].some((check) => !check.ok) ? 1 : 0);

/** Every server idle (see waitUntilIdle), its files written back. */
async function settle(): Promise<void> {
  await waitUntilIdle(targets.flatMap((t) => (t.server ? [t.server] : [])));
  Bun.spawnSync(["sync"]);
}

async function closedLoopRun(t: Target, seconds: number, record: boolean): Promise<LoadResult> {
  const server = t.server as RunningServer;
  const requests = prepareRequests(PREPARED_PER_SECOND * seconds, WEBHOOK_PATH, t.sign);
  Bun.gc(true);
  await settle();
  const { result, peakRssMiB } = await withPeakRss(
    server,
    runLoad({
      baseUrl: server.baseUrl,
      requests,
      connections,
      durationSeconds: seconds,
      generator,
    }),
  );
  t.peakRssMiB = Math.max(t.peakRssMiB, peakRssMiB);
  t.ok += result.ok;
  t.failed += result.failed;
  t.unseenAllowance += connections;
  t.wrapped ||= result.wrapped;
  if (record) t.closed.push(result);
  return result;
}

async function openLoopRun(t: Target): Promise<OpenLoopResult> {
  const server = t.server as RunningServer;
  const requests = prepareRequests(
    Math.round(ratePerSecond * durationSeconds),
    WEBHOOK_PATH,
    t.sign,
  );
  Bun.gc(true);
  await settle();
  const { result, peakRssMiB } = await withPeakRss(
    server,
    runOpenLoop({ baseUrl: server.baseUrl, requests, ratePerSecond, durationSeconds }),
  );
  t.peakRssMiB = Math.max(t.peakRssMiB, peakRssMiB);
  t.ok += result.ok;
  t.failed += result.non2xx + result.errors + result.timeouts;
  t.unseenAllowance += result.timeouts;
  t.open.push(result);

  // Unlike wrk, the open-loop client says which requests got a 2xx: check
  // each of those eventIds, not just the count.
  if (t.spec.databasePath) {
    const failed = new Set(result.failedIndexes);
    const acceptedIds = requests.filter((_, i) => !failed.has(i)).map((r) => r.eventId);
    t.missing += countMissingEvents(t.spec.databasePath, acceptedIds);
  }
  return result;
}

/**
 * Installs the peer's locked dependencies when they are missing (a fresh
 * clone); better-sqlite3 builds from source, about a minute. Returns why the
 * peer cannot run, or null.
 */
function installPeer(): string | null {
  const addon = join(PEER_EXPRESS_DIR, "node_modules", "better-sqlite3", "build", "Release");
  const express = join(PEER_EXPRESS_DIR, "node_modules", "express", "package.json");
  if (existsSync(join(addon, "better_sqlite3.node")) && existsSync(express)) return null;
  if (!Bun.which("node") || !Bun.which("npm")) return "node and npm are needed for the peer";

  console.log("installing the Express peer (npm ci in bench/peer-express; builds better-sqlite3)…");
  const result = Bun.spawnSync(["npm", "ci", "--no-audit", "--no-fund"], {
    cwd: PEER_EXPRESS_DIR,
    stdout: "inherit",
    stderr: "inherit",
  });
  return result.exitCode === 0 ? null : `npm ci failed with exit code ${result.exitCode}`;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function fmt(value: number, digits: number): string {
  return value.toFixed(digits);
}
