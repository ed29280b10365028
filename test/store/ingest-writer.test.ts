import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { type OpenDatabase, openDatabase } from "../../src/store/database.ts";
import { StorageUnavailableError } from "../../src/store/errors.ts";
import { createIngestWriter, type IngestWriter } from "../../src/store/ingest-writer.ts";
import type { DeliveryRecord, IncomingEvent } from "../../src/store/types.ts";
import { OUTCOME } from "../../src/store/writer-protocol.ts";

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
    contentType: "application/json",
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
    log,
    onEventsCommitted: (n) => committed.push(n),
  });
});

afterEach(() => {
  writer.close();
  database.sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

type Reply = Uint8Array | StorageUnavailableError;

/** Queues one batch and resolves with what the writer answered it. */
function submit(events: IncomingEvent[], deliveries: DeliveryRecord[] = []): Promise<Reply> {
  return new Promise((resolve) => writer.enqueue({ events, deliveries, reply: resolve }));
}

describe("the ingest writer", () => {
  it("commits the batches that arrive in one turn together, answering each", async () => {
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, b) =>
        submit(Array.from({ length: 10 }, (_, i) => event(`e-${b}-${i}`))),
      ),
    );

    expect(replies.every((r) => r instanceof Uint8Array && r.length === 10)).toBe(true);
    expect(
      replies.flatMap((r) => [...(r as Uint8Array)]).every((o) => o === OUTCOME.accepted),
    ).toBe(true);
    expect(writer.stats.commits).toBe(1);
    expect(committed).toEqual([300]);
    expect(count("events")).toBe(300);
  });

  it("splits a very long queue into several commits", async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, b) =>
        submit(Array.from({ length: 100 }, (_, i) => event(`e-${b}-${i}`))),
      ),
    );

    expect(writer.stats.commits).toBe(2);
    expect(count("events")).toBe(1200);
  });

  it("writes one outbox row per handler for each new event, none for a duplicate", async () => {
    await submit([event("a"), event("b"), event("a")]);
    await submit([event("b")]);

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

  it("accepts the first of two same-id events in one commit and compares the bodies", async () => {
    const reply = await submit([
      event("x", '{"v":1}'),
      event("x", '{"v":1}'),
      event("x", '{"v":2}'),
    ]);

    expect([...(reply as Uint8Array)]).toEqual([
      OUTCOME.accepted,
      OUTCOME.duplicate,
      OUTCOME.duplicateBodyDiffers,
    ]);
  });

  it("fails every batch of a failed commit and stores none of their events", async () => {
    database.sqlite.exec("PRAGMA query_only = ON");

    const replies = await Promise.all([submit([event("f1")]), submit([event("f2")])]);

    for (const reply of replies) expect(reply).toBeInstanceOf(StorageUnavailableError);
    database.sqlite.exec("PRAGMA query_only = OFF");
    expect(count("events")).toBe(0);
    expect(committed).toEqual([]);
  });

  it("keeps the delivery rows of a failed commit and writes them with the next one", async () => {
    database.sqlite.exec("PRAGMA query_only = ON");
    await submit([], [delivery("r1")]);
    database.sqlite.exec("PRAGMA query_only = OFF");

    await submit([event("after")], [delivery("r2")]);

    expect(count("deliveries")).toBe(2);
    expect(count("events")).toBe(1);
  });

  it("writes a batch of delivery rows alone", async () => {
    const reply = await submit([], [delivery("r1"), delivery("r2")]);

    expect((reply as Uint8Array).length).toBe(0);
    expect(count("deliveries")).toBe(2);
  });

  it("writes what is queued when closed", async () => {
    const pending = submit([event("last")], [delivery("r-last")]);

    writer.close();

    expect([...((await pending) as Uint8Array)]).toEqual([OUTCOME.accepted]);
    expect(count("deliveries")).toBe(1);
  });
});
