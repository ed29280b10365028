/**
 * The outbox worker: claims due outbox rows, runs their handler, records
 * the outcome. It runs in the writer thread, beside the one writing
 * connection (no lock contention with ingest, and a commit wakes it at no
 * cost), and reads as one loop: `loop` → `iterate` → per handler.
 *
 * The state machine of an outbox row (one per event and handler, written
 * with the event):
 *
 * ```text
 * pending    ── claimed once due ──────────────▶ processing  attempts+1, run_at = lease end
 * pending    ── a database batch applied it ───▶ done        attempts+1, in one transaction
 * processing ── lease ran out (process died) ──▶ processing  claimed again, attempts+1
 * processing ── success (or skipped) ──────────▶ done        result says what was done
 * processing ── retryable, attempts left ──────▶ pending     run_at = now + back-off
 * processing ── released at shutdown ──────────▶ pending     run_at = now, attempt not counted
 * processing ── permanent, or no attempts left ▶ dead        last_error says why
 * dead       ── retry / retry-dead / replay ───▶ pending     attempts 0, due now
 * done       ── replay ────────────────────────▶ pending     attempts 0, due now
 * ```
 *
 * A `processing` row whose lease ended (`run_at <= now`) belongs to an
 * attempt that died with its process: it is claimed again like a due
 * pending row, so handlers must be idempotent. Replay also resets `done`
 * rows to `pending`.
 *
 * The back-off after a retryable failure (retry-policy.ts has the rule:
 * full jitter under a bound that doubles, capped), with the defaults
 * (WORKER_BACKOFF_BASE_MS 1 s, WORKER_BACKOFF_MAX_MS 1 h, WORKER_MAX_ATTEMPTS
 * 15):
 *
 * | failed attempt | next attempt within | last attempt at the latest |
 * | --- | --- | --- |
 * | 1 | 1 s | 1 s after the first |
 * | 2 | 2 s | 3 s |
 * | 3 | 4 s | 7 s |
 * | 4 | 8 s | 15 s |
 * | 5 | 16 s | 31 s |
 * | 6 | 32 s | 63 s |
 * | 7 | 64 s | 2 min 7 s |
 * | 8 | 128 s | 4 min 15 s |
 * | 9 | 256 s | 8 min 31 s |
 * | 10 | 512 s | 17 min |
 * | 11 | 1024 s | 34 min |
 * | 12 | 2048 s | 68 min |
 * | 13 | 1 h (capped) | 2 h 8 min |
 * | 14 | 1 h | 3 h 8 min |
 * | 15 | dead letter | |
 *
 * The waits average half their bound, so a row that keeps failing reaches
 * the dead letter about 1 h 34 min after its first attempt: a downstream
 * outage of about an hour is ridden out.
 *
 * One iteration is one `BEGIN IMMEDIATE … COMMIT` (one fsync):
 *
 * 1. record the outcomes of I/O attempts that finished since the last one;
 * 2. for each database handler: select a batch of due rows, apply them in
 *    one savepoint, and mark them done together, counting their attempt. If
 *    a row fails, the savepoint is rolled back and the batch applied again
 *    with a savepoint per row: the failing row is rolled back alone, then
 *    claimed and recorded like a failed I/O attempt; the others go on.
 *    These rows are not leased: the transaction that selects them also
 *    finishes them, so no one can see them half done, and a lease would only
 *    rewrite every row's index entries twice;
 * 3. for each I/O handler with room (at most its `maxInFlight` calls in
 *    flight, FORWARD_CONCURRENCY for forwarding): claim rows with a lease.
 *
 * After the commit the claimed I/O rows start, each cut off after
 * WORKER_HANDLER_TIMEOUT_MS.
 *
 * Database batches are up to WORKER_BATCH_SIZE rows while ingest is quiet,
 * and about 1 ms of work while events are arriving (batch-size.ts says
 * why). Each handler is claimed on its own, so one handler's failures or
 * backlog never hold back another's rows, and a failing row never holds
 * back the rows after it. The loop yields a turn (setImmediate) between
 * iterations, so that ingest commits, which acknowledge requests, wait at
 * most one short iteration; while events arrive it also rests between
 * batches, taking at most a fifth of the writer thread (a twentieth while
 * ingest is saturated). With nothing to do
 * it sleeps until the next row is due, a new event wakes it
 * (`eventsCommitted`), or WORKER_POLL_MS passes, whichever comes first.
 *
 * Every change to a claimed row is fenced by its attempt number (see
 * outbox-statements.ts), so a late outcome of an attempt that was released
 * or superseded changes nothing.
 *
 * Known shortcoming: one process, one worker. Several processes on one file
 * would each claim safely (the claim is one statement under the write
 * lock), but the design counts on one; the PostgreSQL backend planned for
 * several instances would claim with `FOR UPDATE SKIP LOCKED` instead.
 */
