/**
 * The store of a command that runs beside a server: the writer inline in
 * this process, on its own connection to the same file. A server may be
 * running on it at the same time; each command holds the write lock for a
 * short transaction, which the server's busy timeout covers, and the
 * server's worker finds what changed at its next poll.
 */
import type { Config } from "../config.ts";
import { createSqliteStore, type SqliteStore } from "../store/sqlite-store.ts";
import { createWriterComponents } from "../writer-components.ts";
import { createCommandLogger } from "./command.ts";

/**
 * Opens the store (applying migrations), runs `task` on it without the
 * outbox worker's loop, and closes it whatever happens.
 */
export async function withInlineStore<T>(
  config: Config,
  task: (store: SqliteStore) => Promise<T>,
): Promise<T> {
  const store = await createSqliteStore(
    config,
    createCommandLogger(config),
    { kind: "inline", components: createWriterComponents },
    { runWorker: false },
  );
  try {
    return await task(store);
  } finally {
    await store.close();
  }
}
