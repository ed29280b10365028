/**
 * `bun run bench:binary`: the compiled binary's size, its time from start to
 * ready, and its resident memory once idle.
 *
 * 1. Builds the binary with `bun run build`'s flags into a temporary folder
 *    (or takes `--binary PATH`), and migrates a new database with it, so
 *    that the starts measured find their migrations already applied (as
 *    every start but the first does).
 * 2. Starts `serve` on that database `--starts` times (default 10), one at a
 *    time. Ready is the first 200 from `/readyz` (the database answers, the
 *    migrations are applied, the writer thread and the worker report),
 *    polled every millisecond from the moment of the spawn. The log lines'
 *    timestamps split that time into phases: loading the program (spawn to
 *    its first log line), opening the database, starting the writer thread
 *    (to "worker started"), building the HTTP app (to "listening"), and the
 *    wait for the first readiness answer.
 * 3. After `--idle-seconds` (default 5) with no requests, reads the RSS
 *    (VmRSS), its peak (VmHWM) and its split (smaps_rollup: anonymous
 *    memory, i.e. the heaps, against pages of the executable file, which
 *    are clean and which the kernel can drop and read again) from /proc,
 *    then stops it with SIGTERM (it must exit 0).
 * 4. The same for a one-line `Bun.serve` compiled the same way, i.e. what
 *    the runtime itself costs (`--no-baseline` skips it).
 *
 * Prints median, min and max of each figure; `--json FILE` writes them.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildBinary } from "../scripts/build.ts";
import { describeMachine } from "./lib/machine.ts";
import { freePort } from "./lib/servers.ts";

const { values: args } = parseArgs({
  options: {
    binary: { type: "string" },
    starts: { type: "string", default: "10" },
    "idle-seconds": { type: "string", default: "5" },
    "no-baseline": { type: "boolean" },
    json: { type: "string" },
  },
});

const STARTS = Number(args.starts);
const IDLE_MS = Number(args["idle-seconds"]) * 1000;
const READY_TIMEOUT_MS = 10_000;

/** One start: the phases in milliseconds from the spawn, and the memory once idle. */
interface StartSample {
  readonly readyMs: number;
  readonly phases: Record<string, number>;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** The RSS split: heap and other private memory, and pages of the executable file. */
  readonly anonMiB: number;
  readonly fileMiB: number;
}

const LOG_PHASES: [string, string][] = [
  ["program loaded (first log line)", "WEBHOOK_VERIFIERS=none"],
  ["database open, migrations checked", "database open"],
  ["writer thread and worker started", "worker started"],
  ["HTTP app built, listening", "listening"],
];

const work = mkdtempSync(join(tmpdir(), "maildesk-bench-binary-"));
try {
  const binary = args.binary ?? join(work, "maildesk-receiver");
  if (!args.binary) {
    const started = performance.now();
    await buildBinary({ outfile: binary });
    console.log(`built ${binary} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const sizeMiB = statSync(binary).size / 2 ** 20;
  const env = {
    WEBHOOK_VERIFIERS: "none",
    DATABASE_URL: join(work, "maildesk.db"),
    HOST: "127.0.0.1",
  };
  const migrate = Bun.spawnSync([binary, "migrate"], { env, cwd: work });
  if (migrate.exitCode !== 0) throw new Error(`migrate failed: ${migrate.stderr.toString()}`);

  const samples = await measureStarts([binary, "serve"], env, STARTS);
  const baseline =
    args["no-baseline"] === true ? null : await measureStarts(await buildBaseline(), {}, STARTS);

  const report = {
    machine: describeMachine(),
    binaryMiB: round(sizeMiB),
    starts: STARTS,
    idleSeconds: IDLE_MS / 1000,
    readyMs: summarize(samples.map((s) => s.readyMs)),
    rssMiB: summarize(samples.map((s) => s.rssMiB)),
    peakRssMiB: summarize(samples.map((s) => s.peakRssMiB)),
    anonMiB: summarize(samples.map((s) => s.anonMiB)),
    fileMiB: summarize(samples.map((s) => s.fileMiB)),
    phasesMs: Object.fromEntries(
      Object.keys(samples[0]?.phases ?? {}).map((name) => [
        name,
        summarize(samples.map((s) => s.phases[name] ?? Number.NaN)),
      ]),
    ),
    baseline: baseline && {
      readyMs: summarize(baseline.map((s) => s.readyMs)),
      rssMiB: summarize(baseline.map((s) => s.rssMiB)),
      anonMiB: summarize(baseline.map((s) => s.anonMiB)),
      fileMiB: summarize(baseline.map((s) => s.fileMiB)),
    },
  };
  print(report);
  if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

async function measureStarts(
  command: string[],
  env: Record<string, string>,
  count: number,
): Promise<StartSample[]> {
  const samples: StartSample[] = [];
  for (let i = 0; i < count; i++) samples.push(await measureStart(command, env));
  return samples;
}

async function measureStart(command: string[], env: Record<string, string>): Promise<StartSample> {
  const port = await freePort();
  const spawnedAt = Date.now();
  const started = performance.now();
  const child = Bun.spawn(command, {
    env: { ...env, PORT: String(port) },
    stdout: "pipe",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}/readyz`;

  let readyMs = Number.NaN;
  while (performance.now() - started < READY_TIMEOUT_MS) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) {
      readyMs = performance.now() - started;
      break;
    }
    if (child.exitCode !== null) throw new Error(`${command[0]} exited with ${child.exitCode}`);
    await Bun.sleep(1);
  }
  if (Number.isNaN(readyMs)) throw new Error(`not ready within ${READY_TIMEOUT_MS} ms`);

  await Bun.sleep(IDLE_MS);
  const status = await Bun.file(`/proc/${child.pid}/status`).text();
  const rssMiB = readKiB(status, "VmRSS") / 1024;
  const peakRssMiB = readKiB(status, "VmHWM") / 1024;
  const rollup = await Bun.file(`/proc/${child.pid}/smaps_rollup`).text();
  const anonMiB = readKiB(rollup, "Pss_Anon") / 1024;
  const fileMiB = readKiB(rollup, "Pss_File") / 1024;
  child.kill("SIGTERM");
  const exitCode = await child.exited;
  if (exitCode !== 0) throw new Error(`${command[0]} exited with ${exitCode} on SIGTERM`);

  const lines = (await new Response(child.stdout).text()).split("\n").filter(Boolean);
  const phases = readPhases(lines, spawnedAt, readyMs);
  return { readyMs, phases, rssMiB, peakRssMiB, anonMiB, fileMiB };
}

