/**
 * The `subscribers` handler: keeps the `subscribers` mirror and its history
 * (`subscriber_events`) from `subscriber.*` events. A database handler: it
 * runs inside the worker's transaction, a whole batch per commit.
 *
 * Rules of the mirror:
 *
 * - **Keying.** A contact is its `id`: key `id:<id>`. An event without an
 *   `id` goes to a subscriber keyed by its e-mail address, lower-cased:
 *   `email:<address>`. The two are never merged, not even when an event
 *   with an id later carries the same address: addresses change and are
 *   reused, and a merge decided by whichever event is processed first would
 *   make the mirror depend on processing order, which after a crash or a
 *   replay differs from receipt order. Both records carry `email`, so a look-
 *   up by address finds both. An event with neither id nor address is
 *   skipped ("skipped: no contact id or email").
 * - **Ordering.** Events are ordered by event-order.ts (ULID time, else
 *   receipt). Each field remembers the order key of the event that last
 *   wrote it, and an event writes a field only if it is newer: an older
 *   event never overwrites newer state, whatever order events are processed
 *   in, and the end state is the same for every order. An event older than
 *   the newest one applied is recorded as `stale` in the history; it still
 *   fills the fields no newer event has written.
 * - **Partial updates.** Only fields the event carries are written (see
 *   subscriber-change.ts for "carries"): names, email, status, createdAt.
 *   `subscriber.confirmed` also sets `confirmedAt` to the event's time;
 *   `subscriber.unsubscribed` sets `unsubscribedAt` and the status (the
 *   payload's `status`, or "unsubscribed" when it has none).
 * - **Idempotent.** An event already in the subscriber's history is not
 *   applied again ("already applied").
 * - Unknown event types are skipped ("skipped: unknown type").
 *
 * Every event, skipped or not, also gets its `event_keys` rows (its type,
 * and its contact id and e-mail as ingest extracted them), which the query API's event
 * filters walk: kept here, in the worker's large transactions, rather than
 * as indexes on `events`, which ingest would pay for in every commit.
 */
import type { Database } from "bun:sqlite";
import { type DatabaseHandler, permanent, type StoredEvent, success } from "../handler.ts";
import { type EventOrder, orderEvent } from "./event-order.ts";
import { SUBSCRIBERS_HANDLER } from "./names.ts";
import {
  readSubscriberChange,
  SUBSCRIBER_EVENT_TYPES,
  type SubscriberChange,
  subscriberKey,
} from "./subscriber-change.ts";

/** The mirrored fields, as columns; each has its own order key in `field_orders`. */
interface SubscriberFields {
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  status: string | null;
  created_at_raw: string | null;
  created_at: number | null;
  confirmed_at: number | null;
  unsubscribed_at: number | null;
}

interface SubscriberRow extends SubscriberFields {
  key: string;
  contact_id: string | null;
  last_event_id: string;
  last_event_seq: number;
  last_event_type: string;
  last_event_at: number;
  last_event_order: string;
  field_orders: string;
  updated_at: number;
}

/** The fields with an order key each; `createdAt` is its text and its time together. */
const FIELD_NAMES = [
  "email",
  "firstName",
  "lastName",
  "status",
  "createdAt",
  "confirmedAt",
  "unsubscribedAt",
] as const;

type FieldName = (typeof FIELD_NAMES)[number];

type FieldWrite = readonly [FieldName, Partial<SubscriberFields>];

const KNOWN_TYPES: ReadonlySet<string> = new Set(SUBSCRIBER_EVENT_TYPES);

const COLUMNS = [
  "key",
  "contact_id",
  "email",
  "first_name",
  "last_name",
  "status",
  "created_at_raw",
  "created_at",
  "confirmed_at",
  "unsubscribed_at",
  "last_event_id",
  "last_event_seq",
  "last_event_type",
  "last_event_at",
  "last_event_order",
  "field_orders",
  "updated_at",
] as const satisfies readonly (keyof SubscriberRow)[];

