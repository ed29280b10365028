/**
 * The SQLite backend of `Store`: one file; the writer (its only writing
 * connection, the group-commit ingest writer and the components beside it)
 * in a thread of its own; a reading connection in the calling thread for
 * readiness and queries.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { createAdminTokenStore } from "./admin-token-store.ts";
import {
  countAppliedMigrations,
  EMBEDDED_MIGRATION_COUNT,
  type OpenDatabase,
  openDatabase,
} from "./database.ts";
import { createIngestClient } from "./ingest-client.ts";
import { createOutboxCommands } from "./outbox-commands.ts";
import { createSqliteQueries } from "./sqlite-queries.ts";
import type { Store, StoreReadiness } from "./types.ts";
import { createWriterLink, type WriterLink, type WriterPlacement } from "./writer-link.ts";

/** Handlers that get an outbox row for every new event. */
export const ALWAYS_ON_HANDLERS = ["subscribers"] as const;

export interface SqliteStore extends Store {
  /** The reading connection of this thread, for queries. */
  readonly reader: OpenDatabase;
  readonly writer: WriterLink;
}

/**
 * Opens the database at `config.databasePath`, applies the migrations, starts
 * the writer and resolves once it is ready.
 */
export async function createSqliteStore(
  config: Config,
  log: Logger,
  placement: WriterPlacement,
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
    { config, handlers: ALWAYS_ON_HANDLERS },
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

  return {
    reader,
    writer,
    ingest: ingest.writer,
    queries: createSqliteQueries(reader),
    outboxCommands: createOutboxCommands(writer),
    adminToken: createAdminTokenStore(reader, writer),
    backgroundStatus: () => writer.status(),
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