/** Milliseconds from the spawn to each phase's log line; the last phase ends at ready. */
function readPhases(lines: string[], spawnedAt: number, readyMs: number): Record<string, number> {
  const phases: Record<string, number> = {};
  let previous = 0;
  for (const [name, message] of LOG_PHASES) {
    const line = lines.find((candidate) => candidate.includes(message));
    if (!line) return {};
    const at = Date.parse((JSON.parse(line) as { time: string }).time) - spawnedAt;
    phases[name] = at - previous;
    previous = at;
  }
  phases["first /readyz 200 after listening"] = readyMs - previous;
  return phases;
}

/** A one-line server compiled the same way: the runtime's own start and memory. */
async function buildBaseline(): Promise<string[]> {
  const source = join(work, "baseline.ts");
  writeFileSync(
    source,
    'Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch: () => new Response("ok") });\n' +
      'process.on("SIGTERM", () => process.exit(0));\n',
  );
  const outfile = join(work, "baseline");
  const build = Bun.spawnSync([
    process.execPath,
    "build",
    "--compile",
    source,
    "--outfile",
    outfile,
  ]);
  if (build.exitCode !== 0) throw new Error(`baseline build failed: ${build.stderr.toString()}`);
  return [outfile];
}

function readKiB(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
}

interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return {
    median: round(median),
    min: round(sorted[0] as number),
    max: round(sorted.at(-1) as number),
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function print(report: {
  binaryMiB: number;
  starts: number;
  idleSeconds: number;
  readyMs: Summary;
  rssMiB: Summary;
  peakRssMiB: Summary;
  anonMiB: Summary;
  fileMiB: Summary;
  phasesMs: Record<string, Summary>;
  baseline: { readyMs: Summary; rssMiB: Summary; anonMiB: Summary; fileMiB: Summary } | null;
}) {
  const row = (name: string, s: Summary, unit: string) =>
    `  ${name.padEnd(40)} ${String(s.median).padStart(7)} ${String(s.min).padStart(7)} ${String(s.max).padStart(7)}  ${unit}`;
  console.log(`\nbinary: ${report.binaryMiB} MiB; ${report.starts} starts, migrations applied`);
  console.log(
    `  ${"".padEnd(40)} ${"median".padStart(7)} ${"min".padStart(7)} ${"max".padStart(7)}`,
  );
  console.log(row("start to ready (/readyz 200)", report.readyMs, "ms"));
  for (const [name, summary] of Object.entries(report.phasesMs)) {
    console.log(row(`  ${name}`, summary, "ms"));
  }
  console.log(row(`RSS after ${report.idleSeconds} s idle`, report.rssMiB, "MiB"));
  console.log(row("  anonymous (heaps)", report.anonMiB, "MiB"));
  console.log(row("  pages of the executable", report.fileMiB, "MiB"));
  console.log(row("peak RSS (VmHWM)", report.peakRssMiB, "MiB"));
  if (report.baseline) {
    console.log(row("baseline: Bun.serve, start to 200", report.baseline.readyMs, "ms"));
    console.log(row("baseline: RSS idle", report.baseline.rssMiB, "MiB"));
    console.log(row("  anonymous (heaps)", report.baseline.anonMiB, "MiB"));
    console.log(row("  pages of the executable", report.baseline.fileMiB, "MiB"));
  }
}
