/** `migrate`: applies the database migrations this build carries, and exits. */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { countAppliedMigrations, openDatabase } from "../store/database.ts";
import { type CliCommand, EXIT_OK, loadCommandConfig, parseCommandLine, say } from "./command.ts";

export const migrateCommand: CliCommand = {
  usage: `Usage: maildesk-receiver migrate

Creates the database file (and its folder) if needed and applies the
migrations this build carries that it lacks, then exits. serve does the same
at every start, so this is needed only to migrate ahead of a start, e.g.
after replacing the binary.`,

  async run(args, env) {
    parseCommandLine(args, {});
    const config = loadCommandConfig(env);

    const before = countMigrationsIn(config.databasePath);
    const { sqlite, migrationsApplied } = openDatabase(config.databasePath, {
      busyTimeoutMs: config.sqliteBusyTimeoutMs,
    });
    sqlite.close();

    const added = migrationsApplied - before;
    say(
      `${config.databasePath}: ${added === 0 ? "up to date" : `${added} migration(s) applied`}; ` +
        `${migrationsApplied} in all`,
    );
    return EXIT_OK;
  },
};

/** Migrations recorded in the file at `path`; 0 for a new file or one never migrated. */
function countMigrationsIn(path: string): number {
  if (!existsSync(path)) return 0;
  // Not read-only: that would leave -wal and -shm files behind.
  const sqlite = new Database(path, { readwrite: true, create: false });
  try {
    return countAppliedMigrations(sqlite);
  } catch {
    return 0;
  } finally {
    sqlite.close();
  }
}
