/**
 * `bun run bench:query`: how fast the query API pages through a large store.
 *
 * Builds (once, then reuses) a database of 1,000,000 events written directly
 * with SQL: a realistic mix of types over 200,000 contacts and 30 days, one
 * outbox row each (mostly done, some pending and dead) and one delivery-log
 * row each (mostly accepted, some duplicates and refusals). Then times pages
 * of 100, with and without filters, the first page against a page deep in
 * the list (from a cursor 90% of the way down, then following `nextCursor`),
 * at the query layer and through the HTTP API of the real program, and
 * prints p50/p99 per query.
 *
 * Options: --events N (1000000), --runs N (200 per query and depth),
 * --db PATH (where the database is kept; rebuilt when its size differs),
 * --json FILE.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { encodeCursor } from "../src/store/cursor.ts";
import { EMBEDDED_MIGRATION_HASHES, openDatabase } from "../src/store/database.ts";
import { createSqliteQueries } from "../src/store/sqlite-queries.ts";
import type { EventFilter, StoreQueries } from "../src/store/types.ts";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    runs: { type: "string", default: "200" },
    db: { type: "string", default: join(tmpdir(), "maildesk-bench-query", "events.db") },
    json: { type: "string" },
  },
});
const EVENTS = Number(args.events);
const RUNS = Number(args.runs);
const PAGE = 100;
const CONTACTS = Math.max(1, Math.floor(EVENTS / 5));
const DAY_MS = 24 * 3600_000;
const START_MS = Date.parse("2026-11-01T00:00:00Z");
const TOKEN = "bench-admin-token-0123456789";

/** Fills a migrated database with SQL alone (no ingest path: this measures reads). */
function buildDatabase(path: string): void {
  rmSync(dirname(path), { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  openDatabase(path, { busyTimeoutMs: 5000 }).sqlite.close();

  const sqlite = new Database(path);
  sqlite.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -400000");
  const started = performance.now();
  // i → receipt time over 30 days (never decreasing, as the writer stores
  // it; several events per millisecond), type by a 40/35/15/10 mix, contact
  // and e-mail by i mod CONTACTS; their event_keys as the worker writes them.
  sqlite.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${EVENTS})
    INSERT INTO events (seq, event_id, type, contact_id, email, status, created_at_raw,
                        created_at, received_at, source_ip, request_id, raw_body)
    SELECT i, printf('evt-%08d', i), t, printf('c-%06d', i % ${CONTACTS}),
           printf('user%06d@example.com', i % ${CONTACTS}), s, NULL, NULL, r, '203.0.113.7',
           printf('req-%08d', i),
           CAST(printf('{"type":"%s","eventId":"evt-%08d","id":"c-%06d","email":"user%06d@example.com","status":"%s","firstName":"Ada","lastName":"Lovelace"}',
                       t, i, i % ${CONTACTS}, i % ${CONTACTS}, s) AS BLOB)
    FROM (SELECT i,
            CASE WHEN i % 20 < 8 THEN 'subscriber.created' WHEN i % 20 < 15 THEN 'subscriber.updated'
                 WHEN i % 20 < 18 THEN 'subscriber.confirmed' ELSE 'subscriber.unsubscribed' END AS t,
            CASE WHEN i % 20 < 18 THEN 'active' ELSE 'unsubscribed' END AS s,
            ${START_MS} + (i * ${30 * DAY_MS} / ${EVENTS}) AS r
          FROM n)`);
  sqlite.exec(`
    INSERT INTO event_keys (key, event_seq)
    SELECT 'type:' || type, seq FROM events UNION ALL SELECT 'id:' || contact_id, seq FROM events
    UNION ALL SELECT 'email:' || email, seq FROM events`);
  sqlite.exec(`
    INSERT INTO outbox (event_seq, handler, state, attempts, run_at, last_error, created_at, updated_at)
    SELECT seq, 'subscribers',
           CASE WHEN seq % 100 = 0 THEN 'dead' WHEN seq % 50 = 1 THEN 'pending' ELSE 'done' END,
           CASE WHEN seq % 100 = 0 THEN 8 ELSE 1 END, received_at,
           CASE WHEN seq % 100 = 0 THEN 'HTTP 500 from the forward URL' END,
           received_at, received_at + 5
    FROM events`);
  sqlite.exec(`
    INSERT INTO deliveries (received_at, request_id, source_ip, method, path, status, outcome,
                            reason, event_id, body_bytes, latency_ms)
    SELECT received_at, request_id, source_ip, 'POST', '/webhooks/maildesk',
           CASE WHEN seq % 50 = 7 THEN 401 WHEN seq % 50 = 9 THEN 400 ELSE 200 END,
           CASE WHEN seq % 50 IN (7, 9) THEN 'rejected' WHEN seq % 30 = 0 THEN 'duplicate'
                ELSE 'accepted' END,
           CASE WHEN seq % 50 = 7 THEN 'unauthorized: bad signature'
                WHEN seq % 50 = 9 THEN 'invalid_json' END,
           event_id, length(raw_body), 3.5
    FROM events`);
  sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite.close();
  console.log(
    `built ${EVENTS.toLocaleString()} events in ${((performance.now() - started) / 1000).toFixed(1)} s: ${path}`,
  );
}

/** Whether `path` holds a database built by this script with the current migrations. */
function databaseMatches(path: string): boolean {
  if (!existsSync(path)) return false;
  const sqlite = new Database(path, { readonly: true });
  try {
    const hashes = sqlite.query("SELECT hash FROM __drizzle_migrations ORDER BY id").all() as {
      hash: string;
    }[];
    if (hashes.map((row) => row.hash).join() !== EMBEDDED_MIGRATION_HASHES.join()) return false;
    return (sqlite.query("SELECT max(seq) AS n FROM events").get() as { n: number }).n === EVENTS;
  } catch {
    return false;
  } finally {
    sqlite.close();
  }
}

interface Scenario {
  readonly name: string;
  readonly filter: EventFilter;
  /** The same filter as a query string. */
  readonly query: string;
}

const DAY_10 = START_MS + 10 * DAY_MS;
const SCENARIOS: Scenario[] = [
  { name: "no filter", filter: {}, query: "" },
  {
    name: "type (10%)",
    filter: { type: "subscriber.unsubscribed" },
    query: "type=subscriber.unsubscribed",
  },
  {
    name: "email (5 events)",
    filter: { email: "user001234@example.com" },
    query: "email=user001234%40example.com",
  },
  { name: "contactId (5 events)", filter: { contactId: "c-001234" }, query: "contactId=c-001234" },
  {
    name: "one day",
    filter: { since: DAY_10, until: DAY_10 + DAY_MS },
    query: `since=${DAY_10}&until=${DAY_10 + DAY_MS}`,
  },
  {
    name: "type + 10 days",
    filter: { type: "subscriber.confirmed", since: DAY_10, until: DAY_10 + 10 * DAY_MS },
    query: `type=subscriber.confirmed&since=${DAY_10}&until=${DAY_10 + 10 * DAY_MS}`,
  },
];

/** A cursor 90% of the way down the filter's list (found once, by OFFSET). */
function deepCursor(sqlite: Database, filter: EventFilter): string | undefined {
  const terms: [string, string | number | undefined][] = [
    ["type = ?", filter.type],
    ["email = ?", filter.email],
    ["contact_id = ?", filter.contactId],
    ["received_at >= ?", filter.since],
    ["received_at < ?", filter.until],
  ];
  const given = terms.filter(([, value]) => value !== undefined);
  const where = given.map(([term]) => term);
  const params = given.map(([, value]) => value as string | number);
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const total = (
    sqlite.query(`SELECT count(*) AS n FROM events ${clause}`).get(...params) as { n: number }
  ).n;
  const offset = Math.floor(total * 0.9);
  if (offset < 1) return undefined;
  const row = sqlite
    .query(`SELECT seq FROM events ${clause} ORDER BY seq DESC LIMIT 1 OFFSET ?`)
    .get(...params, offset) as { seq: number } | null;
  return row ? encodeCursor("e", row.seq) : undefined;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Row {
  readonly layer: "query" | "http";
  readonly scenario: string;
  readonly depth: "first page" | "deep (cursor chain)";
  readonly items: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Times `runs` pages: the first page, or a chain of pages from a deep cursor. */
async function timePages(
  fetchPage: (cursor: string | undefined) => Promise<{ items: number; nextCursor: string | null }>,
  startCursor: string | undefined,
): Promise<{ samples: number[]; items: number }> {
  const samples: number[] = [];
  let items = 0;
  let cursor = startCursor;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const page = await fetchPage(cursor);
    samples.push(performance.now() - started);
    items = Math.max(items, page.items);
    if (startCursor !== undefined) cursor = page.nextCursor ?? startCursor;
  }
  return { samples: samples.sort((a, b) => a - b), items };
}

async function measure(
  layer: Row["layer"],
  fetchPage: (
    s: Scenario,
    cursor: string | undefined,
  ) => Promise<{ items: number; nextCursor: string | null }>,
  cursors: Map<string, string | undefined>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const scenario of SCENARIOS) {
    for (let i = 0; i < 20; i++) await fetchPage(scenario, undefined); // warm up
    const depths: [Row["depth"], string | undefined][] = [["first page", undefined]];
    const deep = cursors.get(scenario.name);
    if (deep) depths.push(["deep (cursor chain)", deep]);
    for (const [depth, cursor] of depths) {
      const { samples, items } = await timePages((c) => fetchPage(scenario, c), cursor);
      rows.push({
        layer,
        scenario: scenario.name,
        depth,
        items,
        p50Ms: percentile(samples, 50),
        p99Ms: percentile(samples, 99),
      });
    }
  }
  return rows;
}

async function startServer(path: string): Promise<{ url: string; stop(): Promise<void> }> {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port;
  await server.stop(true);
  const child = Bun.spawn(
    [process.execPath, join(import.meta.dir, "..", "src", "main.ts"), "serve"],
    {
      env: {
        PATH: process.env.PATH ?? "",
        WEBHOOK_VERIFIERS: "none",
        ADMIN_TOKEN: TOKEN,
        DATABASE_URL: path,
        HOST: "127.0.0.1",
        PORT: String(port),
        LOG_LEVEL: "warn",
        RETENTION_DELIVERIES_DAYS: "0",
      },
      stdout: "ignore",
      stderr: "inherit",
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 500; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await Bun.sleep(20);
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

function timeOnce(label: string, work: () => unknown): void {
  const started = performance.now();
  work();
  console.log(`${label}: ${(performance.now() - started).toFixed(1)} ms`);
}

async function main(): Promise<void> {
  if (!databaseMatches(args.db as string)) buildDatabase(args.db as string);
  // The server gets a copy: its writer thread must not change the kept one.
  const serverCopy = join(tmpdir(), `maildesk-bench-query-${process.pid}.db`);
  copyFileSync(args.db as string, serverCopy);

  const reader = openDatabase(args.db as string, { busyTimeoutMs: 5000, queryOnly: true });
  const queries: StoreQueries = createSqliteQueries(reader);
  const cursors = new Map(SCENARIOS.map((s) => [s.name, deepCursor(reader.sqlite, s.filter)]));

  const queryRows = await measure(
    "query",
    async (scenario, cursor) => {
      const page = queries.listEvents(scenario.filter, { limit: PAGE, cursor });
      return { items: page.items.length, nextCursor: page.nextCursor };
    },
    cursors,
  );
  timeOnce("outbox state=dead, first page (query layer)", () =>
    queries.listOutbox({ state: "dead" }, { limit: PAGE }),
  );
  timeOnce("deliveries status=401, first page (query layer)", () =>
    queries.listDeliveries({ status: 401 }, { limit: PAGE }),
  );
  timeOnce("stats counts (query layer)", () => queries.count(Date.now() - DAY_MS));
  timeOnce("metrics outbox depth (query layer)", () => queries.countUnfinishedOutbox());

  const server = await startServer(serverCopy);
  let httpRows: Row[];
  try {
    httpRows = await measure(
      "http",
      async (scenario, cursor) => {
        const params = [scenario.query, `limit=${PAGE}`, cursor ? `cursor=${cursor}` : ""].filter(
          Boolean,
        );
        const response = await fetch(`${server.url}/api/events?${params.join("&")}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        if (response.status !== 200)
          throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        const body = (await response.json()) as { items: unknown[]; nextCursor: string | null };
        return { items: body.items.length, nextCursor: body.nextCursor };
      },
      cursors,
    );
  } finally {
    await server.stop();
    reader.sqlite.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${serverCopy}${suffix}`, { force: true });
  }

  const rows = [...queryRows, ...httpRows];
  console.log(`\n${EVENTS.toLocaleString()} events, pages of ${PAGE}, ${RUNS} runs per line\n`);
  console.log("| layer | query | page | items | p50 ms | p99 ms |");
  console.log("| --- | --- | --- | ---: | ---: | ---: |");
  for (const row of rows) {
    console.log(
      `| ${row.layer} | ${row.scenario} | ${row.depth} | ${row.items} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} |`,
    );
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 2));
}

await main();
