/**
 * The SQLite schema, mapped once from snake_case columns to camelCase fields.
 * drizzle-kit generates the migrations in `drizzle/` from this file.
 *
 * Times are integers in milliseconds since the Unix epoch: cheap to compare
 * and to index, and exact.
 *
 * Indexes for the query API, chosen by reading `EXPLAIN QUERY PLAN` (the
 * plans are asserted in test/store/query-plans.test.ts):
 *
 * - Event lists are newest first by `(received_at, seq)`. Each filter has an
 *   index `(column, received_at)`, which SQLite extends with the rowid `seq`:
 *   one range seek serves the filter, the `since`/`until` window and the
 *   keyset cursor, in list order, so a deep page costs what the first one
 *   does. With several filters the most selective index is chosen by the
 *   query (contactId, then email, then type); the others are checked per row.
 * - Outbox and delivery lists are newest first by `id`. Their filters have
 *   partial indexes that leave out the rows most of the table is made of
 *   (`done` outbox rows, `200` and `accepted` deliveries): those rows cost
 *   nothing to index at ingest, and a list of them walks the primary key,
 *   where most rows match.
 */
import { sql } from "drizzle-orm";
import {
  blob,
  check,
  index,
  integer,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** Every accepted event, once per `eventId`, with its raw body byte for byte. */
export const events = sqliteTable(
  "events",
  {
    /** Receipt order; the cursor of event lists. */
    seq: integer("seq").primaryKey(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    contactId: text("contact_id"),
    email: text("email"),
    status: text("status"),
    /** `createdAt` exactly as the payload gave it. */
    createdAtRaw: text("created_at_raw"),
    /** `createdAt` as a time, where it parses. */
    createdAt: integer("created_at"),
    receivedAt: integer("received_at").notNull(),
    sourceIp: text("source_ip"),
    requestId: text("request_id"),
    rawBody: blob("raw_body", { mode: "buffer" }).notNull(),
  },
  (table) => [
    uniqueIndex("events_event_id_unique").on(table.eventId),
    index("events_received_at_idx").on(table.receivedAt),
    index("events_type_received_at_idx").on(table.type, table.receivedAt),
    index("events_email_received_at_idx").on(table.email, table.receivedAt),
    index("events_contact_id_received_at_idx").on(table.contactId, table.receivedAt),
  ],
);

/** Outbox row states; the worker's module header describes the transitions. */
export const OUTBOX_STATES = ["pending", "processing", "done", "dead"] as const;

/** One row per (event, handler), written in the same transaction as the event. */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey(),
    eventSeq: integer("event_seq")
      .notNull()
      .references(() => events.seq, { onDelete: "cascade" }),
    handler: text("handler").notNull(),
    state: text("state", { enum: OUTBOX_STATES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** When the row is next due (pending) or when its lease ends (processing). */
    runAt: integer("run_at").notNull(),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    uniqueIndex("outbox_event_handler_unique").on(table.eventSeq, table.handler),
    index("outbox_state_run_at_idx").on(table.state, table.runAt),
    index("outbox_unfinished_state_idx").on(table.state).where(sql`state <> 'done'`),
    check(
      "outbox_state_check",
      sql.raw(`state IN (${OUTBOX_STATES.map((state) => `'${state}'`).join(", ")})`),
    ),
  ],
);

/** Outcomes recorded in the delivery log. */
export const DELIVERY_OUTCOMES = ["accepted", "duplicate", "rejected", "unavailable"] as const;

/** One row per request to the webhook endpoint, whatever its answer. */
export const deliveries = sqliteTable(
  "deliveries",
  {
    id: integer("id").primaryKey(),
    receivedAt: integer("received_at").notNull(),
    requestId: text("request_id").notNull(),
    sourceIp: text("source_ip"),
    method: text("method").notNull(),
    /** The request path with any secret masked. */
    path: text("path").notNull(),
    status: integer("status").notNull(),
    outcome: text("outcome", { enum: DELIVERY_OUTCOMES }).notNull(),
    /** Why a request was refused: the error code and, for failed checks, the precise reason. */
    reason: text("reason"),
    eventId: text("event_id"),
    bodyBytes: integer("body_bytes"),
    latencyMs: real("latency_ms").notNull(),
  },
  // Lists, retention and the last-24-hours counts go by `id`, which follows
  // receipt order: no index on `received_at`.
  (table) => [
    index("deliveries_unusual_status_idx").on(table.status).where(sql`status <> 200`),
    index("deliveries_unusual_outcome_idx").on(table.outcome).where(sql`outcome <> 'accepted'`),
  ],
);

/** Settings the program keeps for itself, e.g. the generated admin token. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
