import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { type OpenDatabase, openDatabase } from "../../src/store/database.ts";
import { StorageUnavailableError, StoreOverloadedError } from "../../src/store/errors.ts";
import { createIngestWriter } from "../../src/store/ingest-writer.ts";
import type { DeliveryRecord, IncomingEvent, IngestWriter } from "../../src/store/types.ts";

let dir: string;
let database: OpenDatabase;
let writer: IngestWriter;
let committed: number[];

const log = createLogger({ level: "silent", format: "json" });

function event(eventId: string, body = `{"type":"t","eventId":"${eventId}"}`): IncomingEvent {
  return {
    eventId,
    type: "subscriber.created",
    contactId: null,
    email: null,
    status: null,
    createdAtRaw: null,
    createdAt: null,
    receivedAt: 1_700_000_000_000,
    sourceIp: "192.0.2.1",
    requestId: `req-${eventId}`,
    rawBody: new TextEncoder().encode(body),
  };
}

function delivery(requestId: string): DeliveryRecord {
  return {
    receivedAt: 1_700_000_000_000,
    requestId,
    sourceIp: null,
    method: "POST",
    path: "/webhooks/maildesk",
    status: 400,
    outcome: "rejected",
    reason: "invalid_json",
    eventId: null,
    bodyBytes: 3,
    latencyMs: 0.5,
  };
}

const count = (table: string) =>
  (database.sqlite.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "maildesk-writer-"));
  database = openDatabase(join(dir, "db.sqlite"), { busyTimeoutMs: 100 });
  committed = [];
  writer = createIngestWriter(database.sqlite, {
    handlers: ["subscribers", "forward"],
    maxPending: 1000,
    maxPendingBytes: 1 << 20,
    log,
    onEventsCommitted: (n) => committed.push(n),
  });
});

afterEach(async () => {
  await writer.close();
  database.sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the ingest writer", () => {
  it("writes the submissions of one event-loop turn in a single commit", async () => {
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => writer.submit(event(`e-${i}`))),
    );

    expect(results.every((r) => r.outcome === "accepted")).toBe(true);
    expect(writer.stats.commits).toBe(1);
    expect(committed).toEqual([300]);
    expect(count("events")).toBe(300);
  });

  it("splits a very long queue into several commits", async () => {
    const roomy = createIngestWriter(database.sqlite, {
      handlers: ["subscribers"],
      maxPending: 5000,
      maxPendingBytes: 1 << 24,
      log,
    });

    await Promise.all(Array.from({ length: 1200 }, (_, i) => roomy.submit(event(`e-${i}`))));

    expect(roomy.stats.commits).toBe(3);
    expect(count("events")).toBe(1200);
    await roomy.close();
  });

  it("writes one outbox row per handler for each new event, none for a duplicate", async () => {
    await Promise.all([
      writer.submit(event("a")),
      writer.submit(event("b")),
      writer.submit(event("a")),
    ]);
    await writer.submit(event("b"));

    const rows = database.sqlite
      .query(
        "SELECT e.event_id, o.handler, o.state FROM outbox o JOIN events e ON e.seq = o.event_seq ORDER BY o.id",
      )
      .all();
    expect(rows).toEqual([
      { event_id: "a", handler: "subscribers", state: "pending" },
      { event_id: "b", handler: "subscribers", state: "pending" },
      { event_id: "a", handler: "forward", state: "pending" },
      { event_id: "b", handler: "forward", state: "pending" },
    ]);
  });

  it("accepts the first of two same-id submissions in one batch and compares the bodies", async () => {
    const [first, same, other] = await Promise.all([
      writer.submit(event("x", '{"v":1}')),
      writer.submit(event("x", '{"v":1}')),
      writer.submit(event("x", '{"v":2}')),
    ]);

    expect(first).toEqual({ outcome: "accepted" });
    expect(same).toEqual({ outcome: "duplicate", bodyDiffers: false });
    expect(other).toEqual({ outcome: "duplicate", bodyDiffers: true });
    expect(writer.stats.duplicateBodyMismatches).toBe(1);
  });

  it("rejects every event of a failed commit and stores none of them", async () => {
    database.sqlite.exec("PRAGMA query_only = ON");

    const results = await Promise.allSettled([
      writer.submit(event("f1")),
      writer.submit(event("f2")),
    ]);

    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StorageUnavailableError);
    }
    database.sqlite.exec("PRAGMA query_only = OFF");
    expect(count("events")).toBe(0);
    expect(committed).toEqual([]);
  });

  it("refuses a submission beyond the pending bound without queuing it", async () => {
    const small = createIngestWriter(database.sqlite, {
      handlers: [],
      maxPending: 2,
      maxPendingBytes: 1 << 20,
      log,
    });

    const results = await Promise.allSettled([1, 2, 3].map((i) => small.submit(event(`p-${i}`))));

    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(StoreOverloadedError);
    await small.close();
  });

  it("writes delivery rows with the next commit, or on their own", async () => {
    writer.recordDelivery(delivery("r1"));
    await writer.submit(event("with-delivery"));
    expect(count("deliveries")).toBe(1);

    writer.recordDelivery(delivery("r2"));
    await Bun.sleep(5);
    expect(count("deliveries")).toBe(2);
  });

  it("writes what is queued on close and refuses new work after", async () => {
    const pending = writer.submit(event("last"));
    writer.recordDelivery(delivery("r-last"));

    await writer.close();

    expect(await pending).toEqual({ outcome: "accepted" });
    expect(count("deliveries")).toBe(1);
    expect(writer.submit(event("too-late"))).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});
