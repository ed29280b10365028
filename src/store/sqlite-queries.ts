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
import { and, desc, eq, gte, lt, lte, type SQL, sql } from "drizzle-orm";
import { decodeCursor, decodeIdCursor, encodeCursor } from "./cursor.ts";
import type { OpenDatabase } from "./database.ts";
import { deliveries, events, outbox } from "./schema.ts";
import type {
  DeliveryEntry,
  DeliveryFilter,
  EventFilter,
  EventSummary,
  OutboxFilter,
  OutboxState,
  Page,
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
      const after =
        page.cursor === undefined
          ? undefined
          : (decodeCursor("e", page.cursor, 2) as [number, number]);
      const conditions = eventConditions(filter, after);
      const rows = db
        .select(eventSummaryColumns)
        .from(events)
        .where(and(...conditions))
        .orderBy(desc(events.receivedAt), desc(events.seq))
        .limit(page.limit + 1)
        .all();
      return toPage(
        rows,
        page.limit,
        ({ seq, ...event }) => event as EventSummary,
        (last) => encodeCursor("e", [last.receivedAt, last.seq]),
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
        conditions.push(lt(outbox.id, decodeIdCursor("o", page.cursor)));
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
        (row) => row,
        (last) => encodeCursor("o", [last.id]),
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
        conditions.push(lt(deliveries.id, decodeIdCursor("d", page.cursor)));
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
        (row) => row as DeliveryEntry,
        (last) => encodeCursor("d", [last.id]),
      );
    },

    count(deliveriesSince) {
      const eventsByType: Record<string, number> = {};
      for (const row of db
        .select({ type: events.type, n: sql<number>`count(*)` })
        .from(events)
        .groupBy(events.type)
        .all()) {
        eventsByType[row.type] = row.n;
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
      return { eventsByType, outboxByState, unfinishedByHandler, deliveriesByOutcome };
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

export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorOf: (row: Row) => string,
): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  return {
    items: pageRows.map(toItem),
    nextCursor: hasMore ? cursorOf(pageRows[pageRows.length - 1] as Row) : null,
  };
}

/** The conditions of an event page; `after` is the cursor's `(receivedAt, seq)`. */
function eventConditions(filter: EventFilter, after?: readonly [number, number]): SQL[] {
  // The first of these that is given picks the index; the others are checked per row.
  const equalities = [
    [events.contactId, filter.contactId],
    [events.email, filter.email],
    [events.type, filter.type],
  ] as const;
  const conditions: SQL[] = [];
  let indexChosen = false;
  for (const [column, value] of equalities) {
    if (value === undefined) continue;
    conditions.push(indexChosen ? sql`+${column} = ${value}` : sql`${column} = ${value}`);
    indexChosen = true;
  }
  if (filter.since !== undefined) conditions.push(gte(events.receivedAt, filter.since));
  if (after === undefined) {
    if (filter.until !== undefined) conditions.push(lt(events.receivedAt, filter.until));
    return conditions;
  }

  // SQLite bounds its index range by one upper bound only, and takes `until`
  // over the row value: a deep page would walk from `until` down to the
  // cursor. So the tighter of the two is written as the plain bound.
  const [receivedAt, seq] = after;
  conditions.push(
    filter.until !== undefined && filter.until <= receivedAt
      ? lt(events.receivedAt, filter.until)
      : lte(events.receivedAt, receivedAt),
  );
  conditions.push(sql`(${events.receivedAt}, ${events.seq}) < (${receivedAt}, ${seq})`);
  return conditions;
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
  const at = reader.sqlite.query<{ id: number; received_at: number }, [number]>(
    "SELECT id, received_at FROM deliveries WHERE id >= ? ORDER BY id LIMIT 1",
  );
  const last = reader.sqlite
    .query<{ id: number | null }, []>("SELECT max(id) AS id FROM deliveries")
    .get()?.id;
  if (last == null) return 0;

  let low = 0;
  let high = last + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const row = at.get(middle);
    if (row && row.received_at < since) low = row.id + 1;
    else high = middle;
  }
  return low;
}
