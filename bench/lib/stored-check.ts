/**
 * The check that makes a throughput number mean something: every 2xx the
 * client saw is a stored event, read back from the server's database after
 * the run.
 *
 * The server may have stored a few more events than the client counted:
 * requests in flight when a closed-loop generator stopped were stored and
 * answered to a socket nobody read any more (at most one per connection and
 * run). The service writes each of those answers to its delivery log too, so
 * for the service stored events must equal its accepted answers exactly.
 */
import { Database } from "bun:sqlite";

/** What the client counted over all runs against one server. */
export interface ClientCounts {
  /** 2xx answers seen. */
  readonly ok: number;
  /** Non-2xx answers, socket errors and time-outs. */
  readonly failed: number;
  /** Requests that may have been stored without the client seeing the answer. */
  readonly unseenAllowance: number;
  /** A closed-loop run sent some prepared requests twice. */
  readonly wrapped: boolean;
  /** eventIds whose 2xx the open-loop client saw but the database lacks. */
  readonly missing: number;
}

/** The outcome of the check, for the table and results.json. */
export interface StoredCheck {
  readonly ok: boolean;
  readonly stored: number;
  /** The service's accepted answers from its delivery log (null for the peer). */
  readonly acceptedAnswers: number | null;
  readonly clientOk: number;
  readonly failed: number;
  readonly missing: number;
  readonly text: string;
}

/** Checks the service's database: events, against its delivery log and the client's counts. */
export function checkServiceStored(path: string, counts: ClientCounts): StoredCheck {
  const db = new Database(path, { readonly: true });
  const stored = count(db, "SELECT count(*) AS n FROM events");
  const answered = count(db, "SELECT count(*) AS n FROM deliveries WHERE outcome = 'accepted'");
  db.close();
  return judge(stored, answered, counts);
}

/** Checks the Express peer's database: it has no delivery log, so against the client only. */
export function checkPeerStored(path: string, counts: ClientCounts): StoredCheck {
  const db = new Database(path, { readonly: true });
  const stored = count(db, "SELECT count(*) AS n FROM events");
  db.close();
  return judge(stored, null, counts);
}

/** How many of `eventIds` (each got a 2xx) are not in the `events` table at `path`. */
export function countMissingEvents(path: string, eventIds: Iterable<string>): number {
  const db = new Database(path, { readonly: true });
  const find = db.query("SELECT 1 AS found FROM events WHERE event_id = ?");
  let missing = 0;
  for (const eventId of eventIds) if (!find.get(eventId)) missing++;
  db.close();
  return missing;
}

function judge(stored: number, answered: number | null, counts: ClientCounts): StoredCheck {
  const unseen = stored - counts.ok;
  const ok =
    (answered === null || stored === answered) &&
    unseen >= 0 &&
    unseen <= counts.unseenAllowance &&
    counts.failed === 0 &&
    counts.missing === 0 &&
    !counts.wrapped;
  const parts = [
    `${stored} stored`,
    ...(answered === null ? [] : [`${answered} accepted answers sent`]),
    `${counts.ok} 2xx seen`,
    `${counts.failed} failed`,
    ...(counts.missing > 0 ? [`${counts.missing} 2xx not stored`] : []),
    ...(counts.wrapped ? ["requests wrapped"] : []),
  ];
  return {
    ok,
    stored,
    acceptedAnswers: answered,
    clientOk: counts.ok,
    failed: counts.failed,
    missing: counts.missing,
    text: `${ok ? "ok" : "FAIL"}: ${parts.join(", ")}`,
  };
}

function count(db: Database, sql: string): number {
  return (db.query(sql).get() as { n: number }).n;
}
