/**
 * When the writer copies the WAL back into the database file (a checkpoint).
 *
 * SQLite's own rule checkpoints inside the commit that takes the WAL past
 * 1,000 pages: that commit, and every request waiting on it, pays for
 * copying the pages and an fsync of the database file. The writer connection
 * raises that bound to AUTO_CHECKPOINT_PAGES and also checkpoints when it is
 * idle (nothing waits for a commit), at most every IDLE_CHECKPOINT_INTERVAL_MS.
 * Under light load the idle checkpoints keep the WAL small and no commit
 * pays for one; under a burst that leaves no idle moment, fewer and larger
 * checkpoints write a page that many commits changed once instead of many
 * times: measured with `bun run bench:ingest` at full load, about a third
 * more requests per second than the 1,000-page rule. The WAL stays under
 * about 40 MiB.
 *
 * Idle checkpoints are PASSIVE: a reader holding an old snapshot (a long API
 * query) is never waited for; what it still needs is copied by a later one.
 */
import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";

/** The writer connection's `wal_autocheckpoint`: the WAL's bound in pages under load. */
export const AUTO_CHECKPOINT_PAGES = 10_000;

/** Idle checkpoints at most this often. */
export const IDLE_CHECKPOINT_INTERVAL_MS = 1000;

export interface Checkpointer {
  /** Nothing waits for a commit: checkpoints unless one ran less than an interval ago. */
  whenIdle(now: number): void;
}

/** Sets the writing connection's bound and creates its idle checkpointer. */
export function createCheckpointer(sqlite: Database, log: Logger): Checkpointer {
  sqlite.exec(`PRAGMA wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  let lastAt = Number.NEGATIVE_INFINITY;

  return {
    whenIdle(now) {
      if (now - lastAt < IDLE_CHECKPOINT_INTERVAL_MS) return;
      lastAt = now;
      try {
        const [result] = sqlite.query("PRAGMA wal_checkpoint(PASSIVE)").all() as {
          log: number;
          checkpointed: number;
        }[];
        if (result && result.log > 0) {
          log.debug({ frames: result.log, copied: result.checkpointed }, "idle checkpoint");
        }
      } catch (error) {
        // A failed checkpoint loses nothing (the WAL keeps every frame); the next one retries.
        log.warn({ err: error }, "idle checkpoint failed");
      }
    },
  };
}
