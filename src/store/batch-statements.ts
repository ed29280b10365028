/**
 * Multi-row statements for the ingest writer's hot path.
 *
 * A batch is written with one `INSERT … VALUES (…), (…), …` per chunk instead
 * of one statement per row: measured here, that halves the cost per event
 * (about 8 µs instead of 15 µs for the event, its outbox row and its delivery
 * row). Drizzle builds such statements anew on every call, so these are raw
 * SQL prepared once per chunk size; column names still come from the Drizzle
 * schema, which stays the one description of the tables.
 */
import type { Database, Statement } from "bun:sqlite";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { deliveries, events, outbox } from "./schema.ts";
import type { DeliveryRecord, IncomingEvent } from "./types.ts";

/** Event fields written at ingest, in column order. */
const EVENT_FIELDS = [
  "eventId",
  "type",
  "contactId",
  "email",
  "status",
  "createdAtRaw",
  "createdAt",
  "receivedAt",
  "sourceIp",
  "requestId",
  "contentType",
  "rawBody",
] as const satisfies readonly (keyof IncomingEvent & keyof typeof events)[];

/** Delivery-log fields, in column order. */
const DELIVERY_FIELDS = [
  "receivedAt",
  "requestId",
  "sourceIp",
  "method",
  "path",
  "status",
  "outcome",
  "reason",
  "eventId",
  "bodyBytes",
  "latencyMs",
] as const satisfies readonly (keyof DeliveryRecord & keyof typeof deliveries)[];

/** Chunk sizes: a batch is cut into the largest that fit, so few statements are prepared. */
const CHUNK_SIZES = [256, 64, 16, 4, 1] as const;

function columnList<T extends object>(table: T, fields: readonly (keyof T)[]): string {
  return fields.map((field) => `"${(table[field] as SQLiteColumn).name}"`).join(", ");
}

function valuesClause(rows: number, columns: number): string {
  const row = `(${Array(columns).fill("?").join(", ")})`;
  return Array(rows).fill(row).join(", ");
}

/** A row inserted by `insertEvents`. */
export interface InsertedEvent {
  readonly seq: number;
  readonly eventId: string;
}

/** The prepared statements of the writer, over one connection. */
export interface BatchStatements {
  /** Inserts the events that are new; returns those it inserted. */
  insertEvents(batch: readonly IncomingEvent[]): InsertedEvent[];
  /** Adds one outbox row per handler for every event with `seq >= firstSeq`. */
  insertOutboxRows(firstSeq: number, handlers: readonly string[], at: number): void;
  insertDeliveries(rows: readonly DeliveryRecord[]): void;
  /** The stored raw body of an event, or `null`. */
  selectRawBody(eventId: string): Uint8Array | null;
  /** The receipt time of the newest event, or `null` when there is none. */
  selectLastReceivedAt(): number | null;
}

type EventInsertStatement = Statement<{ seq: number; event_id: string }>;

/** Prepares the writer's statements. */
export function prepareBatchStatements(sqlite: Database): BatchStatements {
  const eventColumns = columnList(events, EVENT_FIELDS);
  const deliveryColumns = columnList(deliveries, DELIVERY_FIELDS);
  const eventStatements = new Map<number, EventInsertStatement>();
  const deliveryStatements = new Map<number, Statement>();
  for (const size of CHUNK_SIZES) {
    eventStatements.set(
      size,
      sqlite.prepare(
        `INSERT INTO events (${eventColumns}) VALUES ${valuesClause(size, EVENT_FIELDS.length)} ` +
          `ON CONFLICT ("${events.eventId.name}") DO NOTHING ` +
          `RETURNING "${events.seq.name}" AS seq, "${events.eventId.name}" AS event_id`,
      ),
    );
    deliveryStatements.set(
      size,
      sqlite.prepare(
        `INSERT INTO deliveries (${deliveryColumns}) ` +
          `VALUES ${valuesClause(size, DELIVERY_FIELDS.length)}`,
      ),
    );
  }

  // Rows of this transaction are the newest, so "seq >= the first new seq"
  // selects exactly the events it inserted (INTEGER PRIMARY KEY grows).
  const insertOutbox = sqlite.prepare(
    `INSERT INTO outbox ("${outbox.eventSeq.name}", "${outbox.handler.name}", ` +
      `"${outbox.runAt.name}", "${outbox.createdAt.name}", "${outbox.updatedAt.name}") ` +
      `SELECT "${events.seq.name}", ?1, ?2, ?2, ?2 FROM events WHERE "${events.seq.name}" >= ?3`,
  );
  const selectBody = sqlite.prepare<{ raw_body: Uint8Array }, [string]>(
    `SELECT "${events.rawBody.name}" AS raw_body FROM events WHERE "${events.eventId.name}" = ?`,
  );

  const selectLastReceived = sqlite.prepare<{ received_at: number }, []>(
    `SELECT "${events.receivedAt.name}" AS received_at FROM events ` +
      `ORDER BY "${events.seq.name}" DESC LIMIT 1`,
  );

  return {
    selectLastReceivedAt() {
      return selectLastReceived.get()?.received_at ?? null;
    },

    insertEvents(batch) {
      const inserted: InsertedEvent[] = [];
      forEachChunk(batch, (chunk, size) => {
        const statement = eventStatements.get(size) as EventInsertStatement;
        for (const row of statement.all(...flatten(chunk, EVENT_FIELDS))) {
          inserted.push({ seq: row.seq, eventId: row.event_id });
        }
      });
      return inserted;
    },

    insertOutboxRows(firstSeq, handlers, at) {
      for (const handler of handlers) insertOutbox.run(handler, at, firstSeq);
    },

    insertDeliveries(rows) {
      forEachChunk(rows, (chunk, size) => {
        (deliveryStatements.get(size) as Statement).run(...flatten(chunk, DELIVERY_FIELDS));
      });
    },

    selectRawBody(eventId) {
      return selectBody.get(eventId)?.raw_body ?? null;
    },
  };
}

/** The rows' fields, row after row, as one parameter list. */
function flatten<T, K extends keyof T>(rows: readonly T[], fields: readonly K[]) {
  const params: T[K][] = new Array(rows.length * fields.length);
  let i = 0;
  for (const row of rows) {
    for (const field of fields) params[i++] = row[field];
  }
  return params as never[];
}

function forEachChunk<T>(items: readonly T[], write: (chunk: readonly T[], size: number) => void) {
  let offset = 0;
  for (const size of CHUNK_SIZES) {
    while (items.length - offset >= size) {
      write(items.slice(offset, offset + size), size);
      offset += size;
    }
  }
}
