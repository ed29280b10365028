/**
 * The ingest writer: durable, exactly-once storage of events by group commit.
 * It runs where the writing connection is (the writer thread).
 *
 * Batches arrive from the HTTP thread, one per event-loop turn there. The
 * first batch to arrive schedules a flush for the end of this thread's turn;
 * every batch that arrives in the meantime (in particular all those that
 * queued up while the previous commit was blocked in its fsync) joins it. The
 * flush writes them (events, their outbox rows, the delivery-log rows) in one
 * `BEGIN IMMEDIATE … COMMIT`, hence one fsync of the WAL, and only then
 * answers each batch. Batches therefore grow by themselves with load and stay
 * at one event when traffic is light, and the HTTP thread keeps serving while
 * a commit waits for the disk.
 *
 * Exactly once: `events.event_id` is unique and the insert is `ON CONFLICT DO
 * NOTHING`; the first submission of an eventId (within a commit or across
 * commits) inserts, every later one finds the row and is a duplicate.
 *
 * Delivery-log rows are not acknowledged to anyone. They ride along with the
 * events; if a commit fails they are kept (up to a bound) and written with a
 * later one.
 *
 * Known shortcoming: one failing event fails its whole commit (every request
 * in it gets 503 and Maildesk retries). Isolating it would need a savepoint
 * per event, a cost paid on every commit for a case that only a bug would
 * cause.
 */
import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";
import { type BatchStatements, prepareBatchStatements } from "./batch-statements.ts";
import { type StorageUnavailableError, toStorageUnavailable } from "./errors.ts";
import type { IngestBatch } from "./ingest-codec.ts";
import type { DeliveryRecord, IncomingEvent } from "./types.ts";
import { OUTCOME } from "./writer-protocol.ts";

/** Events per transaction at most; a longer queue is written in several. */
const MAX_COMMIT_EVENTS = 1024;

/** Delivery rows kept while storage is failing; older ones are dropped beyond. */
const MAX_QUEUED_DELIVERIES = 20_000;

/** Wait before writing queued delivery rows again after a failed commit. */
const DELIVERY_RETRY_DELAY_MS = 1000;

/** A batch as it waits to be committed; `reply` receives its outcome. */
export interface PendingBatch extends IngestBatch {
  readonly reply: (result: Uint8Array | StorageUnavailableError) => void;
}

export interface IngestWriterOptions {
  /** The handlers that get an outbox row for every new event. */
  readonly handlers: readonly string[];
  readonly log: Logger;
  /** Called after a commit that stored new events, e.g. to wake the worker. */
  readonly onEventsCommitted?: (count: number) => void;

  readonly now?: () => number;
}

/** Counters kept by the ingest writer since start. */
export interface IngestWriterStats {
  commits: number;
  deliveriesWritten: number;
  deliveriesDropped: number;
  deliveriesQueued: number;
}

export interface IngestWriter {
  /** Queues a batch; it is committed at the end of this turn with the others. */
  enqueue(batch: PendingBatch): void;
  /** Commits everything queued now (for a flush or a shutdown). */
  flushNow(): void;
  readonly stats: Readonly<IngestWriterStats>;
  close(): void;
}

