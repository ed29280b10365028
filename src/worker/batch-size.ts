/**
 * How many rows a database batch takes. A commit costs about the distinct
 * pages it dirties, and the mirror and the event keys are written at random
 * places, so big batches share pages: measured with bench:worker, 2048-row
 * batches drain about twice as fast as 256-row ones, and 8192-row batches
 * (the default) about 1.4 times as fast as 2048-row ones. But ingest commits
 * wait for the worker's transaction in progress (one connection, one
 * thread), and 8192 rows take about 0.4 s. So while events are arriving
 * (an ingest commit within INGEST_ACTIVE_WINDOW_MS), a batch is cut to about
 * BUSY_TRANSACTION_BUDGET_MS of work, from a moving average of the measured
 * cost per row; when ingest is quiet (a backlog after an outage, a replay),
 * batches go up to WORKER_BATCH_SIZE. The first request after a quiet spell
 * can still wait for the one full batch in progress: a lower
 * WORKER_BATCH_SIZE bounds that wait, at the cost of a slower drain.
 *
 * While events arrive the worker also rests between batches, so that it
 * takes at most BUSY_WORKER_SHARE of the writer thread: ingest is what
 * Maildesk waits for, and a request that arrives during a worker batch waits
 * for it to end. Measured with `bun run bench:ingest` (64 connections, which
 * leaves ingest bound by the latency of each commit), a worker free to take
 * every other turn with 5 ms batches cut the rate a burst could reach by a
 * quarter; 1 ms batches at a fifth of the thread cost about a tenth. When
 * ingest is saturated (its commits carry SATURATED_EVENTS_PER_COMMIT events
 * or more on average: requests pile up behind every commit), the worker
 * takes a twentieth instead: with the same benchmark, against a fifth,
 * 7-50% more requests/s in the same runs (the machine is noisy). At an
 * ordinary rate (2,000 requests/s: a few events per commit) it keeps its
 * fifth, and keeps up. Under a burst, processing falls behind and catches up
 * when the burst ends; sustained arrivals beyond the worker's share let the
 * outbox grow until they slow down.
 */

/** While events arrive, a database batch takes about this long at most. */
export const BUSY_TRANSACTION_BUDGET_MS = 1;

/** An ingest commit within this window means events are arriving. */
export const INGEST_ACTIVE_WINDOW_MS = 1000;

/** While events arrive, the worker's share of the writer thread at most. */
export const BUSY_WORKER_SHARE = 0.2;

/**
 * While ingest is saturated, the worker's share: every moment the worker
 * takes then is a moment the requests queued behind it wait.
 */
export const SATURATED_WORKER_SHARE = 0.05;

/**
 * Ingest counts as saturated when its commits carry this many events on
 * average: requests pile up while each commit waits for the disk.
 */
export const SATURATED_EVENTS_PER_COMMIT = 8;

/** The smallest busy batch, so that the worker still gets through a backlog. */
export const MIN_BUSY_BATCH = 16;

/** The cost per row assumed before the first measurement (a pessimistic 100 µs). */
const INITIAL_ROW_COST_MS = 0.1;

export interface BatchSizer {
  /** Ingest committed `events` new events at `now`. */
  ingestCommitted(now: number, events: number): void;
  /** The rows the next database batch may claim at `now`. */
  limit(now: number): number;
  /** A batch of `rows` took `elapsedMs`, claim to commit. */
  measured(rows: number, elapsedMs: number): void;
  /** How long to rest at `now` after an iteration of `elapsedMs` (0 when ingest is quiet). */
  restAfter(elapsedMs: number, now: number): number;
}

export function createBatchSizer(batchSize: number): BatchSizer {
  let lastIngestAt = Number.NEGATIVE_INFINITY;
  let rowCostMs = INITIAL_ROW_COST_MS;
  let hasMeasured = false;
  let eventsPerCommit = 1;

  return {
    ingestCommitted(now, events) {
      lastIngestAt = now;
      eventsPerCommit = eventsPerCommit * 0.8 + events * 0.2;
    },
    limit(now) {
      if (now - lastIngestAt >= INGEST_ACTIVE_WINDOW_MS) return batchSize;
      const fitting = Math.floor(BUSY_TRANSACTION_BUDGET_MS / rowCostMs);
      return Math.min(batchSize, Math.max(MIN_BUSY_BATCH, fitting));
    },
    restAfter(elapsedMs, now) {
      if (now - lastIngestAt >= INGEST_ACTIVE_WINDOW_MS) return 0;
      const share =
        eventsPerCommit >= SATURATED_EVENTS_PER_COMMIT ? SATURATED_WORKER_SHARE : BUSY_WORKER_SHARE;
      return (elapsedMs * (1 - share)) / share;
    },
    measured(rows, elapsedMs) {
      // Batches of a few rows can take 0 ms on a millisecond clock; they say little.
      if (rows === 0 || (rows < MIN_BUSY_BATCH && elapsedMs === 0)) return;
      const sample = Math.max(elapsedMs, 0.001) / rows;
      rowCostMs = hasMeasured ? rowCostMs * 0.7 + sample * 0.3 : sample;
      hasMeasured = true;
    },
  };
}
