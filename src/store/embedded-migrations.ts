/**
 * A Bun macro: runs when the code is transpiled (from source, under test, or by
 * `bun build --compile`), reads `drizzle/` there, and inlines its migrations
 * into the code. A compiled binary therefore carries its migrations and needs
 * no folder at run time. Hashes are computed exactly as drizzle's own migrator
 * does, so databases migrated by either stay compatible.
 */
import { resolve } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";

/** The migrations in `drizzle/`, read at transpile time. */
export function readEmbeddedMigrations() {
  return readMigrationFiles({ migrationsFolder: resolve(import.meta.dir, "../../drizzle") });
}
