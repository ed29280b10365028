/**
 * What a benchmark run comes to: the summary of each configuration (as
 * results.json records it), the goals it is measured against, and the table
 * and goal lines printed at the end of `bun run bench`.
 */
import type { LoadResult } from "./load.ts";
import type { OpenLoopResult } from "./open-loop.ts";
import type { StoredCheck } from "./stored-check.ts";

/** What kind of server a configuration is. */
export type Kind = "bare" | "peer" | "service";

/** The goals this service is measured against. */
export const GOALS = {
  timesPeer: 8,
  shareOfBare: 0.5,
  openLoopP99Ms: 10,
  goalRatePerSecond: 2000,
  // 150 MB, in MiB as the RSS is reported.
  rssMiB: 150e6 / 2 ** 20,
} as const;

/** Medians of a configuration's closed-loop rounds, and each round. */
export interface ClosedLoopSummary {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly rounds: readonly {
    readonly requestsPerSecond: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
    readonly ok: number;
    readonly failed: number;
  }[];
}

/** Medians of a configuration's open-loop rounds (latency from the schedule), and each round. */
export interface OpenLoopSummary {
  readonly ratePerSecond: number;
  readonly achievedPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p99MsWorstRound: number;
  readonly maxMs: number;
  readonly generatorLagP99Ms: number;
  readonly rounds: readonly {
    readonly achievedPerSecond: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly p999Ms: number;
    readonly maxMs: number;
    readonly ok: number;
    readonly failed: number;
  }[];
}

/** One configuration in results.json; the measurements are null when it was unavailable. */
export interface Configuration {
  readonly key: string;
  readonly name: string;
  readonly kind: Kind;
  readonly unavailable: string | null;
  readonly closedLoop: ClosedLoopSummary | null;
  readonly openLoop: OpenLoopSummary | null;
  readonly peakRssMiB: number | null;
  /** Median over rounds of req/s over the bare server's in the same round. */
  readonly ratioToBare: number | null;
  /** Median over rounds of req/s over the Express peer's in the same round. */
  readonly ratioToPeer: number | null;
  readonly storedCheck: StoredCheck | null;
}

/** What was measured of one configuration over the run. */
export interface Measured {
  readonly key: string;
  readonly name: string;
  readonly kind: Kind;
  /** Why it did not run, or null. */
  readonly unavailable: string | null;
  readonly closed: readonly LoadResult[];
  readonly open: readonly OpenLoopResult[];
  readonly peakRssMiB: number;
  readonly storedCheck: StoredCheck | null;
}

/** The closed-loop runs of the baselines, round by round, for the ratios. */
export interface Baselines {
  readonly bare?: readonly LoadResult[];
  readonly peer?: readonly LoadResult[];
  readonly ratePerSecond: number;
}

/** Medians over rounds, the ratios to the baselines, and each round, for results.json. */
export function summarizeConfiguration(m: Measured, baselines: Baselines): Configuration {
  const base = { key: m.key, name: m.name, kind: m.kind, storedCheck: m.storedCheck };
  if (m.unavailable !== null) {
    return {
      ...base,
      unavailable: m.unavailable,
      closedLoop: null,
      openLoop: null,
      peakRssMiB: null,
      ratioToBare: null,
      ratioToPeer: null,
    };
  }
  return {
    ...base,
    unavailable: null,
    closedLoop: {
      requestsPerSecond: median(m.closed.map((r) => r.requestsPerSecond)),
      p50Ms: median(m.closed.map((r) => r.p50Ms)),
      p99Ms: median(m.closed.map((r) => r.p99Ms)),
      maxMs: Math.max(...m.closed.map((r) => r.maxMs)),
      rounds: m.closed.map(({ requestsPerSecond, p50Ms, p99Ms, maxMs, ok, failed }) => ({
        requestsPerSecond,
        p50Ms,
        p99Ms,
        maxMs,
        ok,
        failed,
      })),
    },
    openLoop: {
      ratePerSecond: baselines.ratePerSecond,
      achievedPerSecond: median(m.open.map((r) => r.achievedPerSecond)),
      p50Ms: median(m.open.map((r) => r.p50Ms)),
      p99Ms: median(m.open.map((r) => r.p99Ms)),
      p99MsWorstRound: Math.max(...m.open.map((r) => r.p99Ms)),
      maxMs: Math.max(...m.open.map((r) => r.maxMs)),
      generatorLagP99Ms: Math.max(...m.open.map((r) => r.lagP99Ms)),
      rounds: m.open.map((r) => ({
        achievedPerSecond: r.achievedPerSecond,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        p999Ms: r.p999Ms,
        maxMs: r.maxMs,
        ok: r.ok,
        failed: r.non2xx + r.errors + r.timeouts,
      })),
    },
    peakRssMiB: m.peakRssMiB,
    ratioToBare: baselines.bare ? ratioPerRound(m.closed, baselines.bare) : null,
    ratioToPeer: baselines.peer ? ratioPerRound(m.closed, baselines.peer) : null,
  };
}

