/**
 * A fresh world for worker tests: a temporary migrated SQLite file, events
 * stored through the real ingest writer (with their outbox rows), a manual
 * clock, captured logs, and workers built over the writing connection as
 * the writer thread builds them.
 */
import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig, type WorkerConfig } from "../../src/config.ts";
import { parseEventPayload } from "../../src/http/payload.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { openDatabase } from "../../src/store/database.ts";
import { createIngestWriter, type IngestWriter } from "../../src/store/ingest-writer.ts";
import type { IncomingEvent } from "../../src/store/types.ts";
import type { Handler } from "../../src/worker/handler.ts";
import { createSubscribersHandler } from "../../src/worker/handlers/subscribers.ts";
import { createOutboxWorker, type OutboxWorker } from "../../src/worker/outbox-worker.ts";
import { createManualClock, type ManualClock } from "./manual-clock.ts";
import type { LogLine } from "./world.ts";

export interface WorkerWorld {
  readonly dir: string;
  /** The writing connection (the worker's). */
  readonly sqlite: Database;
  readonly clock: ManualClock;
  readonly log: Logger;
  readonly logs: LogLine[];
  /** The configuration from the defaults and `env`, as the program would load it. */
  config(env?: Record<string, string>): Config;
  /** The worker settings from the defaults and `env` (`WORKER_*` variables). */
  settings(env?: Record<string, string>): WorkerConfig;
  /**
   * Stores events (objects are serialised; strings are raw bodies) with one
   * outbox row per handler, received at the clock's time; returns their seqs.
   */
  store(
    events: readonly (Record<string, unknown> | string)[],
    handlers?: readonly string[],
    contentType?: string,
  ): number[];
  /** A worker over this world's connection and clock. */
  worker(options?: WorkerOptions): OutboxWorker;
  rows<T = Record<string, unknown>>(sql: string, ...params: (string | number | null)[]): T[];
  /** The outbox rows of `handler`, by id. */
  outbox(handler?: string): OutboxRow[];
  close(): void;
}

export interface WorkerOptions {
  readonly handlers?: readonly Handler[];
  readonly env?: Record<string, string>;
  readonly random?: () => number;
}

export interface OutboxRow {
  id: number;
  event_seq: number;
  handler: string;
  state: string;
  attempts: number;
  run_at: number;
  last_error: string | null;
  result: string | null;
}

export function createWorkerWorld(): WorkerWorld {
  const dir = mkdtempSync(join(tmpdir(), "maildesk-worker-"));
  const { sqlite } = openDatabase(join(dir, "maildesk.db"), { busyTimeoutMs: 1000 });
  // Starts at the real time: forwarded requests carry it, and their
  // receivers check it against their own clock.
  const clock = createManualClock(Date.now());
  const logs: LogLine[] = [];
  const log = createLogger(
    { level: "debug", format: "json" },
    { write: (line: string) => logs.push(JSON.parse(line)) },
  );
  const writers = new Map<string, IngestWriter>();

  function ingestWriter(handlers: readonly string[]): IngestWriter {
    const key = handlers.join(",");
    let writer = writers.get(key);
    if (!writer) {
      writer = createIngestWriter(sqlite, { handlers, log, now: clock.now });
      writers.set(key, writer);
    }
    return writer;
  }

  const world: WorkerWorld = {
    dir,
    sqlite,
    clock,
    log,
    logs,
    config: (env = {}) => loadConfig({ WEBHOOK_VERIFIERS: "none", ...env }),
    settings: (env = {}) => world.config(env).worker,

    store(events, handlers = ["subscribers"], contentType = "application/json") {
      const writer = ingestWriter(handlers);
      const incoming = events.map((event) => toIncoming(event, clock.now(), contentType));
      const before =
        (sqlite.query("SELECT max(seq) AS n FROM events").get() as { n: number | null }).n ?? 0;
      writer.enqueue({ events: incoming, deliveries: [], reply: () => {} });
      writer.flushNow();
      return (
        sqlite.query("SELECT seq FROM events WHERE seq > ? ORDER BY seq").all(before) as {
          seq: number;
        }[]
      ).map((row) => row.seq);
    },

    worker(options = {}) {
      return createOutboxWorker({
        sqlite,
        handlers: options.handlers ?? [createSubscribersHandler(sqlite)],
        settings: world.settings(options.env),
        log,
        clock,
        random: options.random,
      });
    },

    rows(sql, ...params) {
      return sqlite.query(sql).all(...params) as never[];
    },

    outbox(handler) {
      const rows = world.rows<OutboxRow>(
        "SELECT id, event_seq, handler, state, attempts, run_at, last_error, result FROM outbox ORDER BY id",
      );
      return handler === undefined ? rows : rows.filter((row) => row.handler === handler);
    },

    close() {
      for (const writer of writers.values()) writer.close();
      sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** An event as the ingest route hands it to the writer. */
function toIncoming(
  event: Record<string, unknown> | string,
  receivedAt: number,
  contentType: string,
): IncomingEvent {
  const rawBody = new TextEncoder().encode(
    typeof event === "string" ? event : JSON.stringify(event),
  );
  const fields = parseEventPayload(rawBody);
  return {
    ...fields,
    receivedAt,
    sourceIp: "192.0.2.1",
    requestId: `req-${fields.eventId}`,
    contentType,
    rawBody,
  };
}

/** Lets the event loop run `count` turns (no time passes on the manual clock). */
export async function turns(count = 1): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Lets turns pass until `condition` holds; fails after 1000 turns. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await turns();
  }
  throw new Error("the condition did not come true within 1000 turns");
}
