/**
 * The query API's reads over the HTTP thread's reading connection (WAL:
 * they never wait for the writer, and the writer never waits for them).
 *
 * Every list is a keyset page, newest first, fetched with `limit + 1` rows to
 * know whether another page follows. Each query is shaped so that SQLite
 * walks one index in list order from the cursor and stops after the page
 * (see the index notes in schema.ts): a filter that should not pick the
 * index is written `+column = ?`, which SQLite then checks per row instead.
 */
import { and, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { decodeCursor, toPage } from "./cursor.ts";
import type { OpenDatabase } from "./database.ts";
import { deliveries, eventKeys, events, outbox } from "./schema.ts";
import type {
  DeliveryEntry,
  DeliveryFilter,
  EventFilter,
  EventSummary,
  OutboxFilter,
  OutboxState,
  StoreCounts,
  StoreQueries,
} from "./types.ts";

const eventSummaryColumns = {
  seq: events.seq,
  eventId: events.eventId,
  type: events.type,
  contactId: events.contactId,
  email: events.email,
  status: events.status,
  createdAtRaw: events.createdAtRaw,
  createdAt: events.createdAt,
  receivedAt: events.receivedAt,
  sourceIp: events.sourceIp,
  requestId: events.requestId,
};

const outboxColumns = {
  id: outbox.id,
  eventId: events.eventId,
  eventType: events.type,
  handler: outbox.handler,
  state: outbox.state,
  attempts: outbox.attempts,
  runAt: outbox.runAt,
  lastError: outbox.lastError,
  result: outbox.result,
  createdAt: outbox.createdAt,
  updatedAt: outbox.updatedAt,
};

/** Creates the reads over `reader`, a connection of this thread. */
export function createSqliteQueries(reader: OpenDatabase): StoreQueries {
  const { db } = reader;

  return {
    listEvents(filter, page) {
      const before = page.cursor === undefined ? undefined : decodeCursor("e", page.cursor);
      const { key, conditions } = eventConditions(reader, filter, before);
      // By contact id, e-mail or type: walk that key's entries newest first
      // and join each event by primary key; otherwise walk `events` itself,
      // by primary key.
      const query = key
        ? db
            .select(eventSummaryColumns)
            .from(eventKeys)
            .innerJoin(events, eq(events.seq, eventKeys.eventSeq))
            .where(and(eq(eventKeys.key, key), ...conditions(eventKeys.eventSeq)))
            .orderBy(desc(eventKeys.eventSeq))
        : db
            .select(eventSummaryColumns)
            .from(events)
            .where(and(...conditions(events.seq)))
            .orderBy(desc(events.seq));
      const rows = query.limit(page.limit + 1).all();
      return toPage(
        rows,
        page.limit,
        "e",
        (row) => row.seq,
        ({ seq, ...event }) => event as EventSummary,
      );
    },

    getEvent(eventId) {
      const event = db
        .select({ ...eventSummaryColumns, rawBody: events.rawBody })
        .from(events)
        .where(eq(events.eventId, eventId))
        .get();
      if (!event) return null;

      const rows = db
        .select(outboxColumns)
        .from(outbox)
        .innerJoin(events, eq(events.seq, outbox.eventSeq))
        .where(eq(outbox.eventSeq, event.seq))
        .orderBy(outbox.id)
        .all();
      const { seq, rawBody, ...summary } = event;
      return { ...summary, rawBody: new Uint8Array(rawBody), outbox: rows };
    },

    listOutbox(filter, page) {
      const conditions = outboxConditions(filter);
      if (page.cursor !== undefined) {
        conditions.push(lt(outbox.id, decodeCursor("o", page.cursor)));
      }
      const rows = db
        .select(outboxColumns)
        .from(outbox)
        .innerJoin(events, eq(events.seq, outbox.eventSeq))
        .where(and(...conditions))
        .orderBy(desc(outbox.id))
        .limit(page.limit + 1)
        .all();
      return toPage(
        rows,
        page.limit,
        "o",
        (row) => row.id,
        (row) => row,
      );
    },

    getOutboxEntry(id) {
      return (
        db
          .select(outboxColumns)
          .from(outbox)
          .innerJoin(events, eq(events.seq, outbox.eventSeq))
          .where(eq(outbox.id, id))
          .get() ?? null
      );
    },

    listDeliveries(filter, page) {
      const conditions = deliveryConditions(filter);
      if (page.cursor !== undefined) {
        conditions.push(lt(deliveries.id, decodeCursor("d", page.cursor)));
      }
      const rows = db
        .select()
        .from(deliveries)
        .where(and(...conditions))
        .orderBy(desc(deliveries.id))
        .limit(page.limit + 1)
        .all();
      return toPage(
        rows,
        page.limit,
        "d",
        (row) => row.id,
        (row) => row as DeliveryEntry,
      );
    },

    count(deliveriesSince) {
      // From the worker's event_keys (a covering walk of the type keys):
      // `events` has no type index, which ingest would pay for.
      const eventsByType: Record<string, number> = {};
      for (const row of db
        .select({ key: eventKeys.key, n: sql<number>`count(*)` })
        .from(eventKeys)
        .where(and(gte(eventKeys.key, "type:"), lt(eventKeys.key, "type;")))
        .groupBy(eventKeys.key)
        .all()) {
        eventsByType[row.key.slice("type:".length)] = row.n;
      }

      // By state from the claim index (covering, in state order); by handler
      // only the rows not done, from the partial index: no index has the
      // handler of every row, and done rows are most of the table.
      const outboxByState: Partial<Record<OutboxState, number>> = {};
      for (const row of db
        .select({ state: outbox.state, n: sql<number>`count(*)` })
        .from(outbox)
        .groupBy(outbox.state)
        .all()) {
        outboxByState[row.state] = row.n;
      }
      const unfinishedByHandler: Record<string, Partial<Record<OutboxState, number>>> = {};
      for (const row of db
        .select({ handler: outbox.handler, state: outbox.state, n: sql<number>`count(*)` })
        .from(outbox)
        .where(sql`${outbox.state} <> 'done'`)
        .groupBy(outbox.handler, outbox.state)
        .all()) {
        unfinishedByHandler[row.handler] ??= {};
        (unfinishedByHandler[row.handler] as Record<string, number>)[row.state] = row.n;
      }

      const deliveriesByOutcome: StoreCounts["deliveriesByOutcome"] = Object.fromEntries(
        db
          .select({ outcome: deliveries.outcome, n: sql<number>`count(*)` })
          .from(deliveries)
          .where(gte(deliveries.id, findFirstDeliveryIdSince(reader, deliveriesSince)))
          .groupBy(deliveries.outcome)
          .all()
          .map((row) => [row.outcome, row.n]),
      );
      const eventsTotal = db.select({ n: sql<number>`count(*)` }).from(events).get()?.n ?? 0;
      return { eventsTotal, eventsByType, outboxByState, unfinishedByHandler, deliveriesByOutcome };
    },

    countUnfinishedOutbox() {
      const rows = db
        .select({ state: outbox.state, n: sql<number>`count(*)` })
        .from(outbox)
        .where(sql`${outbox.state} <> 'done'`)
        .groupBy(outbox.state)
        .all();
      return Object.fromEntries(rows.map((row) => [row.state, row.n]));
    },
  };
}

/**
 * The conditions of an event page over the column that orders it (`seq`, or
 * `event_keys.event_seq`), and the `event_keys` key to walk, if any. The
 * time window becomes a range of `seq` (times follow `seq`; see schema.ts).
 */
function eventConditions(reader: OpenDatabase, filter: EventFilter, before?: number) {
  // The most selective key is walked; the other filters are checked per row.
  const key =
    filter.contactId !== undefined
      ? `id:${filter.contactId}`
      : filter.email !== undefined
        ? `email:${filter.email}`
        : filter.type !== undefined
          ? `type:${filter.type}`
          : null;
  const low = filter.since === undefined ? null : findFirstSeqAt(reader, filter.since);
  // One upper bound, the tighter: SQLite bounds its range by one of them
  // only, and a deep page would otherwise walk from `until` to the cursor.
  const uppers = [
    filter.until === undefined ? null : findFirstSeqAt(reader, filter.until),
    before ?? null,
  ].filter((bound) => bound !== null);
  const high = uppers.length > 0 ? Math.min(...uppers) : null;

  const conditions = (order: SQLiteColumn): SQL[] => {
    const all: SQL[] = [];
    if (low !== null) all.push(gte(order, low));
    if (high !== null) all.push(lt(order, high));
    // The walk picks the index; these are checked per row.
    if (filter.contactId !== undefined && filter.email !== undefined) {
      all.push(sql`+${events.email} = ${filter.email}`);
    }
    if (filter.type !== undefined && key !== `type:${filter.type}`) {
      all.push(sql`+${events.type} = ${filter.type}`);
    }
    return all;
  };
  return { key, conditions };
}

function outboxConditions(filter: OutboxFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.state === "done") {
    // Most rows are done: walk the primary key (keeping SQLite off the
    // claim index, which would need a sort).
    conditions.push(sql`+${outbox.state} = 'done'`);
  } else if (filter.state !== undefined) {
    // Repeating the partial index's own condition lets SQLite use it.
    conditions.push(sql`${outbox.state} = ${filter.state} AND ${outbox.state} <> 'done'`);
  }
  if (filter.handler !== undefined) conditions.push(sql`+${outbox.handler} = ${filter.handler}`);
  return conditions;
}

