/**
 * A reader that holds a read transaction open for a long time (a backup, a
 * report, a sqlite3 shell left in BEGIN) must not stall ingest. In WAL mode
 * a reader pins the snapshot it started on: the writer goes on appending to
 * the WAL, but no checkpoint may copy frames past the reader's snapshot back
 * into the database, so the WAL cannot be reset and grows. Once the reader
 * lets go, the service's own automatic checkpoint catches up and the WAL
 * starts over.
 *
 * "Starts over" is read from the WAL header: its checkpoint sequence number
 * (a big-endian u32 at offset 12, see SQLite's file format) goes up each time
 * the WAL is reset after a complete checkpoint.
 */
import { Database } from "bun:sqlite";
import { expect, it } from "bun:test";
import { closeSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { startLoad } from "../support/load.ts";
import { postEvent, startService, tempDir } from "../support/process.ts";
import { sampleEvent } from "../support/world.ts";

/** Enough that the bodies alone (two pages each) need a WAL of over 20 MiB. */
const EVENTS_WHILE_HELD = 3000;
const PADDING_BYTES = 4096;
/** SQLite's default auto-checkpoint: 1,000 pages of 4 KiB. */
const AUTO_CHECKPOINT_BYTES = 1000 * 4096;
/** A generous bound for one answer on a busy 2-core machine. */
const ANSWER_BOUND_MS = 5000;

function walCheckpointSequence(walPath: string): number {
  const header = Buffer.alloc(32);
  const fd = openSync(walPath, "r");
  try {
    readSync(fd, header, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
}

it("keeps answering while a reader holds a snapshot; the WAL grows, and is checkpointed after release", async () => {
  const dir = tempDir();
  const databasePath = join(dir, "maildesk.db");
  const walPath = `${databasePath}-wal`;
  const service = await startService({
    WEBHOOK_VERIFIERS: "none",
    DATABASE_URL: databasePath,
    LOG_LEVEL: "warn",
  });
  for (let i = 0; i < 10; i++) await postEvent(service.url, sampleEvent({ eventId: `pre-${i}` }));

  const reader = new Database(databasePath);
  reader.exec("BEGIN");
  const snapshot = reader.query("SELECT count(*) AS n FROM events").get() as { n: number };
  const sequenceWhileHeld = walCheckpointSequence(walPath);

  const startedAt = performance.now();
  const load = startLoad(service.url, {
    concurrency: 16,
    prefix: "held",
    body: (eventId) => sampleEvent({ eventId, pad: "x".repeat(PADDING_BYTES) }),
    maxRequests: EVENTS_WHILE_HELD,
    requestTimeoutMs: ANSWER_BOUND_MS,
  });
  await load.finished();
  const elapsedMs = performance.now() - startedAt;

  // Every request answered 200 within the bound while the reader held on.
  expect(load.failures).toEqual([]);
  expect(load.answers.filter((a) => a.status !== 200)).toEqual([]);
  expect(load.acknowledged).toHaveLength(EVENTS_WHILE_HELD);
  expect(elapsedMs).toBeLessThan(60_000);
  // The reader still sees its snapshot; the WAL was never reset and grew far
  // past the automatic checkpoint's threshold. (The same load without the
  // reader leaves a WAL of 4 to 8 MiB here, reset several times.)
  expect(reader.query("SELECT count(*) AS n FROM events").get()).toEqual(snapshot);
  expect(walCheckpointSequence(walPath)).toBe(sequenceWhileHeld);
  expect(statSync(walPath).size).toBeGreaterThan(4 * AUTO_CHECKPOINT_BYTES);

  reader.exec("COMMIT");
  reader.close();

  // The next commits run the automatic checkpoint, now unhindered, and
  // the one after a complete checkpoint starts the WAL over.
  let reset = false;
  for (let i = 0; i < 200 && !reset; i++) {
    await postEvent(service.url, sampleEvent({ eventId: `after-${i}` }));
    reset = walCheckpointSequence(walPath) > sequenceWhileHeld;
  }
  expect(reset).toBe(true);

  expect(await service.stop()).toBe(0);
  const db = new Database(databasePath, { readonly: true });
  expect((db.query("SELECT count(*) AS n FROM events").get() as { n: number }).n).toBeGreaterThan(
    snapshot.n + EVENTS_WHILE_HELD,
  );
  db.close();
  rmSync(dir, { recursive: true, force: true });
}, 90_000);
