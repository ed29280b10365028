/**
 * The handler contract: what a handler is given and what it answers.
 *
 * Two kinds, because they fit the database differently:
 *
 * - A **database** handler only reads and writes tables of this database. It
 *   runs synchronously inside the worker's transaction, beside the claim of
 *   its batch and the marking of each row: a whole batch costs one commit
 *   (one fsync). It must not do I/O or wait; it cannot hang, so no time-out
 *   applies to it.
 * - An **I/O** handler talks to something else (an HTTP endpoint). It runs
 *   outside any transaction, on a leased row, is cut off by the worker's
 *   time-out through `signal`, and its outcome is recorded afterwards.
 *
 * Either way a handler must be idempotent: a row whose lease expired (the
 * process died mid-attempt) is run again, and a replay runs it again on
 * purpose.
 */

/** A stored event as handlers see it. */
export interface StoredEvent {
  /** Receipt order. */
  readonly seq: number;
  readonly eventId: string;
  readonly type: string;
  readonly receivedAt: number;
  /** The payload's `createdAt` as ingest parsed it, or `null`. */
  readonly createdAt: number | null;
  /** The contact id and e-mail as ingest extracted them, or `null`. */
  readonly contactId: string | null;
  readonly email: string | null;
  /** The request's `Content-Type`, or `null` for events stored before it was kept. */
  readonly contentType: string | null;
  /** The request body exactly as received. */
  readonly rawBody: Uint8Array;
}

/**
 * What an attempt came to. The worker acts on the kind, never on the text:
 * `success` marks the row done; `retryable` schedules another attempt (not
 * before `notBefore`, e.g. a downstream's `Retry-After`) until the attempts
 * run out; `permanent` sends the row to the dead letter at once.
 */
export type HandlerOutcome =
  | { readonly kind: "success"; readonly note: string }
  | { readonly kind: "retryable"; readonly error: string; readonly notBefore?: number }
  | { readonly kind: "permanent"; readonly error: string };

/** The row is done; `note` says what was done ("applied", "skipped: unknown type"). */
export function success(note: string): HandlerOutcome {
  return { kind: "success", note };
}

/** The attempt failed and may succeed later. */
export function retryable(error: string, notBefore?: number): HandlerOutcome {
  return notBefore === undefined
    ? { kind: "retryable", error }
    : { kind: "retryable", error, notBefore };
}

/** The attempt failed and no later attempt can succeed. */
export function permanent(error: string): HandlerOutcome {
  return { kind: "permanent", error };
}

/** A handler that runs inside the worker's transaction. */
export interface DatabaseHandler {
  readonly kind: "database";
  readonly name: string;
  /** Applies the event; `at` is the worker's current time. Throwing counts as retryable. */
  apply(event: StoredEvent, at: number): HandlerOutcome;
}

/** A handler that does I/O outside transactions. */
export interface IoHandler {
  readonly kind: "io";
  readonly name: string;
  /** Attempts under way at most at once. */
  readonly maxInFlight: number;
  /** Runs one attempt; it should stop when `signal` aborts. Rejecting counts as retryable. */
  run(event: StoredEvent, signal: AbortSignal): Promise<HandlerOutcome>;
}

export type Handler = DatabaseHandler | IoHandler;

/** Describes a thrown value for `last_error`, without a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