function deliveryConditions(filter: DeliveryFilter): SQL[] {
  const conditions: SQL[] = [];
  const byStatus = filter.status !== undefined && filter.status !== 200;
  if (filter.status !== undefined) {
    conditions.push(
      byStatus
        ? sql`${deliveries.status} = ${filter.status} AND ${deliveries.status} <> 200`
        : sql`+${deliveries.status} = 200`,
    );
  }
  if (filter.outcome !== undefined) {
    const byOutcome = !byStatus && filter.outcome !== "accepted";
    conditions.push(
      byOutcome
        ? sql`${deliveries.outcome} = ${filter.outcome} AND ${deliveries.outcome} <> 'accepted'`
        : sql`+${deliveries.outcome} = ${filter.outcome}`,
    );
  }
  return conditions;
}

/**
 * The first delivery-log id received at or after `since`, found by bisecting
 * the primary key: ids follow receipt order (a row is written shortly after
 * its request arrived), so no index on `received_at` is kept for this. A row
 * of a request slower than its neighbours may land on the wrong side of the
 * boundary, which a count of the last 24 hours can bear.
 */
function findFirstDeliveryIdSince(reader: OpenDatabase, since: number): number {
  return bisectByTime(reader, "deliveries", "id", since);
}

/**
 * The first event `seq` received at or after `at` (one past the newest when
 * none is). Exact: the writer keeps `received_at` in `seq` order.
 */
function findFirstSeqAt(reader: OpenDatabase, at: number): number {
  return bisectByTime(reader, "events", "seq", at);
}

/** Bisects the integer primary key `id` of `table` for the first row received at or after `at`. */
function bisectByTime(
  reader: OpenDatabase,
  table: "events" | "deliveries",
  id: "seq" | "id",
  at: number,
): number {
  const rowAt = reader.sqlite.query<{ id: number; received_at: number }, [number]>(
    `SELECT ${id} AS id, received_at FROM ${table} WHERE ${id} >= ? ORDER BY ${id} LIMIT 1`,
  );
  const last = reader.sqlite
    .query<{ id: number | null }, []>(`SELECT max(${id}) AS id FROM ${table}`)
    .get()?.id;
  if (last == null) return 0;

  let low = 0;
  let high = last + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const row = rowAt.get(middle);
    if (row && row.received_at < at) low = row.id + 1;
    else high = middle;
  }
  return low;
}
