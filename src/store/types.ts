/**
 * What the rest of the program may ask of storage. Routes and the worker
 * depend on these interfaces only, so that another backend (PostgreSQL, for
 * several instances) can stand behind them without touching the callers.
 */
import type { DELIVERY_OUTCOMES } from "./schema.ts";

/** A verified, validated event on its way to being stored. */
export interface IncomingEvent {
  readonly eventId: string;
  readonly type: string;
  readonly contactId: string | null;
  readonly email: string | null;
  readonly status: string | null;
  readonly createdAtRaw: string | null;
  readonly createdAt: number | null;
  readonly receivedAt: number;
  readonly sourceIp: string | null;
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
  /** When the worker last looked at the outbox (ms since the epoch); `null` before its first look. */
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
  readonly outbox: OutboxControl;
  /** The worker's last report, or `null` when no worker has reported. */
  workerStatus(): WorkerStatus | null;
  checkReadiness(): StoreReadiness;
  /** Writes what is queued and closes the database. */
  close(): Promise<void>;
}
