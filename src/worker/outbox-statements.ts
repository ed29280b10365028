/**
 * The worker's SQL over the outbox, prepared once on the writing connection.
 *
 * Every change to a claimed row is fenced by `state = 'processing' AND
 * attempts = <the attempt it was claimed as>`: if the row was released,
 * replayed or claimed again after its lease ran out, the late outcome of an
 * older attempt changes nothing.
 */
import type { Database, Statement } from "bun:sqlite";
import type { StoredEvent } from "./handler.ts";

/** A row as claimed: `attempt` counts this attempt (1 for the first). */
export interface ClaimedRow {
  readonly id: number;
  readonly eventSeq: number;
  readonly handler: string;
  readonly attempt: number;
}

export interface OutboxStatements {
  /**
   * Claims up to `limit` due rows of `handler` with a lease until
   * `leaseEnd`, counting an attempt each: rows whose lease ran out first
   * (their process died), then pending rows by due time.
   */
  claim(handler: string, now: number, leaseEnd: number, limit: number): ClaimedRow[];
  /**
   * The rows `claim` would take, without taking them: for a database batch,
   * which selects, applies and marks its rows in one transaction that no one
   * sees half done, a lease would only move every row's index entries twice.
   * `attempt` is the attempt the batch makes of each.
   */
  selectDue(handler: string, now: number, limit: number): ClaimedRow[];
  /** Claims one row `selectDue` returned (a database batch's row that failed). */
  claimSelected(row: ClaimedRow, leaseEnd: number, now: number): boolean;
  loadEvent(seq: number): StoredEvent | null;
  /** The events of `seqs` by seq, in one statement (a database batch's). */
  loadEvents(seqs: readonly number[]): Map<number, StoredEvent>;
  markDone(row: ClaimedRow, result: string, now: number): boolean;
  /**
   * Marks rows done, counting their attempt, that this same transaction
   * selected (nothing can have touched them since, so no fence per
   * attempt); returns how many.
   */
  markSelectedDone(ids: readonly number[], result: string, now: number): number;
  markRetry(row: ClaimedRow, error: string, runAt: number, now: number): boolean;
  markDead(row: ClaimedRow, error: string, result: string, now: number): boolean;
  /** Gives a claimed row back: pending, due at `now`, this attempt not counted. */
  release(row: ClaimedRow, now: number): boolean;
  /** The earliest due time or lease end among `handler`'s unfinished rows, or `null`. */
  nextDueAt(handler: string): number | null;
}

interface ClaimedRecord {
  id: number;
  event_seq: number;
  attempts: number;
}

interface EventRecord {
  seq: number;
  event_id: string;
  type: string;
  received_at: number;
  created_at: number | null;
  contact_id: string | null;
  email: string | null;
  content_type: string | null;
  raw_body: Uint8Array;
}

