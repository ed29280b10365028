import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { API_TEST_ENV, api, apiJson, postEvents, walkPages } from "../support/api.ts";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

let world: World;

beforeEach(async () => {
  world = await createWorld(API_TEST_ENV);
});

afterEach(async () => {
  await world.close();
});

interface EventItem {
  eventId: string;
  type: string;
  email: string | null;
  contactId: string | null;
  receivedAt: string;
}

const TYPES = ["subscriber.created", "subscriber.updated", "subscriber.confirmed"];

function mixedEvent(i: number): string {
  return sampleEvent({
    eventId: `evt-${String(i).padStart(4, "0")}`,
    type: TYPES[i % TYPES.length],
    id: `contact-${i % 7}`,
    email: `user${i % 5}@example.com`,
  });
}

/** Waits until the worker has processed every outbox row of `processed`. */
async function untilProcessed(processed: World): Promise<void> {
  const unfinished = () =>
    processed.rows<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE state <> 'done'")[0]?.n;
  for (let waited = 0; unfinished() !== 0; waited += 10) {
    if (waited > 5000) throw new Error("the worker did not finish the outbox in 5 s");
    await Bun.sleep(10);
  }
}

async function expectInvalid(path: string, message: RegExp) {
  const response = await api(world, path);
  expect(response.status).toBe(400);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe("invalid_request");
  expect(body.message).toMatch(message);
}

