/**
 * The ingest writer: durable, exactly-once storage of events by group commit.
 *
 * Requests hand their event to `submit` and wait. The first submission in an
 * event-loop turn schedules a flush for the end of that turn; every request
 * that reached `submit` in the meantime joins it. The flush writes the whole
 * batch (events, their outbox rows, and the delivery-log rows queued so far)
 * in one `BEGIN IMMEDIATE … COMMIT`, hence one fsync of the WAL, and only then
 * resolves each request's promise. While a commit blocks the thread, new
 * requests queue up in the sockets and form the next batch, so batches grow by
 * themselves with load and stay at one event when traffic is light.
 *
 * Exactly once: `events.event_id` is unique and the insert is `ON CONFLICT DO
 * NOTHING`; the first submission of an eventId (within a batch or across
 * batches) inserts, every later one finds the row and answers "duplicate".
 *
 * Delivery-log rows are not acknowledged to anyone. They ride along with the
 * next commit; a commit of delivery rows alone is scheduled when no event
 * comes. If storage fails they are kept (up to a bound) for the next attempt.
 *
 * Known shortcoming: one failing event fails its whole batch (every request in
 * it gets 503 and Maildesk retries). Isolating it would need a savepoint per
 * event, a cost paid on every commit for a case that only a bug would cause.
 */
import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";
import { type BatchStatements, prepareBatchStatements } from "./batch-statements.ts";
import { StorageUnavailableError, StoreOverloadedError, toStorageUnavailable } from "./errors.ts";
import type {
  DeliveryRecord,
  IncomingEvent,
  IngestResult,
  IngestStats,
  IngestWriter,
} from "./types.ts";

/** Events per transaction at most; a longer queue is written in several. */
const MAX_BATCH_EVENTS = 512;

/** Delivery rows kept while storage is failing; older ones are dropped beyond. */
const MAX_QUEUED_DELIVERIES = 20_000;

/** Wait before writing queued delivery rows again after a failed commit. */
const DELIVERY_RETRY_DELAY_MS = 1000;

export interface IngestWriterOptions {
  /** The handlers that get an outbox row for every new event. */
  readonly handlers: readonly string[];
  readonly maxPending: number;
  readonly maxPendingBytes: number;
  readonly log: Logger;
  /** Called after a commit that stored new events, e.g. to wake the worker. */
  readonly onEventsCommitted?: (count: number) => void;
  readonly now?: () => number;
}

interface Waiting {
  readonly event: IncomingEvent;
  readonly resolve: (result: IngestResult) => void;
  readonly reject: (error: Error) => void;
}

const ACCEPTED: IngestResult = Object.freeze({ outcome: "accepted" });