/** Creates the group-commit writer over the program's writing connection. */
export function createIngestWriter(sqlite: Database, options: IngestWriterOptions): IngestWriter {
  const { handlers, log } = options;
  const now = options.now ?? Date.now;
  const statements = prepareBatchStatements(sqlite);
  const stats: IngestWriterStats = {
    commits: 0,
    deliveriesWritten: 0,
    deliveriesDropped: 0,
    deliveriesQueued: 0,
  };

  let queue: PendingBatch[] = [];
  let queuedDeliveries: DeliveryRecord[] = [];
  let flushScheduled = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  // The newest stored receipt time: events are stored in `seq` order, and a
  // time never goes back from one to the next (queries bisect `seq` by time;
  // see schema.ts). Requests answered in another order than they arrived
  // differ by milliseconds, so an event may be stamped a few later.
  let lastReceivedAt = statements.selectLastReceivedAt() ?? 0;

  function inReceiptOrder(events: IncomingEvent[]): IncomingEvent[] {
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as IncomingEvent;
      if (event.receivedAt < lastReceivedAt) events[i] = { ...event, receivedAt: lastReceivedAt };
      else lastReceivedAt = event.receivedAt;
    }
    return events;
  }

  function scheduleFlush(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(flushNow);
  }

  function flushNow(): void {
    flushScheduled = false;
    while (!closed && (queue.length > 0 || (queuedDeliveries.length > 0 && !retryTimer))) {
      const failed = commitSome(takeBatches());
      if (failed) break;
    }
  }

  function takeBatches(): PendingBatch[] {
    let events = 0;
    let count = 0;
    while (count < queue.length && (count === 0 || events < MAX_COMMIT_EVENTS)) {
      events += (queue[count] as PendingBatch).events.length;
      count++;
    }
    const taken = queue.slice(0, count);
    queue = queue.slice(count);
    return taken;
  }

  /** Commits the batches in one transaction; returns whether the commit failed. */
  function commitSome(batches: PendingBatch[]): boolean {
    const events = batches.flatMap((batch) => batch.events);
    const deliveries = queuedDeliveries.concat(batches.flatMap((batch) => batch.deliveries));
    queuedDeliveries = [];

    let outcomes: Uint8Array;
    try {
      sqlite.exec("BEGIN IMMEDIATE");
      outcomes = writeEvents(statements, inReceiptOrder(events), handlers, now(), log);
      statements.insertDeliveries(deliveries);
      sqlite.exec("COMMIT");
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
      const failure = toStorageUnavailable(error);
      log.error(
        {
          err: error,
          storageCode: failure.storageCode,
          events: events.length,
          deliveries: deliveries.length,
        },
        "commit failed; answering 503 to its requests",
      );
      requeueDeliveries(deliveries);
      for (const batch of batches) batch.reply(failure);
      return true;
    }

    stats.commits++;
    stats.deliveriesWritten += deliveries.length;
    stats.deliveriesQueued = 0;
    let offset = 0;
    for (const batch of batches) {
      batch.reply(outcomes.subarray(offset, offset + batch.events.length));
      offset += batch.events.length;
    }
    const accepted = outcomes.reduce((sum, o) => sum + (o === OUTCOME.accepted ? 1 : 0), 0);
    if (accepted > 0) options.onEventsCommitted?.(accepted);
    return false;
  }

  function requeueDeliveries(rows: DeliveryRecord[]): void {
    queuedDeliveries = rows;
    const excess = queuedDeliveries.length - MAX_QUEUED_DELIVERIES;
    if (excess > 0) {
      queuedDeliveries = queuedDeliveries.slice(excess);
      stats.deliveriesDropped += excess;
      log.warn({ dropped: excess }, "delivery log rows dropped while storage is failing");
    }
    stats.deliveriesQueued = queuedDeliveries.length;
    retryTimer ??= setTimeout(() => {
      retryTimer = undefined;
      if (queuedDeliveries.length > 0) scheduleFlush();
    }, DELIVERY_RETRY_DELAY_MS);
  }

  return {
    stats,
    enqueue(batch) {
      queue.push(batch);
      scheduleFlush();
    },
    flushNow() {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      flushNow();
    },
    close() {
      this.flushNow();
      closed = true;
      clearTimeout(retryTimer);
    },
  };
}

/**
 * Inserts the events (inside the caller's transaction) and their outbox rows;
 * returns each event's outcome, in order.
 */
function writeEvents(
  statements: BatchStatements,
  events: readonly IncomingEvent[],
  handlers: readonly string[],
  at: number,
  log: Logger,
): Uint8Array {
  const outcomes = new Uint8Array(events.length);
  if (events.length === 0) return outcomes;

  const inserted = statements.insertEvents(events);
  // Several requests of one commit may carry the same eventId: the first one
  // was inserted, the others are duplicates of it.
  const insertedIds = new Set(inserted.map((row) => row.eventId));
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as IncomingEvent;
    if (insertedIds.delete(event.eventId)) continue;
    const stored = statements.selectRawBody(event.eventId);
    const bodyDiffers = stored === null || !Buffer.from(stored).equals(event.rawBody);
    outcomes[i] = bodyDiffers ? OUTCOME.duplicateBodyDiffers : OUTCOME.duplicate;
    if (bodyDiffers) {
      log.warn(
        { eventId: event.eventId, requestId: event.requestId, bodyBytes: event.rawBody.byteLength },
        "known eventId arrived with a different body; kept the first",
      );
    }
  }

  if (inserted.length > 0) {
    let firstSeq = Number.POSITIVE_INFINITY;
    for (const row of inserted) firstSeq = Math.min(firstSeq, row.seq);
    statements.insertOutboxRows(firstSeq, handlers, at);
  }
  return outcomes;
}