describe("GET /api/events", () => {
  it("pages through a few hundred events newest first, with no overlap and no gap", async () => {
    await postEvents(world, 300, mixedEvent);

    const pages = await walkPages<EventItem>(world, "/api/events?limit=37");
    const ids = pages.flat().map((item) => item.eventId);

    expect(pages.length).toBe(Math.ceil(300 / 37));
    expect(pages.slice(0, -1).every((page) => page.length === 37)).toBe(true);
    expect(new Set(ids).size).toBe(300);
    const stored = world.rows<{ event_id: string }>(
      "SELECT event_id FROM events ORDER BY received_at DESC, seq DESC",
    );
    expect(ids).toEqual(stored.map((row) => row.event_id));
  });

  it("stays stable while events arrive between pages: every earlier event once, none twice", async () => {
    await postEvents(world, 200, mixedEvent);
    let arriving = 1000;

    const pages = await walkPages<EventItem>(world, "/api/events?limit=23", async () => {
      await postEvents(world, 5, () => mixedEvent(arriving++));
    });
    const ids = pages.flat().map((item) => item.eventId);

    expect(ids.length).toBe(200);
    expect(new Set(ids).size).toBe(200);
    expect(ids.every((id) => Number(id.slice(4)) < 200)).toBe(true);
    expect(arriving).toBeGreaterThan(1000);
  });

  it("defaults to 50 per page and answers an empty store with no cursor", async () => {
    expect(await apiJson(world, "/api/events")).toEqual({ items: [], nextCursor: null });

    await postEvents(world, 60, mixedEvent);
    const page = await apiJson<{ items: unknown[]; nextCursor: string }>(world, "/api/events");

    expect(page.items.length).toBe(50);
    expect(page.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("filters by type, email and contactId, alone and together, once processed", async () => {
    await world.close();
    world = await createWorld(API_TEST_ENV, { worker: true });
    await postEvents(world, 105, mixedEvent);
    await untilProcessed(world);
    const all = await walkPages<EventItem>(world, "/api/events?limit=500");
    const expected = (keep: (item: EventItem) => boolean) =>
      all
        .flat()
        .filter(keep)
        .map((item) => item.eventId);
    const ids = async (query: string) =>
      (await walkPages<EventItem>(world, `/api/events?limit=10&${query}`))
        .flat()
        .map((item) => item.eventId);

    expect(await ids("type=subscriber.updated")).toEqual(
      expected((item) => item.type === "subscriber.updated"),
    );
    expect(await ids("email=user3%40example.com")).toEqual(
      expected((item) => item.email === "user3@example.com"),
    );
    expect(await ids("contactId=contact-4")).toEqual(
      expected((item) => item.contactId === "contact-4"),
    );
    const combined = await ids(
      "type=subscriber.created&email=user1%40example.com&contactId=contact-2",
    );
    expect(combined).toEqual(
      expected(
        (item) =>
          item.type === "subscriber.created" &&
          item.email === "user1@example.com" &&
          item.contactId === "contact-2",
      ),
    );
    expect(combined.length).toBeGreaterThan(0);
    expect(await ids("type=subscriber.nothing")).toEqual([]);
  });

  it("filters by receipt time with since and until, as ISO-8601 or epoch milliseconds", async () => {
    await postEvents(world, 10, (i) => mixedEvent(i));
    await Bun.sleep(5);
    const boundary = Date.now();
    await Bun.sleep(5);
    await postEvents(world, 7, (i) => mixedEvent(100 + i));

    const since = await walkPages<EventItem>(world, `/api/events?since=${boundary}`);
    const sinceIso = await walkPages<EventItem>(
      world,
      `/api/events?since=${new Date(boundary).toISOString()}`,
    );
    const until = await walkPages<EventItem>(world, `/api/events?until=${boundary}&limit=3`);

    expect(
      since
        .flat()
        .map((item) => item.eventId)
        .sort(),
    ).toEqual(Array.from({ length: 7 }, (_, i) => `evt-${String(100 + i).padStart(4, "0")}`));
    expect(sinceIso).toEqual(since);
    expect(until.flat().length).toBe(10);
    expect(until.flat().every((item) => Date.parse(item.receivedAt) < boundary)).toBe(true);
    const window = await apiJson<{ items: unknown[] }>(
      world,
      `/api/events?since=2000-01-01&until=${new Date(boundary).toISOString()}`,
    );
    expect(window.items.length).toBe(10);
  });

  it("refuses bad parameters with 400 JSON naming the parameter", async () => {
    await expectInvalid("/api/events?limit=0", /^limit must be a whole number from 1 to 500$/);
    await expectInvalid("/api/events?limit=501", /^limit must be/);
    await expectInvalid("/api/events?limit=2.5", /^limit must be/);
    await expectInvalid("/api/events?limit=ten", /^limit must be/);
    await expectInvalid("/api/events?since=yesterday", /^since must be ISO-8601/);
    await expectInvalid("/api/events?until=2026-13-45", /^until must be ISO-8601/);
    await expectInvalid("/api/events?since=2026-12-01T10:00:00", /^since must be ISO-8601/);
    await expectInvalid(
      "/api/events?since=2026-12-02&until=2026-12-01",
      /^since must be before until$/,
    );
  });

  it("refuses a garbled, forged or foreign cursor with 400", async () => {
    await postEvents(world, 3, mixedEvent);
    const forged = (text: string) => Buffer.from(text).toString("base64url");

    await expectInvalid("/api/events?cursor=!!!", /^cursor is not one this list handed out/);
    await expectInvalid("/api/events?cursor=bm9wZQ", /^cursor/);
    await expectInvalid(`/api/events?cursor=${forged("e:abc")}`, /^cursor/);
    await expectInvalid(`/api/events?cursor=${forged("e:1:2")}`, /^cursor/);
    await expectInvalid(`/api/events?cursor=${forged("e:99999999999999999")}`, /^cursor/);
    await expectInvalid(`/api/events?cursor=${forged("o:5")}`, /^cursor/);
    // Same bytes as forged("e:12") ("ZToxMg"), with other trailing bits: not canonical.
    expect(Buffer.from("ZToxMh", "base64url").toString()).toBe("e:12");
    await expectInvalid("/api/events?cursor=ZToxMh", /^cursor/);
  });
});

describe("GET /api/events/{eventId}", () => {
  it("answers the event with its raw body as received, the body parsed, and its outbox rows", async () => {
    const raw =
      '{ "type":"subscriber.created", "eventId":"evt-raw", "email":"zoë@example.com",\n "x":"\\u0000 🎉" }';
    await world.post(raw);

    const event = await apiJson<Record<string, unknown>>(world, "/api/events/evt-raw");

    expect(event).toMatchObject({
      eventId: "evt-raw",
      type: "subscriber.created",
      email: "zoë@example.com",
      rawBody: raw,
      rawBodyEncoding: "utf-8",
      payload: {
        type: "subscriber.created",
        eventId: "evt-raw",
        email: "zoë@example.com",
        x: "\u0000 🎉",
      },
    });
    expect(event.outbox).toEqual([
      expect.objectContaining({
        eventId: "evt-raw",
        handler: "subscribers",
        state: "pending",
        attempts: 0,
      }),
    ]);
    expect(Date.parse(event.receivedAt as string)).toBeGreaterThan(0);
  });

  it("keeps a byte-order mark in the raw body and still parses it", async () => {
    const raw = `\uFEFF${JSON.stringify({ type: "subscriber.created", eventId: "evt-bom" })}`;
    await world.post(raw);

    const event = await apiJson<{ rawBody: string; payload: unknown }>(
      world,
      "/api/events/evt-bom",
    );

    expect(event.rawBody).toBe(raw);
    expect(event.payload).toEqual({ type: "subscriber.created", eventId: "evt-bom" });
  });

  it("answers 404 JSON for an unknown eventId", async () => {
    const response = await api(world, "/api/events/evt-missing");

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not_found", message: "No such event." });
  });
});

describe("POST /api/events/{eventId}/replay", () => {
  it("answers 404 for an unknown event", async () => {
    const response = await api(world, "/api/events/evt-missing/replay", { method: "POST" });

    expect(response.status).toBe(404);
  });

  it("makes every outbox row of the event due again, with a fresh attempt count", async () => {
    const replayed = await createWorld(API_TEST_ENV, { inlineWriter: true });
    try {
      await replayed.post(sampleEvent({ eventId: "evt-replay" }));
      await replayed.post(sampleEvent({ eventId: "evt-other" }));
      replayed.writerSqlite.exec(
        "UPDATE outbox SET state = 'dead', attempts = 15, last_error = 'HTTP 500', run_at = 0",
      );

      const response = await api(replayed, "/api/events/evt-replay/replay", { method: "POST" });

      expect(response.status).toBe(202);
      const answer = (await response.json()) as {
        eventId: string;
        outbox: { handler: string; state: string; attempts: number }[];
      };
      expect(answer.eventId).toBe("evt-replay");
      expect(answer.outbox).toEqual([
        expect.objectContaining({ handler: "subscribers", state: "pending", attempts: 0 }),
      ]);
      const states = replayed.rows<{ event_id: string; state: string }>(
        "SELECT e.event_id, o.state FROM outbox o JOIN events e ON e.seq = o.event_seq ORDER BY o.id",
      );
      expect(states).toEqual([
        { event_id: "evt-replay", state: "pending" },
        { event_id: "evt-other", state: "dead" },
      ]);
    } finally {
      await replayed.close();
    }
  });
});
