/**
 * `backup <file> [--force]`: a consistent copy of the database, taken while
 * the server runs.
 *
 * `VACUUM INTO` reads one snapshot of the database (a read transaction:
 * the server goes on writing beside it in WAL mode) and writes it out as a
 * compact database file of its own, WAL content included. SQLite does not
 * fsync that file, so this does, then moves it into place with a rename
 * (or, without `--force`, a hard link, which fails if the name is taken):
 * a crash part-way leaves the temporary file, never a half-written backup
 * under the given name.
 */
import { Database } from "bun:sqlite";
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import {
  type CliCommand,
  complain,
  EXIT_FAILURE,
  EXIT_OK,
  loadCommandConfig,
  parseCommandLine,
  say,
} from "./command.ts";

export const backupCommand: CliCommand = {
  usage: `Usage: maildesk-receiver backup <file> [--force]

Writes a consistent copy of the database (DATABASE_URL) to <file>, while
the server runs: SQLite's VACUUM INTO reads one snapshot, and the server
goes on receiving and processing events meanwhile. The copy is a complete
database, ready for DATABASE_URL; it is checked (PRAGMA quick_check) and
its events counted before this reports success.

Options:
  --force    Replace <file> if it exists (otherwise that is refused).

Exit code 1 when there is no database yet, <file> exists, or the copy fails.`,

  async run(args, env) {
    const { values, positionals } = parseCommandLine(
      args,
      { force: { type: "boolean" } },
      { min: 1, max: 1 },
    );
    const target = resolve(positionals[0] as string);
    const config = loadCommandConfig(env);

    if (!existsSync(config.databasePath)) {
      complain(`backup: there is no database at ${config.databasePath} (DATABASE_URL)`);
      return EXIT_FAILURE;
    }
    if (existsSync(target) && !values.force) {
      complain(`backup: ${target} exists; give --force to replace it`);
      return EXIT_FAILURE;
    }
    if (resolve(config.databasePath) === target) {
      complain("backup: the target is the database itself");
      return EXIT_FAILURE;
    }

    const temporary = `${target}.partial-${process.pid}`;
    try {
      copyDatabase(config.databasePath, temporary, config.sqliteBusyTimeoutMs);
      const { events } = checkCopy(temporary);
      syncFile(temporary);
      publish(temporary, target, values.force === true);
      syncFile(dirname(target));
      say(`backup written: ${target} (${statSync(target).size} bytes, ${events} events)`);
      return EXIT_OK;
    } catch (error) {
      complain(`backup: failed: ${(error as Error).message}`);
      return EXIT_FAILURE;
    } finally {
      rmSync(temporary, { force: true });
    }
  },
};

function copyDatabase(source: string, target: string, busyTimeoutMs: number): void {
  // Read-write, though VACUUM INTO only reads the source (query_only would
  // refuse it all the same): a read-only connection to a stopped server's
  // database leaves -wal and -shm files behind, owned by whoever ran this,
  // which the server may then be unable to open. As the last connection,
  // this one removes them when it closes.
  const sqlite = new Database(source, { readwrite: true, create: false });
  try {
    sqlite.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    sqlite.query("VACUUM INTO ?").run(target);
  } finally {
    sqlite.close();
  }
}

/** Opens the copy on its own: it must be a sound database holding the events table. */
function checkCopy(path: string): { events: number } {
  const sqlite = new Database(path, { readonly: true });
  try {
    const check = sqlite.query("PRAGMA quick_check").get() as { quick_check: string };
    if (check.quick_check !== "ok")
      throw new Error(`the copy fails quick_check: ${check.quick_check}`);
    const { n } = sqlite.query("SELECT count(*) AS n FROM events").get() as { n: number };
    return { events: n };
  } finally {
    sqlite.close();
  }
}

function publish(temporary: string, target: string, replace: boolean): void {
  if (replace) {
    renameSync(temporary, target);
    return;
  }
  // link() fails with EEXIST if the name was taken since the check above.
  linkSync(temporary, target);
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