/** Creates the group-commit writer over the program's writing connection. */
export function createIngestWriter(sqlite: Database, options: IngestWriterOptions): IngestWriter {
  const { handlers, log } = options;
  const now = options.now ?? Date.now;
  const statements = prepareBatchStatements(sqlite);
  const stats: IngestStats = {
    commits: 0,
    accepted: 0,
    duplicates: 0,
    duplicateBodyMismatches: 0,
    storageFailures: 0,
    shed: 0,
    deliveriesWritten: 0,
    deliveriesDropped: 0,
  };

  let waiting: Waiting[] = [];
  let waitingBytes = 0;
  let queuedDeliveries: DeliveryRecord[] = [];
  let flushScheduled = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  function scheduleFlush(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(flushOneBatch);
  }

  function flushOneBatch(): void {
    flushScheduled = false;
    if (closed) return;
    const batch = waiting.length <= MAX_BATCH_EVENTS ? waiting : waiting.slice(0, MAX_BATCH_EVENTS);
    waiting = batch === waiting ? [] : waiting.slice(MAX_BATCH_EVENTS);
    for (const item of batch) waitingBytes -= item.event.rawBody.byteLength;
    const rows = queuedDeliveries;
    queuedDeliveries = [];

    commit(batch, rows);
    if (waiting.length > 0) scheduleFlush();
  }

  function commit(batch: Waiting[], rows: DeliveryRecord[]): void {
    let results: IngestResult[];
    try {
      sqlite.exec("BEGIN IMMEDIATE");
      results = writeBatch(statements, batch, rows, handlers, now());
      sqlite.exec("COMMIT");
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
      const failure = toStorageUnavailable(error);
      stats.storageFailures++;
      log.error(
        {
          err: error,
          storageCode: failure.storageCode,
          events: batch.length,
          deliveries: rows.length,
        },
        "commit failed; answering 503 to the batch",
      );
      requeueDeliveries(rows);
      for (const item of batch) item.reject(failure);
      return;
    }

    stats.commits++;
    stats.deliveriesWritten += rows.length;
    let acceptedCount = 0;
    for (let i = 0; i < batch.length; i++) {
      const result = results[i] as IngestResult;
      if (result === ACCEPTED) acceptedCount++;
      else if (result.outcome === "duplicate" && result.bodyDiffers)
        reportBodyMismatch(batch[i] as Waiting);
      (batch[i] as Waiting).resolve(result);
    }
    stats.accepted += acceptedCount;
    stats.duplicates += batch.length - acceptedCount;
    if (acceptedCount > 0) options.onEventsCommitted?.(acceptedCount);
  }

  function reportBodyMismatch({ event }: Waiting): void {
    stats.duplicateBodyMismatches++;
    log.warn(
      { eventId: event.eventId, requestId: event.requestId, bodyBytes: event.rawBody.byteLength },
      "known eventId arrived with a different body; kept the first",
    );
  }

  function requeueDeliveries(rows: DeliveryRecord[]): void {
    queuedDeliveries = rows.concat(queuedDeliveries);
    const excess = queuedDeliveries.length - MAX_QUEUED_DELIVERIES;
    if (excess > 0) {
      queuedDeliveries = queuedDeliveries.slice(excess);
      stats.deliveriesDropped += excess;
      log.warn({ dropped: excess }, "delivery log rows dropped while storage is failing");
    }
    retryTimer ??= setTimeout(() => {
      retryTimer = undefined;
      if (queuedDeliveries.length > 0) scheduleFlush();
    }, DELIVERY_RETRY_DELAY_MS);
  }

  return {
    stats,

    submit(event) {
      if (closed) return Promise.reject(new StorageUnavailableError("CLOSED"));
      const bytes = event.rawBody.byteLength;
      if (waiting.length >= options.maxPending || waitingBytes + bytes > options.maxPendingBytes) {
        stats.shed++;
        return Promise.reject(new StoreOverloadedError("too many requests waiting for a commit"));
      }

      return new Promise<IngestResult>((resolve, reject) => {
        waiting.push({ event, resolve, reject });
        waitingBytes += bytes;
        scheduleFlush();
      });
    },

    recordDelivery(record) {
      if (closed) return;
      queuedDeliveries.push(record);
      if (!retryTimer) scheduleFlush();
    },

    async drain() {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      while (!closed && (waiting.length > 0 || queuedDeliveries.length > 0)) {
        const failuresBefore = stats.storageFailures;
        flushOneBatch();
        // Storage is failing: what is still queued cannot be written now.
        if (stats.storageFailures > failuresBefore) break;
      }
    },

    async close() {
      await this.drain();
      closed = true;
      clearTimeout(retryTimer);
      for (const item of waiting) item.reject(new StorageUnavailableError("CLOSED"));
      waiting = [];
    },
  };
}

/** Writes one batch inside the caller's transaction; returns each event's result, in order. */
function writeBatch(
  statements: BatchStatements,
  batch: readonly Waiting[],
  rows: readonly DeliveryRecord[],
  handlers: readonly string[],
  at: number,
): IngestResult[] {
  const results: IngestResult[] = [];
  if (batch.length > 0) {
    const inserted = statements.insertEvents(batch.map((item) => item.event));
    // Several requests of one batch may carry the same eventId: the first one
    // in the batch was inserted, the others are duplicates of it.
    const insertedIds = new Set(inserted.map((row) => row.eventId));
    for (const { event } of batch) {
      if (insertedIds.delete(event.eventId)) {
        results.push(ACCEPTED);
        continue;
      }
      const stored = statements.selectRawBody(event.eventId);
      const bodyDiffers = stored === null || !Buffer.from(stored).equals(event.rawBody);
      results.push({ outcome: "duplicate", bodyDiffers });
    }
    if (inserted.length > 0) {
      const firstSeq = Math.min(...inserted.map((row) => row.seq));
      statements.insertOutboxRows(firstSeq, handlers, at);
    }
  }
  statements.insertDeliveries(rows);
  return results;
}
