/**
 * Opens the SQLite file and brings its schema up to date.
 *
 * The program keeps one writing connection, in the writer thread: every write
 * (ingest, delivery log, worker) goes through it, so SQLite never has two
 * writers in this process competing for its lock. bun:sqlite is synchronous, so
 * a transaction begun and committed in one call cannot interleave with another.
 * The HTTP thread opens the file first, applies the migrations, and keeps its
 * connection for reading only (`queryOnly`).
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import type { MigrationMeta } from "drizzle-orm/migrator";
import type { SQLiteSession, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { readEmbeddedMigrations } from "./embedded-migrations.ts" with { type: "macro" };
import * as schema from "./schema.ts";

/** The typed Drizzle handle over the writing connection. */
export type Db = BunSQLiteDatabase<typeof schema>;

/** An open database: the raw connection (for PRAGMAs and close) and Drizzle over it. */
export interface OpenDatabase {
  readonly sqlite: Database;
  readonly db: Db;
  readonly migrationsApplied: number;
}

const MIGRATIONS: MigrationMeta[] = readEmbeddedMigrations();

export interface OpenOptions {
  readonly busyTimeoutMs: number;
  /** Apply the embedded migrations (default). The writer thread opens a migrated file. */
  readonly migrate?: boolean;
  /** Refuse writes on this connection: the HTTP thread's reading connection. */
  readonly queryOnly?: boolean;
}

/**
 * Opens (creating if needed) the database at `path`, sets its PRAGMAs and applies
 * the embedded migrations.
 */
export function openDatabase(path: string, options: OpenOptions): OpenDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path, { create: true, strict: true });

  // WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL at
  // every commit, which is what makes an acknowledged event survive power loss.
  // The busy timeout covers other processes (a backup, the CLI) holding the lock.
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA synchronous = FULL");
  sqlite.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  sqlite.exec("PRAGMA foreign_keys = ON");

  const db = drizzle({ client: sqlite, schema });
  if (options.migrate !== false) applyMigrations(db);
  if (options.queryOnly) sqlite.exec("PRAGMA query_only = ON");
  return { sqlite, db, migrationsApplied: countAppliedMigrations(sqlite) };
}

/** How many migrations this build carries. */
export const EMBEDDED_MIGRATION_COUNT = MIGRATIONS.length;

/** The hash of each migration this build carries, in order (as recorded once applied). */
export const EMBEDDED_MIGRATION_HASHES: readonly string[] = MIGRATIONS.map((m) => m.hash);

function applyMigrations(db: Db): void {
  // drizzle's own migrator reads a folder from disk; its dialect runs the same
  // logic over migrations we embedded at build time (see embedded-migrations.ts).
  const { dialect, session } = db as unknown as {
    dialect: SQLiteSyncDialect;
    session: SQLiteSession<"sync", unknown, typeof schema, never>;
  };
  dialect.migrate(MIGRATIONS, session, { migrationsFolder: "(embedded)" });
}

/** Counts the migrations recorded in the database. */
export function countAppliedMigrations(sqlite: Database): number {
  const row = sqlite.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
  return row.n;
}
