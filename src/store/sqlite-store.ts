/**
 * The SQLite backend of `Store`: one file; the writer (its only writing
 * connection, the group-commit ingest writer and the components beside it)
 * in a thread of its own; a reading connection in the calling thread for
 * readiness and queries.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { enabledHandlerNames } from "../worker/handlers/names.ts";
import { createAdminTokenStore } from "./admin-token-store.ts";
import {
  countAppliedMigrations,
  EMBEDDED_MIGRATION_COUNT,
  type OpenDatabase,
  openDatabase,
} from "./database.ts";
import { createIngestClient } from "./ingest-client.ts";
import { createSqliteQueries } from "./sqlite-queries.ts";
import { createSqliteSubscribers } from "./sqlite-subscribers.ts";
import type {
  OutboxControl,
  ReplayResult,
  RetryRowResult,
  Store,
  StoreReadiness,
  WorkerStatus,
} from "./types.ts";
import { createWriterLink, type WriterLink, type WriterPlacement } from "./writer-link.ts";
import { OUTBOX_COMMANDS } from "./writer-protocol.ts";

export interface SqliteStore extends Store {
  /** The reading connection of this thread, for queries. */
  readonly reader: OpenDatabase;
  readonly writer: WriterLink;
}

export interface SqliteStoreOptions {
  /** Run the outbox worker beside the writer (default); the CLI only runs commands. */
  readonly runWorker?: boolean;
}

/**
 * Opens the database at `config.databasePath`, applies the migrations, starts
 * the writer and resolves once it is ready.
 */
export async function createSqliteStore(
  config: Config,
  log: Logger,
  placement: WriterPlacement,
  options: SqliteStoreOptions = {},
): Promise<SqliteStore> {
  const reader = openDatabase(config.databasePath, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
  reader.sqlite.exec("PRAGMA query_only = ON");
  log.info(
    { component: "store", path: config.databasePath, migrations: reader.migrationsApplied },
    "database open",
  );

  const ingest = createIngestClient(config.ingest);
  const writer = createWriterLink(
    placement,
    { config, handlers: enabledHandlerNames(config), runWorker: options.runWorker ?? true },
    ingest.listener,
    log,
  );
  ingest.attach(writer);
  try {
    await writer.ready;
  } catch (error) {
    reader.sqlite.close();
    throw error;
  }

  function checkReadiness(): StoreReadiness {
    const expected = EMBEDDED_MIGRATION_COUNT;
    let applied = 0;
    try {
      applied = countAppliedMigrations(reader.sqlite);
    } catch {
      return {
        ok: false,
        database: "unreachable",
        writer: writer.isUp() ? "up" : "down",
        migrations: { applied, expected },
      };
    }
    const writerUp = writer.isUp();
    return {
      ok: applied >= expected && writerUp,
      database: "ok",
      writer: writerUp ? "up" : "down",
      migrations: { applied, expected },
    };
  }

  // Typed wrappers over the worker's writer commands: callers never see SQLite.
  const outbox: OutboxControl = {
    replayEvent: (eventId) => writer.call<ReplayResult>(OUTBOX_COMMANDS.replay, { eventId }),
    retryRow: (outboxId) => writer.call<RetryRowResult>(OUTBOX_COMMANDS.retry, { outboxId }),
    retryDead: (filter = {}) =>
      writer.call<{ retried: number }>(OUTBOX_COMMANDS.retryDead, { handler: filter.handler }),
  };

  return {
    reader,
    writer,
    ingest: ingest.writer,
    queries: createSqliteQueries(reader),
    subscribers: createSqliteSubscribers(reader),
    adminToken: createAdminTokenStore(reader, writer),
    backgroundStatus: () => writer.status(),
    outbox,
    workerStatus: () => (writer.status()?.components.worker as WorkerStatus | undefined) ?? null,
    checkReadiness,
    async close() {
      await ingest.writer.close();
      // The writer's connection closes last: the last connection to close
      // checkpoints the WAL into the database and removes it.
      reader.sqlite.close();
      await writer.close();
    },
  };
}