import type { Database } from "bun:sqlite";
import type { WorkerConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { WorkerStatus } from "../store/types.ts";
import { createBatchSizer } from "./batch-size.ts";
import { type Clock, systemClock } from "./clock.ts";
import {
  type DatabaseHandler,
  describeError,
  type Handler,
  type HandlerOutcome,
  type IoHandler,
  permanent,
  retryable,
  type StoredEvent,
} from "./handler.ts";
import { createIoAttempts } from "./io-attempts.ts";
import { type ClaimedRow, prepareOutboxStatements, prepareSavepoint } from "./outbox-statements.ts";
import { createRetryPolicy } from "./retry-policy.ts";

/** Events loaded per statement in a database batch. */
const EVENT_CHUNK = 256;

export interface OutboxWorkerOptions {
  readonly sqlite: Database;
  readonly handlers: readonly Handler[];
  readonly settings: WorkerConfig;
  readonly log: Logger;
  readonly clock?: Clock;
  /** The source of the back-off jitter, a number in [0, 1). */
  readonly random?: () => number;
}

export interface OutboxWorker {
  /** Starts the loop. */
  start(): void;
  /** Resolves once the started loop has looked at the outbox for the first time. */
  readonly started: Promise<void>;
  /** Rows may have become due (a replay, a retry): look now rather than at the next poll. */
  wake(): void;
  /** Ingest committed new events: look now, and keep transactions short for a while. */
  eventsCommitted(count?: number): void;
  /**
   * Runs one iteration, waits for the I/O attempts it started (time-outs
   * included) and records their outcomes. For tests, which drive the worker
   * step by step instead of running the loop.
   */
  runOnce(): Promise<number>;
  status(): WorkerStatus;
  /**
   * Stops claiming, lets I/O attempts in flight finish for up to
   * WORKER_SHUTDOWN_TIMEOUT_MS, records what finished and releases the rest.
   */
  stop(): Promise<void>;
}

interface Finished {
  readonly row: ClaimedRow;
  readonly outcome: HandlerOutcome;
}

interface Dispatch {
  readonly row: ClaimedRow;
  readonly handler: IoHandler;
}

/** What a transaction did, applied to the counters and logged once it committed. */
interface Tally {
  claimed: number;
  done: number;
  failures: number;
  dead: number;
  released: number;
  readonly notes: (() => void)[];
}

/** Creates the worker over the writing connection; nothing runs before `start` or `runOnce`. */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { sqlite, settings } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log.child({ component: "worker" });
  const statements = prepareOutboxStatements(sqlite);
  const policy = createRetryPolicy(settings, options.random);
  const savepoint = prepareSavepoint(sqlite);
  const databaseHandlers = options.handlers.filter(
    (h): h is DatabaseHandler => h.kind === "database",
  );
  const ioHandlers = options.handlers.filter((h): h is IoHandler => h.kind === "io");
  const handlersByName = new Map(options.handlers.map((h) => [h.name, h]));

  let finished: Finished[] = [];
  const attempts = createIoAttempts(clock, settings.handlerTimeoutMs, (row, outcome) => {
    finished.push({ row, outcome });
    wake();
  });
  const batchSizer = createBatchSizer(settings.batchSize);
  const counters = { attempts: 0, done: 0, failures: 0, deadLetters: 0, released: 0, errors: 0 };
  let running = false;
  let stopping = false;
  let lastIterationAt: number | null = null;
  let loopDone: Promise<void> = Promise.resolve();
  let woken = false;
  let wakeUp: (() => void) | null = null;
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  let restEnd: (() => void) | null = null;

  async function loop(): Promise<void> {
    log.info({ handlers: [...handlersByName.keys()], pollMs: settings.pollMs }, "worker started");
    // The first look waits for the caller's turn; the writer answers "ready" after it.
    await yieldTurn();
    while (running) {
      woken = false;
      const startedAt = clock.now();
      const work = iterateSafely("claim");
      markStarted();
      if (!running) break;
      if (work > 0) {
        const restMs = batchSizer.restAfter(clock.now() - startedAt, clock.now());
        await (restMs > 0 ? rest(restMs) : yieldTurn());
        continue;
      }
      await sleep(work < 0 ? settings.pollMs : untilNextDue());
    }
  }

  /** One iteration; returns the rows it handled, or -1 when it failed. */
  function iterateSafely(mode: "claim" | "record"): number {
    try {
      return iterate(mode === "claim");
    } catch (error) {
      counters.errors++;
      log.error({ err: error }, "worker iteration failed; trying again at the next poll");
      return -1;
    } finally {
      lastIterationAt = clock.now();
    }
  }

  /**
   * One transaction: records the outcomes that finished, then claims and runs
   * (`claim`), or gives `release` back. Counters, logs and I/O attempts
   * follow only once it has committed.
   */
  function iterate(claim: boolean, release: readonly ClaimedRow[] = []): number {
    const now = clock.now();
    const tally: Tally = { claimed: 0, done: 0, failures: 0, dead: 0, released: 0, notes: [] };
    const outcomes = finished;
    finished = [];
    const dispatches: Dispatch[] = [];

    let databaseRows = 0;
    try {
      sqlite.exec("BEGIN IMMEDIATE");
      for (const { row, outcome } of outcomes) recordOutcome(row, outcome, now, tally);
      if (claim) {
        const limit = batchSizer.limit(now);
        for (const handler of databaseHandlers) {
          databaseRows += runDatabaseBatch(handler, now, limit, tally);
        }
        for (const handler of ioHandlers) dispatches.push(...claimIoBatch(handler, now, tally));
      }
      for (const row of release) if (statements.release(row, now)) tally.released++;
      sqlite.exec("COMMIT");
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
      finished = outcomes.concat(finished);
      throw error;
    }

    batchSizer.measured(databaseRows, clock.now() - now);
    counters.attempts += tally.claimed;
    counters.done += tally.done;
    counters.failures += tally.failures;
    counters.deadLetters += tally.dead;
    counters.released += tally.released;
    for (const note of tally.notes) note();
    for (const { row, handler } of dispatches) {
      attempts.start(row, handler, statements.loadEvent(row.eventSeq));
    }
    return outcomes.length + tally.claimed;
  }

  /** Selects, applies and marks one batch; returns how many rows it took. */
  function runDatabaseBatch(
    handler: DatabaseHandler,
    now: number,
    limit: number,
    tally: Tally,
  ): number {
    // Selected, not leased: this transaction applies and marks them all.
    const rows = statements.selectDue(handler.name, now, limit);
    tally.claimed += rows.length;
    const apply = (event: StoredEvent | null): HandlerOutcome => {
      if (!event) return permanent("the event is gone");
      try {
        return handler.apply(event, now);
      } catch (error) {
        return retryable(describeError(error));
      }
    };
    // Successes are marked together, one statement per kind of note.
    const doneByNote = new Map<string, number[]>();
    const noteDone = (row: ClaimedRow, note: string) => {
      const ids = doneByNote.get(note);
      if (ids) ids.push(row.id);
      else doneByNote.set(note, [row.id]);
    };

    /** Applies every row in one savepoint; at the first failure rolls it back and says so. */
    const applyAll = (): boolean => {
      savepoint.begin();
      for (const [row, event] of withEvents(rows)) {
        const outcome = apply(event);
        if (outcome.kind !== "success") {
          savepoint.rollback();
          return false;
        }
        noteDone(row, outcome.note);
      }
      savepoint.release();
      return true;
    };

    // Optimistically, the whole batch in one savepoint: rows rarely fail,
    // and a savepoint per row is two statements per row. On the first
    // failure the batch is undone and run again a row per savepoint, so that
    // only the failing rows lose what they wrote.
    if (!applyAll()) {
      doneByNote.clear();
      for (const [row, event] of withEvents(rows)) {
        savepoint.begin();
        const outcome = apply(event);
        // Only a success keeps what the handler wrote.
        if (outcome.kind === "success") {
          savepoint.release();
          noteDone(row, outcome.note);
        } else {
          savepoint.rollback();
          // Claimed now, so that the failure is recorded like an I/O attempt's.
          if (statements.claimSelected(row, now + settings.leaseMs, now)) {
            recordOutcome(row, outcome, now, tally);
          }
        }
      }
    }
    for (const [note, ids] of doneByNote) tally.done += statements.markSelectedDone(ids, note, now);
    return rows.length;
  }

  /**
   * The rows with their events, loaded EVENT_CHUNK at a time: one statement
   * per chunk, and a large batch's bodies are not all held at once.
   */
  function* withEvents(rows: readonly ClaimedRow[]): Generator<[ClaimedRow, StoredEvent | null]> {
    for (let start = 0; start < rows.length; start += EVENT_CHUNK) {
      const chunk = rows.slice(start, start + EVENT_CHUNK);
      const events = statements.loadEvents(chunk.map((row) => row.eventSeq));
      for (const row of chunk) yield [row, events.get(row.eventSeq) ?? null];
    }
  }

  function claimIoBatch(handler: IoHandler, now: number, tally: Tally): Dispatch[] {
    const room = Math.min(settings.batchSize, handler.maxInFlight - attempts.count(handler.name));
    if (room <= 0) return [];
    const rows = statements.claim(handler.name, now, now + settings.leaseMs, room);
    tally.claimed += rows.length;
    return rows.map((row) => ({ row, handler }));
  }

  function recordOutcome(row: ClaimedRow, outcome: HandlerOutcome, now: number, tally: Tally) {
    const fields = {
      outboxId: row.id,
      eventSeq: row.eventSeq,
      handler: row.handler,
      attempt: row.attempt,
    };
    if (outcome.kind === "success") {
      if (statements.markDone(row, outcome.note, now)) tally.done++;
      return;
    }

    const decision =
      outcome.kind === "permanent"
        ? ({ action: "dead" } as const)
        : policy.afterFailure(row.attempt, now, outcome.notBefore);
    if (decision.action === "retry") {
      if (!statements.markRetry(row, outcome.error, decision.runAt, now)) return;
      tally.failures++;
      tally.notes.push(() =>
        log.warn(
          { ...fields, error: outcome.error, retryInMs: decision.delayMs },
          "attempt failed; retry scheduled",
        ),
      );
      return;
    }
    const result =
      outcome.kind === "permanent"
        ? "dead: permanent failure"
        : `dead: ${row.attempt} attempts failed`;
    if (!statements.markDead(row, outcome.error, result, now)) return;
    tally.failures++;
    tally.dead++;
    tally.notes.push(() =>
      log.error({ ...fields, error: outcome.error, result }, "row moved to the dead letter"),
    );
  }

  /** How long to sleep: until the next due row of a handler that can take work; a poll at most. */
  function untilNextDue(): number {
    const now = clock.now();
    let next = now + settings.pollMs;
    for (const handler of options.handlers) {
      if (handler.kind === "io" && attempts.count(handler.name) >= handler.maxInFlight) continue;
      const due = statements.nextDueAt(handler.name);
      if (due !== null) next = Math.min(next, due);
    }
    return Math.max(0, next - now);
  }

  function sleep(ms: number): Promise<void> {
    if (woken) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = clock.setTimer(() => done(), ms);
      function done() {
        cancel();
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });
  }

  /** Waits `ms` whatever wakes the worker meanwhile (a stop still ends it). */
  function rest(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = clock.setTimer(() => {
        restEnd = null;
        resolve();
      }, ms);
      restEnd = () => {
        cancel();
        restEnd = null;
        resolve();
      };
    });
  }

  function wake(): void {
    woken = true;
    wakeUp?.();
  }

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    running = false;
    wake();
    restEnd?.();
    await loopDone;

    if (attempts.size > 0) {
      log.info(
        { inFlight: attempts.size, timeoutMs: settings.shutdownTimeoutMs },
        "worker stopping: waiting for handlers in flight, then releasing their rows",
      );
      let cancel = () => {};
      await Promise.race([
        attempts.allFinished(),
        new Promise<void>((resolve) => {
          cancel = clock.setTimer(resolve, settings.shutdownTimeoutMs);
        }),
      ]);
      cancel();
    }

    const left = attempts.abandonAll("the worker is stopping");
    try {
      iterate(false, left);
    } catch (error) {
      // Their leases will run out, and the next start claims them then.
      log.error({ err: error, rows: left.length }, "could not release the claimed rows");
    }
    log.info({ released: left.length }, "worker stopped; released rows are due at the next start");
  }

  return {
    started,
    start() {
      if (running || stopping) return;
      running = true;
      loopDone = loop();
    },
    wake,
    eventsCommitted(count = 1) {
      batchSizer.ingestCommitted(clock.now(), count);
      wake();
    },
    async runOnce() {
      const work = iterateSafely("claim");
      await attempts.allFinished();
      if (finished.length > 0) iterateSafely("record");
      return work;
    },
    status: () => ({
      running,
      lastIterationAt,
      inFlight: attempts.size,
      attempts: counters.attempts,
      done: counters.done,
      failures: counters.failures,
      deadLetters: counters.deadLetters,
      released: counters.released,
      errors: counters.errors,
    }),
    stop,
  };
}

/**
 * Lets ingest go first. Batches that arrived during an iteration are
 * delivered to the thread's event loop after it; their flush is scheduled
 * with setImmediate, behind the worker's own next turn. Taking two turns
 * puts the worker's next iteration behind that flush.
 */
async function yieldTurn(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}
