/**
 * Crash safety: the process is killed with SIGKILL (no shutdown code runs,
 * as in an OOM kill or a power cut of the process) in the middle of a
 * concurrent load, restarted on the same database file, loaded and killed
 * again, three times. Every event that ever got a 2xx must then be stored
 * exactly once, with its outbox rows, in a database that passes SQLite's
 * integrity check.
 */
import { Database } from "bun:sqlite";
import { expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { SUBSCRIBERS_HANDLER } from "../../src/worker/handlers/names.ts";
import { startLoad } from "../support/load.ts";
import { type ServiceProcess, startService, tempDir } from "../support/process.ts";

const CYCLES = 3;
const CONCURRENCY = 32;
/** Acknowledged events per cycle before the kill, so that it lands mid-load. */
const ACKNOWLEDGED_BEFORE_KILL = 150;

/** How long the restarted service's worker may take to drain the outbox. */
const DRAIN_TIMEOUT_MS = 20_000;

/**
 * What the outbox must come to after the crashes, while the restarted
 * service runs: rows claimed by a killed worker are claimed again once their
 * lease ends, and every row reaches `done`.
 */
async function expectOutboxSettled(_service: ServiceProcess, databasePath: string) {
  const db = new Database(databasePath, { readonly: true });
  const unfinished = () =>
    (db.query("SELECT count(*) AS n FROM outbox WHERE state <> 'done'").get() as { n: number }).n;
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (unfinished() > 0 && Date.now() < deadline) await Bun.sleep(50);
  const states = db.query("SELECT DISTINCT state FROM outbox").all() as { state: string }[];
  db.close();
  expect(states).toEqual([{ state: "done" }]);
}

it("keeps every acknowledged event exactly once, with its outbox rows, across three SIGKILLs under load", async () => {
  const dir = tempDir();
  const databasePath = join(dir, "maildesk.db");
  // A short lease, so that rows a killed worker held are claimed again soon.
  const env = {
    WEBHOOK_VERIFIERS: "none",
    DATABASE_URL: databasePath,
    LOG_LEVEL: "warn",
    WORKER_LEASE_MS: "1000",
    WORKER_HANDLER_TIMEOUT_MS: "500",
  };
  const acknowledged: string[] = [];

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const service = await startService(env);
    const load = startLoad(service.url, { concurrency: CONCURRENCY, prefix: `kill${cycle}` });
    expect(await load.acknowledgedAtLeast(ACKNOWLEDGED_BEFORE_KILL)).toBe(true);

    service.process.kill("SIGKILL");
    await service.process.exited;
    await load.stop();
    acknowledged.push(...load.acknowledged);
  }

  // The restart after the last kill recovers the WAL like the others did.
  const restarted = await startService(env);
  expect((await fetch(`${restarted.url}/readyz`)).status).toBe(200);
  await expectOutboxSettled(restarted, databasePath);
  expect(await restarted.stop()).toBe(0);

  const db = new Database(databasePath, { readonly: true });
  expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
  const copies = new Map(
    (
      db.query("SELECT event_id, count(*) AS n FROM events GROUP BY event_id").all() as {
        event_id: string;
        n: number;
      }[]
    ).map((row) => [row.event_id, row.n]),
  );
  const handlersOf = db.query<{ handlers: string | null }, [string]>(
    "SELECT group_concat(o.handler) AS handlers FROM events e " +
      "LEFT JOIN outbox o ON o.event_seq = e.seq WHERE e.event_id = ? GROUP BY e.seq",
  );
  const lost = acknowledged.filter((eventId) => !copies.has(eventId));
  const duplicated = [...copies].filter(([, n]) => n !== 1);
  const withoutOutbox = acknowledged.filter(
    (eventId) => handlersOf.get(eventId)?.handlers !== SUBSCRIBERS_HANDLER,
  );
  // Stored but never answered (killed between commit and answer) is fine;
  // stored without its outbox row is not: they share one transaction.
  const storedWithoutOutbox = db
    .query(
      "SELECT count(*) AS n FROM events e WHERE NOT EXISTS " +
        "(SELECT 1 FROM outbox o WHERE o.event_seq = e.seq)",
    )
    .get();
  db.close();
  rmSync(dir, { recursive: true, force: true });

  expect(acknowledged.length).toBeGreaterThanOrEqual(CYCLES * ACKNOWLEDGED_BEFORE_KILL);
  expect(lost).toEqual([]);
  expect(duplicated).toEqual([]);
  expect(withoutOutbox).toEqual([]);
  expect(storedWithoutOutbox).toEqual({ n: 0 });
}, 60_000);
