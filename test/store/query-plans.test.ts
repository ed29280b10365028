/**
 * The list queries walk an index in list order and stop after the page: no
 * sort (`USE TEMP B-TREE`) and, for each selective filter, a search of the
 * index chosen for it (see the notes in src/store/schema.ts). The SQL is the
 * one the queries really prepare, recorded from the connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeCursor } from "../../src/store/cursor.ts";
import { type OpenDatabase, openDatabase } from "../../src/store/database.ts";
import { createSqliteQueries } from "../../src/store/sqlite-queries.ts";
import type { StoreQueries } from "../../src/store/types.ts";

let dir: string;
let reader: OpenDatabase;
let queries: StoreQueries;
const prepared: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "maildesk-plans-"));
  reader = openDatabase(join(dir, "plans.db"), { busyTimeoutMs: 1000 });
  const prepare = reader.sqlite.prepare.bind(reader.sqlite);
  reader.sqlite.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  }) as typeof reader.sqlite.prepare;
  queries = createSqliteQueries(reader);
});

afterAll(() => {
  reader.sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The plan of the statement `run` prepares last. */
function planOf(run: () => unknown): string {
  run();
  const sql = prepared[prepared.length - 1] as string;
  const rows = reader.sqlite.query(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[];
  return rows.map((row) => row.detail).join(" | ");
}

const page = { limit: 100 };
const eventCursor = { limit: 100, cursor: encodeCursor("e", 5) };
const outboxCursor = { limit: 100, cursor: encodeCursor("o", 500) };
const deliveryCursor = { limit: 100, cursor: encodeCursor("d", 500) };

describe("event list plans", () => {
  const byKey =
    /SEARCH event_keys USING (COVERING |PRIMARY KEY|INDEX sqlite_autoindex_event_keys_1)/;
  const cases: [string, Parameters<StoreQueries["listEvents"]>[0], RegExp][] = [
    ["no filter", {}, /^(SCAN|SEARCH) events( USING INTEGER PRIMARY KEY \(rowid<\?\))?$/],
    [
      "since/until",
      { since: 1, until: 2 },
      /^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/,
    ],
    ["type", { type: "t" }, byKey],
    ["email", { email: "e" }, byKey],
    ["contactId", { contactId: "c" }, byKey],
    ["type and email", { type: "t", email: "e" }, byKey],
    ["all and a window", { type: "t", email: "e", contactId: "c", since: 1, until: 2 }, byKey],
  ];
  for (const [name, filter, expected] of cases) {
    it(`${name}: walks its index in order, first page and deep page alike`, () => {
      const first = planOf(() => queries.listEvents(filter, page));
      const deep = planOf(() => queries.listEvents(filter, eventCursor));

      for (const plan of [first, deep]) {
        expect(plan).toMatch(expected);
        expect(plan).not.toContain("TEMP B-TREE");
        expect(plan).not.toMatch(/SCAN (events|event_keys) /);
      }
      expect(deep).toContain("SEARCH");
    });
  }

  it("joins each event of a key's walk by primary key", () => {
    const plan = planOf(() => queries.listEvents({ contactId: "c" }, eventCursor));

    expect(plan).toContain("SEARCH events USING INTEGER PRIMARY KEY (rowid=?)");
  });
});

describe("outbox list plans", () => {
  const cases: [string, Parameters<StoreQueries["listOutbox"]>[0], RegExp][] = [
    ["dead", { state: "dead" }, /SEARCH outbox USING INDEX outbox_unfinished_state_idx \(state=\?/],
    [
      "pending of a handler",
      { state: "pending", handler: "forward" },
      /SEARCH outbox USING INDEX outbox_unfinished_state_idx \(state=\?/,
    ],
    // Most rows are done: the primary key, where most rows match.
    ["done", { state: "done" }, /(SCAN|SEARCH) outbox( USING INTEGER PRIMARY KEY)?/],
    ["a handler", { handler: "subscribers" }, /(SCAN|SEARCH) outbox( USING INTEGER PRIMARY KEY)?/],
  ];
  for (const [name, filter, expected] of cases) {
    it(`${name}: no sort, events joined by primary key`, () => {
      for (const plan of [
        planOf(() => queries.listOutbox(filter, page)),
        planOf(() => queries.listOutbox(filter, outboxCursor)),
      ]) {
        expect(plan).toMatch(expected);
        expect(plan).toContain("SEARCH events USING INTEGER PRIMARY KEY (rowid=?)");
        expect(plan).not.toContain("TEMP B-TREE");
        expect(plan).not.toContain("outbox_state_handler_run_at_idx");
      }
    });
  }
});

describe("delivery list plans", () => {
  const cases: [string, Parameters<StoreQueries["listDeliveries"]>[0], RegExp][] = [
    [
      "status 401",
      { status: 401 },
      /SEARCH deliveries USING INDEX deliveries_unusual_status_idx \(status=\?/,
    ],
    [
      "rejected",
      { outcome: "rejected" },
      /SEARCH deliveries USING INDEX deliveries_unusual_outcome_idx \(outcome=\?/,
    ],
    [
      "duplicate at 200",
      { status: 200, outcome: "duplicate" },
      /USING INDEX deliveries_unusual_outcome_idx/,
    ],
    [
      "status 415 and rejected",
      { status: 415, outcome: "rejected" },
      /USING INDEX deliveries_unusual_status_idx/,
    ],
    ["accepted", { outcome: "accepted" }, /(SCAN|SEARCH) deliveries/],
  ];
  for (const [name, filter, expected] of cases) {
    it(`${name}: no sort`, () => {
      for (const plan of [
        planOf(() => queries.listDeliveries(filter, page)),
        planOf(() => queries.listDeliveries(filter, deliveryCursor)),
      ]) {
        expect(plan).toMatch(expected);
        expect(plan).not.toContain("TEMP B-TREE");
      }
    });
  }
});

describe("counts", () => {
  it("of stats read covering indexes and never sort the whole outbox", () => {
    const plans: string[] = [];
    const before = prepared.length;
    queries.count(0);
    for (const sql of prepared.slice(before)) {
      const rows = reader.sqlite.query(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[];
      plans.push(rows.map((row) => row.detail).join(" | "));
    }

    expect(plans.find((plan) => plan.includes("GROUP BY") || plan.includes("type"))).toBeDefined();
    expect(plans).toContain("SEARCH event_keys USING PRIMARY KEY (key>? AND key<?)");
    expect(plans).toContain("SCAN outbox USING COVERING INDEX outbox_state_handler_run_at_idx");
    expect(plans.filter((plan) => plan.startsWith("SCAN outbox |"))).toEqual([]);
  });

  it("count only the unfinished outbox rows, from the partial index", () => {
    const plan = planOf(() => queries.countUnfinishedOutbox());

    expect(plan).toMatch(/USING COVERING INDEX outbox_unfinished_state_idx/);
  });
});
