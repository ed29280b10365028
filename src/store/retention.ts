/**
 * Retention: deletes delivery-log rows older than `RETENTION_DELIVERIES_DAYS`
 * and, when `RETENTION_EVENTS_DAYS` is set, events older than that whose
 * outbox rows are all done (their outbox rows go with them, by the foreign
 * key's cascade, and their `event_keys` rows, deleted here). An event with a
 * row pending, processing or dead is kept, however old: it still has work,
 * or an operator's attention, to come.
 *
 * It runs in the writer thread, on the one writing connection, on a timer:
 * in transactions of at most `batchSize` rows, yielding to the event loop
 * between them, so that ingest commits go on while a large backlog is pruned.
 *
 * Delivery-log rows go in `id` order, which follows receipt order: each batch
 * takes the oldest rows by id and deletes those past the cutoff, until a batch
 * finds none. Events go in `(received_at, seq)` order from where the previous
 * batch stopped, so kept events (not done) are looked at once per run.
 */
import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";
import type { WriterComponent } from "./writer-service.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Wait after start before the first run, so that start-up is not slowed. */
const FIRST_RUN_DELAY_MS = 30_000;
const RUN_INTERVAL_MS = 15 * 60_000;
const BATCH_SIZE = 1000;

export interface RetentionOptions {
  /** `null`: delivery-log rows are kept forever. */
  readonly deliveriesDays: number | null;
  /** `null`: events are kept forever. */
  readonly eventsDays: number | null;
  readonly now?: () => number;
  readonly batchSize?: number;
  /** Whether to run on a timer (the program) or only when asked (tests). */
  readonly schedule?: boolean;
}

/** What one run deleted. */
export interface RetentionRun {
  readonly deliveriesDeleted: number;
  readonly eventsDeleted: number;
}

export interface Retention extends WriterComponent {
  /** Runs once now (or joins the run under way) and resolves with what it deleted. */
  runOnce(): Promise<RetentionRun>;
}

/** Creates the retention component over the writing connection. */
export function createRetention(
  sqlite: Database,
  log: Logger,
  options: RetentionOptions,
): Retention {
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const deleteOldDeliveries = sqlite.query<never, [number, number]>(
    "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries ORDER BY id LIMIT ?1) " +
      "AND received_at < ?2",
  );
  // Events are stored in receipt order and `received_at` never goes back
  // (see schema.ts), so the oldest events are the first by `seq`.
  const selectOldEvents = sqlite.query<
    {
      seq: number;
      received_at: number;
      type: string;
      contact_id: string | null;
      email: string | null;
      finished: 0 | 1;
    },
    [number, number]
  >(
    "SELECT seq, received_at, type, contact_id, email, NOT EXISTS (SELECT 1 FROM outbox " +
      "WHERE outbox.event_seq = events.seq AND outbox.state <> 'done') AS finished " +
      "FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
  );
  const deleteEvent = sqlite.query<never, [number]>("DELETE FROM events WHERE seq = ?");
  const deleteEventKey = sqlite.query<never, [string, number]>(
    "DELETE FROM event_keys WHERE key = ? AND event_seq = ?",
  );

  let running: Promise<RetentionRun> | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: (RetentionRun & { readonly at: number }) | null = null;
  let totals = { deliveriesDeleted: 0, eventsDeleted: 0 };

  function inTransaction<T>(work: () => T): T {
    sqlite.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      sqlite.exec("COMMIT");
      return result;
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
      throw error;
    }
  }

  async function pruneDeliveries(cutoff: number): Promise<number> {
    let deleted = 0;
    while (!stopped) {
      const { changes } = inTransaction(() => deleteOldDeliveries.run(batchSize, cutoff));
      deleted += changes;
      if (changes === 0) break;
      await yieldToEventLoop();
    }
    return deleted;
  }

  async function pruneEvents(cutoff: number): Promise<number> {
    let deleted = 0;
    let after = -1;
    while (!stopped) {
      const selected = selectOldEvents.all(after, batchSize);
      const rows = selected.filter((row) => row.received_at < cutoff);
      const finished = rows.filter((row) => row.finished === 1);
      if (finished.length > 0) {
        inTransaction(() => {
          for (const row of finished) {
            deleteEvent.run(row.seq);
            // Its keys, as the worker wrote them (event_keys has no foreign key).
            deleteEventKey.run(`type:${row.type}`, row.seq);
            if (row.contact_id !== null) deleteEventKey.run(`id:${row.contact_id}`, row.seq);
            if (row.email !== null) deleteEventKey.run(`email:${row.email}`, row.seq);
          }
        });
        deleted += finished.length;
      }
      const lastRow = rows[rows.length - 1];
      if (!lastRow || rows.length < selected.length || selected.length < batchSize) break;
      after = lastRow.seq;
      await yieldToEventLoop();
    }
    return deleted;
  }

  async function run(): Promise<RetentionRun> {
    const startedAt = now();
    let deliveriesDeleted = 0;
    let eventsDeleted = 0;
    if (options.deliveriesDays !== null) {
      deliveriesDeleted = await pruneDeliveries(startedAt - options.deliveriesDays * DAY_MS);
    }
    if (options.eventsDays !== null) {
      eventsDeleted = await pruneEvents(startedAt - options.eventsDays * DAY_MS);
    }

    last = { at: startedAt, deliveriesDeleted, eventsDeleted };
    totals = {
      deliveriesDeleted: totals.deliveriesDeleted + deliveriesDeleted,
      eventsDeleted: totals.eventsDeleted + eventsDeleted,
    };
    if (deliveriesDeleted + eventsDeleted > 0) {
      log.info({ deliveriesDeleted, eventsDeleted }, "retention deleted old rows");
    }
    return { deliveriesDeleted, eventsDeleted };
  }

  function runOnce(): Promise<RetentionRun> {
    running ??= run().finally(() => {
      running = null;
    });
    return running;
  }

  function scheduleNext(delayMs: number): void {
    if (stopped || options.schedule === false) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error) => log.warn({ err: error }, "retention run failed; trying again later"))
        .finally(() => scheduleNext(RUN_INTERVAL_MS));
    }, delayMs);
    timer.unref?.();
  }

  if (options.deliveriesDays !== null || options.eventsDays !== null) {
    scheduleNext(FIRST_RUN_DELAY_MS);
  }

  return {
    name: "retention",
    runOnce,
    commands: { "retention.run": () => runOnce() },
    status: () => ({
      deliveriesDays: options.deliveriesDays,
      eventsDays: options.eventsDays,
      lastRun: last,
      ...totals,
    }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