/** Creates the handler over the writing connection. */
export function createSubscribersHandler(sqlite: Database): DatabaseHandler {
  const selectSubscriber = sqlite.prepare<SubscriberRow & { id: number }, [string]>(
    `SELECT id, ${COLUMNS.join(", ")} FROM subscribers WHERE key = ?`,
  );
  const insertSubscriber = sqlite.prepare<{ id: number }, SubscriberRow[keyof SubscriberRow][]>(
    `INSERT INTO subscribers (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})
     RETURNING id`,
  );
  const updateSubscriber = createChangedColumnsUpdate(sqlite);
  const insertHistory = sqlite.prepare<
    never,
    [number, number, string, string, number, string, number]
  >(
    `INSERT INTO subscriber_events
       (subscriber_id, event_seq, event_id, type, event_at, outcome, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  );

  // One statement per event for its keys (type, and contact id and e-mail
  // when it has them): the statement's own cost is a good part of the work.
  const insertEventKeys = [1, 2, 3].map((rows) =>
    sqlite.prepare<never, (string | number)[]>(
      `INSERT INTO event_keys (key, event_seq) VALUES ${Array(rows).fill("(?, ?)").join(", ")}
       ON CONFLICT DO NOTHING`,
    ),
  );

  return {
    kind: "database",
    name: SUBSCRIBERS_HANDLER,
    apply(event, at) {
      const keys: (string | number)[] = [`type:${event.type}`, event.seq];
      if (event.contactId !== null) keys.push(`id:${event.contactId}`, event.seq);
      if (event.email !== null) keys.push(`email:${event.email}`, event.seq);
      insertEventKeys[keys.length / 2 - 1]?.run(...keys);
      if (!KNOWN_TYPES.has(event.type)) return success("skipped: unknown type");
      const change = readSubscriberChange(event.rawBody);
      if (!change) return permanent("the stored body is not a JSON object");
      const key = subscriberKey(change);
      if (key === null) return success("skipped: no contact id or email");

      const order = orderEvent(event.eventId, event.receivedAt, event.seq);
      const current = selectSubscriber.get(key);
      const next = mergeEvent(current, key, change, event, order, at);
      const outcome = next.last_event_seq === event.seq ? "applied" : "stale";
      const history = [event.seq, event.eventId, event.type, order.at, outcome, at] as const;

      // The history entry doubles as the idempotence check: an event already
      // recorded for this subscriber is not applied again. (A new subscriber
      // is written first: the entry references it.)
      if (!current) {
        const { id } = insertSubscriber.get(...COLUMNS.map((column) => next[column])) as {
          id: number;
        };
        insertHistory.run(id, ...history);
      } else {
        if (insertHistory.run(current.id, ...history).changes === 0) {
          return success("already applied");
        }
        updateSubscriber(current, next);
      }
      return success(outcome);
    },
  };
}

/** The subscriber after `event`: each field it writes, if it is newer than that field's writer. */
function mergeEvent(
  current: SubscriberRow | null,
  key: string,
  change: SubscriberChange,
  event: StoredEvent,
  order: EventOrder,
  at: number,
): SubscriberRow {
  const row: SubscriberRow = current ? { ...current } : emptyRow(key, change.contactId);
  const fieldOrders: Partial<Record<FieldName, string>> = current
    ? JSON.parse(current.field_orders)
    : {};

  for (const [field, values] of fieldWrites(change, event, order)) {
    const writtenBy = fieldOrders[field];
    if (writtenBy !== undefined && writtenBy >= order.key) continue;
    Object.assign(row, values);
    fieldOrders[field] = order.key;
  }

  if (!current || order.key > current.last_event_order) {
    row.last_event_id = event.eventId;
    row.last_event_seq = event.seq;
    row.last_event_type = event.type;
    row.last_event_at = order.at;
    row.last_event_order = order.key;
  }
  // Keys in a fixed order: the same state is the same text, whatever the order of events.
  row.field_orders = JSON.stringify(fieldOrders, FIELD_NAMES as unknown as string[]);
  row.updated_at = at;
  return row;
}

/**
 * Updates only the columns that changed, and nothing when only the time
 * would. An indexed column set to its own value still rewrites its index
 * entry; for the mirror's random access that is most of the pages a commit
 * writes, so the statement names just the changed columns (prepared once per
 * set of columns; events change few combinations).
 */
function createChangedColumnsUpdate(sqlite: Database) {
  const statements = new Map<string, ReturnType<typeof sqlite.prepare>>();
  return (current: SubscriberRow & { id: number }, next: SubscriberRow) => {
    const changed = COLUMNS.filter(
      (column) => column !== "updated_at" && current[column] !== next[column],
    );
    if (changed.length === 0) return;
    changed.push("updated_at");

    const id = changed.join(",");
    let statement = statements.get(id);
    if (!statement) {
      const assignments = changed.map((column) => `${column} = ?`).join(", ");
      statement = sqlite.prepare(`UPDATE subscribers SET ${assignments} WHERE id = ?`);
      statements.set(id, statement);
    }
    statement.run(...(changed.map((column) => next[column]) as never[]), current.id as never);
  };
}

function fieldWrites(change: SubscriberChange, event: StoredEvent, order: EventOrder) {
  const writes: FieldWrite[] = [];
  if (change.email !== undefined) writes.push(["email", { email: change.email }]);
  if (change.firstName !== undefined) writes.push(["firstName", { first_name: change.firstName }]);
  if (change.lastName !== undefined) writes.push(["lastName", { last_name: change.lastName }]);
  if (change.createdAtRaw !== undefined) {
    // The time is ingest's parse of the same field (events.created_at).
    const createdAt = change.createdAtRaw === null ? null : event.createdAt;
    writes.push(["createdAt", { created_at_raw: change.createdAtRaw, created_at: createdAt }]);
  }

  let status = change.status;
  if (event.type === "subscriber.confirmed") {
    writes.push(["confirmedAt", { confirmed_at: order.at }]);
  } else if (event.type === "subscriber.unsubscribed") {
    writes.push(["unsubscribedAt", { unsubscribed_at: order.at }]);
    status ??= "unsubscribed";
  }
  if (status !== undefined) writes.push(["status", { status }]);
  return writes;
}

function emptyRow(key: string, contactId: string | null): SubscriberRow {
  return {
    key,
    contact_id: contactId,
    email: null,
    first_name: null,
    last_name: null,
    status: null,
    created_at_raw: null,
    created_at: null,
    confirmed_at: null,
    unsubscribed_at: null,
    last_event_id: "",
    last_event_seq: 0,
    last_event_type: "",
    last_event_at: 0,
    last_event_order: "",
    field_orders: "{}",
    updated_at: 0,
  };
}
