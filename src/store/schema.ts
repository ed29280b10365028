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
 * - Every index on `events` is paid for by ingest, inside the commit that
 *   answers Maildesk: measured here, an index on a column of random values
 *   (`email`, `contact_id`) costs the writer about 16 µs per event, more
 *   than the event itself, because each insert dirties its own page, and
 *   even a `type` index (four values, four pages per commit) about 2.7 µs,
 *   a third of the rest. So `events` keeps only its unique `event_id`.
 * - Event lists are newest first by `seq` (receipt order). `received_at` is
 *   kept in the same order (the writer never stores a time older than the
 *   previous event's), so a `since`/`until` window is a range of `seq`, found
 *   by bisecting the primary key. Type, contact id and e-mail filters go
 *   through `event_keys`, which the worker fills beside the subscriber
 *   mirror, off the ingest path: an event is found by them once processed.
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
  primaryKey,
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
    /** When the request arrived; never earlier than the previous event's (see above). */
    receivedAt: integer("received_at").notNull(),
    sourceIp: text("source_ip"),
    requestId: text("request_id"),
    /** The request's `Content-Type`, sent again with the raw body when forwarding. */
    contentType: text("content_type"),
    rawBody: blob("raw_body", { mode: "buffer" }).notNull(),
  },
  (table) => [uniqueIndex("events_event_id_unique").on(table.eventId)],
);

/**
 * The type, contact id and e-mail of every event, for the event list's
 * filters and the counts by type: `type:<type>`, `id:<contact id>` and
 * `email:<address as sent>`, written by the worker
 * (see the index notes above). The primary key serves "the events of this
 * key, newest first". No foreign key: a cascade would need an index on
 * `event_seq` alone; retention deletes an event's keys by primary key.
 * Migration 0002 (custom) makes it a WITHOUT ROWID table: one B-tree, the
 * primary key, instead of a rowid table and an index of the same columns.
 */
export const eventKeys = sqliteTable(
  "event_keys",
  {
    key: text("key").notNull(),
    eventSeq: integer("event_seq").notNull(),
  },
  (table) => [primaryKey({ columns: [table.key, table.eventSeq] })],
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
    /** The error of the latest failed attempt; kept after a later success. */
    lastError: text("last_error"),
    /** What the latest completed attempt did, e.g. `applied` or `skipped: unknown type`. */
    result: text("result"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    uniqueIndex("outbox_event_handler_unique").on(table.eventSeq, table.handler),
    // The worker claims per handler: due rows of one state and handler, by
    // due time. Lists by state use the prefix.
    index("outbox_state_handler_run_at_idx").on(table.state, table.handler, table.runAt),
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

/**
 * The mirror of each contact, kept by the `subscribers` handler (its module
 * header, src/worker/handlers/subscribers.ts, states the rules).
 */
export const subscribers = sqliteTable(
  "subscribers",
  {
    /** A number for the history to reference: smaller and cheaper than the key. */
    id: integer("id").primaryKey(),
    /** `id:<contact id>`, or `email:<address, lower-cased>` for a contact without an id. */
    key: text("key").notNull(),
    contactId: text("contact_id"),
    email: text("email"),
    firstName: text("first_name"),
    lastName: text("last_name"),
    status: text("status"),
    /** `createdAt` exactly as the latest event carrying it gave it. */
    createdAtRaw: text("created_at_raw"),
    /** `createdAt` as a time, where it parses. */
    createdAt: integer("created_at"),
    /** The time of the latest `subscriber.confirmed` event. */
    confirmedAt: integer("confirmed_at"),
    /** The time of the latest `subscriber.unsubscribed` event. */
    unsubscribedAt: integer("unsubscribed_at"),
    /** The newest event applied (by event order, not by processing order). */
    lastEventId: text("last_event_id").notNull(),
    lastEventSeq: integer("last_event_seq").notNull(),
    lastEventType: text("last_event_type").notNull(),
    /** The time of that event: its ULID time, or its receipt time. */
    lastEventAt: integer("last_event_at").notNull(),
    /** The order key of that event (see the handler); compares as text. */
    lastEventOrder: text("last_event_order").notNull(),
    /** JSON: for each field, the order key of the event that last wrote it. */
    fieldOrders: text("field_orders").notNull(),
    /** When the worker last changed this row. */
    updatedAt: integer("updated_at").notNull(),
  },
  // Lists go newest contact first (by `id`); an index on one column also
  // holds the row id, so status and e-mail filters walk their index in that
  // order without a sort.
  (table) => [
    uniqueIndex("subscribers_key_unique").on(table.key),
    index("subscribers_status_idx").on(table.status),
    index("subscribers_email_idx").on(table.email),
  ],
);

/** How an event met its subscriber: the newest so far, or older than one already applied. */
export const HISTORY_OUTCOMES = ["applied", "stale"] as const;

/**
 * Every event the `subscribers` handler applied to a subscriber, once each.
 * It names the event rather than referencing it, so that pruning old events
 * leaves the history whole.
 */
export const subscriberEvents = sqliteTable(
  "subscriber_events",
  {
    subscriberId: integer("subscriber_id")
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    eventSeq: integer("event_seq").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    /** The event's time: its ULID time, or its receipt time. */
    eventAt: integer("event_at").notNull(),
    outcome: text("outcome", { enum: HISTORY_OUTCOMES }).notNull(),
    recordedAt: integer("recorded_at").notNull(),
  },
  // The primary key's index also serves "the history of a subscriber".
  (table) => [
    primaryKey({ columns: [table.subscriberId, table.eventSeq] }),
    check(
      "subscriber_events_outcome_check",
      sql.raw(`outcome IN (${HISTORY_OUTCOMES.map((outcome) => `'${outcome}'`).join(", ")})`),
    ),
  ],
);
