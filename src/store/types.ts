/**
 * What the rest of the program may ask of storage. Routes and the worker
 * depend on these interfaces only, so that another backend (PostgreSQL, for
 * several instances) can stand behind them without touching the callers.
 */
import type { DELIVERY_OUTCOMES, OUTBOX_STATES } from "./schema.ts";

/** An event's extracted columns, as stored beside its raw body. */
export interface EventSummary {
  readonly eventId: string;
  readonly type: string;
  readonly contactId: string | null;
  readonly email: string | null;
  readonly status: string | null;
  readonly createdAtRaw: string | null;
  readonly createdAt: number | null;
  readonly receivedAt: number;
  readonly sourceIp: string | null;
  readonly requestId: string | null;
}

/** A verified, validated event on its way to being stored. */
export interface IncomingEvent extends EventSummary {
  readonly requestId: string;
  /** The request's `Content-Type` as sent; forwarding sends it again with the body. */
  readonly contentType: string | null;
  /** The request body exactly as received. */
  readonly rawBody: Uint8Array;
}

/** What storing an event came to. `bodyDiffers` flags a reused eventId with another body. */
export type IngestResult =
  | { readonly outcome: "accepted" }
  | { readonly outcome: "duplicate"; readonly bodyDiffers: boolean };

/**
 * One line of the delivery log: a request to the webhook endpoint and its answer.
 * (A type alias rather than an interface, so that it binds as statement parameters.)
 */
export type DeliveryRecord = {
  readonly receivedAt: number;
  readonly requestId: string;
  readonly sourceIp: string | null;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly outcome: (typeof DELIVERY_OUTCOMES)[number];
  readonly reason: string | null;
  readonly eventId: string | null;
  readonly bodyBytes: number | null;
  readonly latencyMs: number;
};

/** Counters of the ingest path since start. */
export interface IngestStats {
  /** Batches answered after their commit. */
  commits: number;
  accepted: number;
  duplicates: number;
  duplicateBodyMismatches: number;
  /** Batches of events that could not be committed (each request got 503). */
  storageFailures: number;
  /** Requests refused because too many were waiting for a commit. */
  shed: number;
}

/** Writes events durably and exactly once, and appends to the delivery log. */
export interface IngestWriter {
  /**
   * Stores the event and its outbox rows, resolving once they are committed to
   * disk. Rejects with `StoreOverloadedError` when too much is already waiting,
   * or `StorageUnavailableError` when the commit failed.
   */
  submit(event: IncomingEvent): Promise<IngestResult>;
  /** Queues a delivery-log row; it is written with the next commit. */
  recordDelivery(record: DeliveryRecord): void;
  /** Writes everything queued now, delivery-log rows included. */
  drain(): Promise<void>;
  /** Writes everything queued, then refuses new work (`StorageUnavailableError`). */
  close(): Promise<void>;
  readonly stats: Readonly<IngestStats>;
}

/** The result of a readiness probe. */
export interface StoreReadiness {
  readonly ok: boolean;
  readonly database: "ok" | "unreachable";
  /** Whether the writer (the one writing connection) is running. */
  readonly writer: "up" | "down";
  readonly migrations: { readonly applied: number; readonly expected: number };
}

/** What the outbox worker reports about itself (with the writer's heartbeat). */
export interface WorkerStatus {
  /** The loop is running (not stopped, not a CLI process that only runs commands). */
  readonly running: boolean;
  /** When the worker last looked at the outbox (ms since the epoch); `null` before it did. */
  readonly lastIterationAt: number | null;
  /** I/O attempts (forwards) under way. */
  readonly inFlight: number;
  /** Counters since start: rows claimed, each one attempt. */
  readonly attempts: number;
  readonly done: number;
  /** Failed attempts, retried or not. */
  readonly failures: number;
  /** Rows moved to the dead letter. */
  readonly deadLetters: number;
  /** Rows given back at shutdown. */
  readonly released: number;
  /** Iterations that failed as a whole (storage errors); retried at the next poll. */
  readonly errors: number;
}

/** What a replay changed. Rows being processed right now are left to finish. */
export type ReplayResult =
  | { readonly found: false }
  | {
      readonly found: true;
      /** Existing rows reset to pending, due now, attempts 0. */
      readonly reset: number;
      /** Rows added for handlers that are on but had none for the event. */
      readonly added: number;
      /** Rows left alone because an attempt holds them now. */
      readonly processing: number;
    };

/** What retrying one outbox row changed; only a dead row is retried. */
export type RetryRowResult =
  | { readonly found: false }
  | { readonly found: true; readonly retried: boolean; readonly state: string };

/** Writes that the query API (and the CLI) may ask of the outbox. */
export interface OutboxControl {
  /** Enqueues every handler of the event again. */
  replayEvent(eventId: string): Promise<ReplayResult>;
  /** Moves one dead row back to pending, due now, attempts 0. */
  retryRow(outboxId: number): Promise<RetryRowResult>;
  /** Moves every dead row (of one handler, if given) back to pending. */
  retryDead(filter?: { readonly handler?: string }): Promise<{ readonly retried: number }>;
}