export function prepareOutboxStatements(sqlite: Database): OutboxStatements {
  // The two branches each walk the (state, handler, run_at) index in due
  // order and stop at the limit: no sort, however long the backlog.
  const claim = sqlite.prepare<ClaimedRecord, [number, number, string, number]>(
    `UPDATE outbox
        SET state = 'processing', run_at = ?1, attempts = attempts + 1, updated_at = ?2
      WHERE id IN (
            SELECT id FROM outbox WHERE state = 'processing' AND handler = ?3 AND run_at <= ?2
            UNION ALL
            SELECT id FROM outbox WHERE state = 'pending' AND handler = ?3 AND run_at <= ?2
            LIMIT ?4)
  RETURNING id, event_seq, attempts`,
  );
  const selectDue = sqlite.prepare<ClaimedRecord, [number, string, number]>(
    `SELECT id, event_seq, attempts + 1 AS attempts FROM (
            SELECT id, event_seq, attempts FROM outbox
             WHERE state = 'processing' AND handler = ?2 AND run_at <= ?1
            UNION ALL
            SELECT id, event_seq, attempts FROM outbox
             WHERE state = 'pending' AND handler = ?2 AND run_at <= ?1
            LIMIT ?3)`,
  );
  const claimSelected = sqlite.prepare<never, [number, number, number, number]>(
    `UPDATE outbox SET state = 'processing', run_at = ?3, attempts = ?2, updated_at = ?4
      WHERE id = ?1 AND attempts = ?2 - 1`,
  );
  const loadEvent = sqlite.prepare<EventRecord, [number]>(
    `SELECT seq, event_id, type, received_at, created_at, contact_id, email, content_type, raw_body
       FROM events WHERE seq = ?`,
  );
  const loadEvents = sqlite.prepare<EventRecord, [string]>(
    `SELECT seq, event_id, type, received_at, created_at, contact_id, email, content_type, raw_body
       FROM events WHERE seq IN (SELECT value FROM json_each(?))`,
  );
  const fence = "WHERE id = ?1 AND state = 'processing' AND attempts = ?2";
  const markDone = sqlite.prepare<never, [number, number, string, number]>(
    `UPDATE outbox SET state = 'done', result = ?3, updated_at = ?4 ${fence}`,
  );
  const markSelectedDone = sqlite.prepare<never, [string, number, string]>(
    `UPDATE outbox SET state = 'done', attempts = attempts + 1, result = ?1, updated_at = ?2
      WHERE id IN (SELECT value FROM json_each(?3))`,
  );
  const markRetry = sqlite.prepare<never, [number, number, string, number, number]>(
    `UPDATE outbox SET state = 'pending', last_error = ?3, run_at = ?4, updated_at = ?5,
            result = 'retry scheduled' ${fence}`,
  );
  const markDead = sqlite.prepare<never, [number, number, string, string, number]>(
    `UPDATE outbox SET state = 'dead', last_error = ?3, result = ?4, updated_at = ?5 ${fence}`,
  );
  const release = sqlite.prepare<never, [number, number, number]>(
    `UPDATE outbox SET state = 'pending', run_at = ?3, attempts = attempts - 1, updated_at = ?3
     ${fence}`,
  );
  const nextDue = sqlite.prepare<{ at: number | null }, [string, string]>(
    "SELECT min(run_at) AS at FROM outbox WHERE state = ?1 AND handler = ?2",
  );

  return {
    claim: (handler, now, leaseEnd, limit) =>
      toClaimedRows(claim.all(leaseEnd, now, handler, limit), handler),
    selectDue: (handler, now, limit) => toClaimedRows(selectDue.all(now, handler, limit), handler),
    claimSelected: (row, leaseEnd, now) =>
      claimSelected.run(row.id, row.attempt, leaseEnd, now).changes === 1,
    loadEvent(seq) {
      const row = loadEvent.get(seq);
      return row ? toStoredEvent(row) : null;
    },
    loadEvents(seqs) {
      const events = new Map<number, StoredEvent>();
      for (const row of loadEvents.all(JSON.stringify(seqs)))
        events.set(row.seq, toStoredEvent(row));
      return events;
    },
    markDone: (row, result, now) => markDone.run(row.id, row.attempt, result, now).changes === 1,
    markSelectedDone: (ids, result, now) =>
      markSelectedDone.run(result, now, JSON.stringify(ids)).changes,
    markRetry: (row, error, runAt, now) =>
      markRetry.run(row.id, row.attempt, error, runAt, now).changes === 1,
    markDead: (row, error, result, now) =>
      markDead.run(row.id, row.attempt, error, result, now).changes === 1,
    release: (row, now) => release.run(row.id, row.attempt, now).changes === 1,
    nextDueAt(handler) {
      const pending = nextDue.get("pending", handler)?.at ?? null;
      const processing = nextDue.get("processing", handler)?.at ?? null;
      if (pending === null) return processing;
      return processing === null ? pending : Math.min(pending, processing);
    },
  };
}

/** A savepoint around one row's handler, prepared once. */
export function prepareSavepoint(sqlite: Database) {
  const statements: Record<"begin" | "release" | "rollback", Statement> = {
    begin: sqlite.prepare("SAVEPOINT outbox_row"),
    release: sqlite.prepare("RELEASE outbox_row"),
    rollback: sqlite.prepare("ROLLBACK TO outbox_row"),
  };
  return {
    begin: () => statements.begin.run(),
    release: () => statements.release.run(),
    rollback() {
      statements.rollback.run();
      statements.release.run();
    },
  };
}

/**
 * The rows in receipt order (neither RETURNING nor the UNION gives one),
 * which makes the fewest stale applications.
 */
function toClaimedRows(rows: ClaimedRecord[], handler: string): ClaimedRow[] {
  rows.sort((a, b) => a.event_seq - b.event_seq);
  return rows.map((row) => ({
    id: row.id,
    eventSeq: row.event_seq,
    handler,
    attempt: row.attempts,
  }));
}

function toStoredEvent(row: EventRecord): StoredEvent {
  return {
    seq: row.seq,
    eventId: row.event_id,
    type: row.type,
    receivedAt: row.received_at,
    createdAt: row.created_at,
    contactId: row.contact_id,
    email: row.email,
    contentType: row.content_type,
    rawBody: row.raw_body,
  };
}
