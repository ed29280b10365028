/**
 * The SQLite backend of `Store`: one file, one writing connection, the
 * group-commit ingest writer over it.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import {
  countAppliedMigrations,
  EMBEDDED_MIGRATION_COUNT,
  type OpenDatabase,
  openDatabase,
} from "./database.ts";
import { createIngestWriter } from "./ingest-writer.ts";
import type { Store, StoreReadiness } from "./types.ts";

/** Handlers that get an outbox row for every new event. */
export const ALWAYS_ON_HANDLERS = ["subscribers"] as const;

export interface SqliteStore extends Store {
  /** The open database, for the worker and the query API of this backend. */
  readonly database: OpenDatabase;
}

/** Opens the database at `config.databasePath`, migrates it and builds the store. */
export function createSqliteStore(
  config: Pick<Config, "databasePath" | "sqliteBusyTimeoutMs" | "ingest">,
  log: Logger,
  hooks: { onEventsCommitted?: (count: number) => void } = {},
): SqliteStore {
  const database = openDatabase(config.databasePath, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
  log.info(
    { component: "store", path: config.databasePath, migrations: database.migrationsApplied },
    "database open",
  );

  const ingest = createIngestWriter(database.sqlite, {
    handlers: ALWAYS_ON_HANDLERS,
    maxPending: config.ingest.maxPending,
    maxPendingBytes: config.ingest.maxPendingBytes,
    log: log.child({ component: "ingest-writer" }),
    onEventsCommitted: hooks.onEventsCommitted,
  });

  function checkReadiness(): StoreReadiness {
    const expected = EMBEDDED_MIGRATION_COUNT;
    try {
      const applied = countAppliedMigrations(database.sqlite);
      return { ok: applied >= expected, database: "ok", migrations: { applied, expected } };
    } catch {
      return { ok: false, database: "unreachable", migrations: { applied: 0, expected } };
    }
  }

  return {
    database,
    ingest,
    checkReadiness,
    async close() {
      await ingest.close();
      database.sqlite.close();
    },
  };
}