/**
 * The median over rounds of a round's req/s over the baseline's in the same
 * round: each ratio compares runs at most a few minutes apart.
 */
function ratioPerRound(runs: readonly LoadResult[], baseline: readonly LoadResult[]): number {
  return median(
    runs.map((run, i) => run.requestsPerSecond / (baseline[i] as LoadResult).requestsPerSecond),
  );
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** One goal for one configuration, as results.json records it. */
export interface Goal {
  readonly configuration: string;
  readonly goal: string;
  readonly measured: string;
  readonly verdict: "PASS" | "MISS" | "n/a";
}

/** PASS, MISS or n/a for each goal and service configuration. */
export function evaluateGoals(rows: readonly Configuration[], ratePerSecond: number): Goal[] {
  const goals: Goal[] = [];
  for (const row of rows) {
    if (row.kind !== "service") continue;
    const add = (goal: string, measured: string, pass: boolean | null) =>
      goals.push({
        configuration: row.name,
        goal,
        measured,
        verdict: pass === null ? "n/a" : pass ? "PASS" : "MISS",
      });
    if (!row.closedLoop || !row.openLoop) {
      add("all goals", `unavailable (${row.unavailable})`, null);
      continue;
    }
    add(
      `≥ ${GOALS.timesPeer}× the Express peer's req/s at the same durability`,
      row.ratioToPeer === null ? "peer not run" : `${fmt(row.ratioToPeer, 1)}×`,
      row.ratioToPeer === null ? null : row.ratioToPeer >= GOALS.timesPeer,
    );
    add(
      `≥ ${GOALS.shareOfBare * 100}% of the bare Bun.serve ceiling`,
      row.ratioToBare === null ? "bare not run" : `${fmt(row.ratioToBare * 100, 0)}%`,
      row.ratioToBare === null ? null : row.ratioToBare >= GOALS.shareOfBare,
    );
    const atGoalRate = ratePerSecond === GOALS.goalRatePerSecond;
    add(
      `p99 < ${GOALS.openLoopP99Ms} ms at ${fmt(GOALS.goalRatePerSecond, 0)} req/s open loop`,
      `${fmt(row.openLoop.p99Ms, 2)} ms (median of rounds; worst ${fmt(row.openLoop.p99MsWorstRound, 2)} ms)` +
        (atGoalRate ? "" : ` at ${ratePerSecond} req/s`),
      atGoalRate ? row.openLoop.p99Ms < GOALS.openLoopP99Ms : null,
    );
    add(
      "peak RSS < 150 MB (143 MiB) under load",
      `${fmt(row.peakRssMiB ?? 0, 0)} MiB`,
      (row.peakRssMiB ?? 0) < GOALS.rssMiB,
    );
  }
  return goals;
}

/** The comparison table, one line per configuration. */
export function printTable(rows: readonly Configuration[], ratePerSecond: number): void {
  const header = [
    "configuration".padEnd(28),
    "req/s".padStart(8),
    "p50 ms".padStart(7),
    "p99 ms".padStart(7),
    "max ms".padStart(7),
    `@${ratePerSecond}/s p50`.padStart(12),
    "p99".padStart(7),
    "max".padStart(7),
    "RSS MiB".padStart(8),
    "vs bare".padStart(8),
    "vs peer".padStart(8),
    "  stored check",
  ];
  console.log(`\n${header.join(" ")}`);
  for (const row of rows) {
    if (!row.closedLoop || !row.openLoop) {
      console.log(`${row.name.padEnd(28)} unavailable (${row.unavailable})`);
      continue;
    }
    console.log(
      [
        row.name.padEnd(28),
        fmt(row.closedLoop.requestsPerSecond, 0).padStart(8),
        fmt(row.closedLoop.p50Ms, 2).padStart(7),
        fmt(row.closedLoop.p99Ms, 2).padStart(7),
        fmt(row.closedLoop.maxMs, 1).padStart(7),
        fmt(row.openLoop.p50Ms, 2).padStart(12),
        fmt(row.openLoop.p99Ms, 2).padStart(7),
        fmt(row.openLoop.maxMs, 1).padStart(7),
        fmt(row.peakRssMiB ?? 0, 0).padStart(8),
        (row.ratioToBare === null ? "-" : `${fmt(row.ratioToBare * 100, 0)}%`).padStart(8),
        (row.ratioToPeer === null ? "-" : `${fmt(row.ratioToPeer, 1)}×`).padStart(8),
        `  ${row.storedCheck?.text ?? "-"}`,
      ].join(" "),
    );
  }
}

/** The goals, one line each. */
export function printGoals(goals: readonly Goal[]): void {
  if (goals.length === 0) return;
  console.log("\ngoals");
  for (const goal of goals) {
    console.log(
      `  ${goal.verdict.padEnd(4)}  ${goal.configuration.padEnd(26)} ${goal.goal}: ${goal.measured}`,
    );
  }
}

function fmt(value: number, digits: number): string {
  return value.toFixed(digits);
}