/** The storage backend as a whole. */
export interface Store {
  readonly ingest: IngestWriter;
  /** Reads for the query API. */
  readonly queries: StoreQueries;
  /** Reads of the subscriber mirror. */
  readonly subscribers: SubscriberQueries;
  /** The admin token generated when `ADMIN_TOKEN` is unset. */
  readonly adminToken: AdminTokenStore;
  /** What the background side (writer, worker, retention) last reported; `null` before. */
  backgroundStatus(): BackgroundStatus | null;
  /** Operator commands on the outbox (replay, retries), run by the writer. */
  readonly outbox: OutboxControl;
  /** The worker's last report, or `null` when no worker has reported. */
  workerStatus(): WorkerStatus | null;
  checkReadiness(): StoreReadiness;
  /** Writes what is queued and closes the database. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// The query API's view of storage. Times are milliseconds since the epoch.

/** One page of a list, newest first; `nextCursor` continues it, `null` at the end. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/**
 * Where a page starts: `limit` items after `cursor` (an opaque string that a
 * previous page returned). A cursor that this backend did not make throws
 * `InvalidCursorError`.
 */
export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

/** Filters of the event list; all given ones must match. */
export interface EventFilter {
  readonly type?: string;
  readonly email?: string;
  readonly contactId?: string;
  /** Received at or after (ms). */
  readonly since?: number;
  /** Received before (ms). */
  readonly until?: number;
}

export type OutboxState = (typeof OUTBOX_STATES)[number];

/** One (event, handler) row of the outbox. */
export interface OutboxEntry {
  readonly id: number;
  readonly eventId: string;
  readonly eventType: string;
  readonly handler: string;
  readonly state: OutboxState;
  readonly attempts: number;
  /** When the row is next due (pending) or when its lease ends (processing). */
  readonly runAt: number;
  readonly lastError: string | null;
  /** What the last attempt came to, e.g. `applied` or `skipped: unknown type`. */
  readonly result: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An event with its body as received and its outbox rows. */
export interface EventDetail extends EventSummary {
  readonly rawBody: Uint8Array;
  readonly outbox: OutboxEntry[];
}

export interface OutboxFilter {
  readonly state?: OutboxState;
  readonly handler?: string;
}

export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** A delivery-log row, as written (see `DeliveryRecord`), with its id. */
export type DeliveryEntry = DeliveryRecord & { readonly id: number };

export interface DeliveryFilter {
  readonly status?: number;
  readonly outcome?: DeliveryOutcome;
}

/** Counts for `/api/stats` and `/metrics`. */
export interface StoreCounts {
  readonly eventsTotal: number;
  /** Events by type, as far as the worker has processed them. */
  readonly eventsByType: Readonly<Record<string, number>>;
  readonly outboxByState: Readonly<Partial<Record<OutboxState, number>>>;
  /** handler → state → rows, for the rows not done. */
  readonly unfinishedByHandler: Readonly<Record<string, Partial<Record<OutboxState, number>>>>;
  /** Outcome → rows of the delivery log received at or after `since`. */
  readonly deliveriesByOutcome: Readonly<Partial<Record<DeliveryOutcome, number>>>;
}

/** Reads of the query API; they never wait for the writer. */
export interface StoreQueries {
  listEvents(filter: EventFilter, page: PageRequest): Page<EventSummary>;
  /** The event, or `null`. */
  getEvent(eventId: string): EventDetail | null;
  listOutbox(filter: OutboxFilter, page: PageRequest): Page<OutboxEntry>;
  getOutboxEntry(id: number): OutboxEntry | null;
  listDeliveries(filter: DeliveryFilter, page: PageRequest): Page<DeliveryEntry>;
  /** Counts of the whole store; deliveries since `deliveriesSince` (ms). */
  count(deliveriesSince: number): StoreCounts;
  /**
   * Outbox rows not done, by state: cheap (the done rows, most of the table,
   * are not counted), for `/metrics`.
   */
  countUnfinishedOutbox(): Readonly<Partial<Record<Exclude<OutboxState, "done">, number>>>;
}

/** One contact of the subscriber mirror. */
export interface SubscriberEntry {
  /** The contact's key: its Maildesk id, or its e-mail where events carry no id. */
  readonly id: string;
  readonly contactId: string | null;
  readonly email: string | null;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly status: string | null;
  readonly createdAt: number | null;
  readonly confirmedAt: number | null;
  readonly unsubscribedAt: number | null;
  /** The event whose state the row shows. */
  readonly lastEventId: string | null;
  readonly updatedAt: number;
}

/** An event the `subscribers` handler met for a contact, applied or found stale. */
export interface SubscriberHistoryEntry {
  readonly eventId: string;
  readonly type: string;
  /** The event's time: its ULID time, or its receipt time. */
  readonly eventAt: number;
  /** When the worker handled it. */
  readonly recordedAt: number;
  /** `applied`: it was the newest so far; `stale`: older than what the mirror showed. */
  readonly outcome: "applied" | "stale";
}

export interface SubscriberDetail extends SubscriberEntry {
  readonly history: SubscriberHistoryEntry[];
}

export interface SubscriberFilter {
  readonly status?: string;
  readonly email?: string;
}

/** Reads of the subscriber mirror. */
export interface SubscriberQueries {
  list(filter: SubscriberFilter, page: PageRequest): Page<SubscriberEntry>;
  get(id: string): SubscriberDetail | null;
  countByStatus(): Readonly<Record<string, number>>;
}

/** The generated admin token, kept in the database. */
export interface AdminTokenStore {
  /** The stored token, or `null` before one was made. */
  read(): string | null;
  /** Makes and stores a token unless one exists; `created` tells which. */
  ensure(): Promise<{ readonly token: string; readonly created: boolean }>;
  /** Replaces the stored token with a new one and returns it. */
  rotate(): Promise<string>;
}

/**
 * The last report of the background side: when, and each component's own
 * status by name (`worker`, `retention`, …), whose shape is the component's.
 * A backend may report counters of its own beside them.
 */
export interface BackgroundStatus {
  readonly at: number;
  readonly components: Readonly<Record<string, unknown>>;
}
