/**
 * Replay and retries: the writes an operator asks of the outbox, run as
 * writer commands (from the query API or the CLI) on the writing connection.
 *
 * - **Replay** an event: every handler that is on runs it again. Its rows
 *   are reset in place (pending, due now, attempts 0, result cleared; the
 *   last error is kept until an attempt replaces it), whatever their state,
 *   except rows an attempt holds right now (`processing`): those are left
 *   to finish. A handler that is on but has no row for the event (say
 *   forwarding was turned on since) gets one. Rows stay one per (event,
 *   handler), so the outbox never grows by replaying.
 * - **Retry** a dead row, or **retry all dead rows** (of one handler): back
 *   to pending, due now, attempts 0, so that it gets the full schedule
 *   again. A row in any other state is left alone.
 *
 * Each runs in one short `BEGIN IMMEDIATE` transaction; in a CLI process
 * beside a running server the busy timeout covers the brief lock.
 */
import type { Database } from "bun:sqlite";
import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import * as schema from "../store/schema.ts";
import type { ReplayResult, RetryRowResult } from "../store/types.ts";
import type { Clock } from "./clock.ts";

const { events, outbox } = schema;

/** The states a replay resets; `processing` rows are left to their attempt. */
const REPLAYABLE_STATES = ["pending", "done", "dead"] as const;

export interface OutboxCommands {
  replayEvent(eventId: string): ReplayResult;
  retryRow(outboxId: number): RetryRowResult;
  retryDead(handler?: string): { retried: number };
}

/** Creates the commands; `handlers` are the handlers that are on. */
export function createOutboxCommands(
  sqlite: Database,
  handlers: readonly string[],
  clock: Clock,
): OutboxCommands {
  const db = drizzle({ client: sqlite, schema });
  const backToPending = (now: number) =>
    ({ state: "pending", attempts: 0, runAt: now, result: null, updatedAt: now }) as const;

  return {
    replayEvent(eventId) {
      return db.transaction(
        (tx): ReplayResult => {
          const event = tx
            .select({ seq: events.seq })
            .from(events)
            .where(eq(events.eventId, eventId))
            .get();
          if (!event) return { found: false };

          const now = clock.now();
          const reset = tx
            .update(outbox)
            .set(backToPending(now))
            .where(and(eq(outbox.eventSeq, event.seq), inArray(outbox.state, REPLAYABLE_STATES)))
            .returning({ id: outbox.id })
            .all().length;
          const added =
            handlers.length === 0
              ? 0
              : tx
                  .insert(outbox)
                  .values(
                    handlers.map((handler) => ({
                      eventSeq: event.seq,
                      handler,
                      runAt: now,
                      createdAt: now,
                      updatedAt: now,
                    })),
                  )
                  .onConflictDoNothing()
                  .returning({ id: outbox.id })
                  .all().length;
          const processing = tx
            .select({ id: outbox.id })
            .from(outbox)
            .where(and(eq(outbox.eventSeq, event.seq), eq(outbox.state, "processing")))
            .all().length;
          return { found: true, reset, added, processing };
        },
        { behavior: "immediate" },
      );
    },

    retryRow(outboxId) {
      return db.transaction(
        (tx): RetryRowResult => {
          const row = tx
            .select({ state: outbox.state })
            .from(outbox)
            .where(eq(outbox.id, outboxId))
            .get();
          if (!row) return { found: false };
          if (row.state !== "dead") return { found: true, retried: false, state: row.state };

          tx.update(outbox).set(backToPending(clock.now())).where(eq(outbox.id, outboxId)).run();
          return { found: true, retried: true, state: "pending" };
        },
        { behavior: "immediate" },
      );
    },

    retryDead(handler) {
      const dead = eq(outbox.state, "dead");
      return db.transaction(
        (tx) => {
          const retried = tx
            .update(outbox)
            .set(backToPending(clock.now()))
            .where(handler === undefined ? dead : and(dead, eq(outbox.handler, handler)))
            .returning({ id: outbox.id })
            .all().length;
          return { retried };
        },
        { behavior: "immediate" },
      );
    },
  };
}
