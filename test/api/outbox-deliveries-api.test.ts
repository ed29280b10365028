import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { API_TEST_ENV, api, apiJson, postEvents, walkPages } from "../support/api.ts";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

let world: World;

beforeEach(async () => {
  // Inline, to put outbox rows in the states the worker would.
  world = await createWorld(API_TEST_ENV, { inlineWriter: true });
});

afterEach(async () => {
  await world.close();
});

interface OutboxItem {
  id: number;
  eventId: string;
  handler: string;
  state: string;
  lastError: string | null;
}

/** Gives the outbox rows states by id: i % 4 → pending, processing, done, dead. */
function spreadStates() {
  world.writerSqlite.exec(`
    UPDATE outbox SET state = CASE id % 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'processing'
      WHEN 2 THEN 'done' ELSE 'dead' END,
      last_error = CASE id % 4 WHEN 3 THEN 'HTTP 500 from the forward URL' END`);
  world.writerSqlite.exec("UPDATE outbox SET handler = 'forward' WHERE id % 3 = 0");
}

describe("GET /api/outbox", () => {
  it("lists rows newest first, filtered by state and by handler, paged without gaps", async () => {
    await postEvents(world, 120, (i) => sampleEvent({ eventId: `evt-${i}` }));
    spreadStates();
    const expected = (where: string) =>
      world
        .rows<{ id: number }>(`SELECT id FROM outbox WHERE ${where} ORDER BY id DESC`)
        .map((r) => r.id);
    const ids = async (query: string) =>
      (await walkPages<OutboxItem>(world, `/api/outbox?limit=7&${query}`)).flat().map((r) => r.id);

    expect(await ids("")).toEqual(expected("1"));
    for (const state of ["pending", "processing", "done", "dead"]) {
      expect(await ids(`state=${state}`)).toEqual(expected(`state = '${state}'`));
    }
    expect(await ids("handler=forward")).toEqual(expected("handler = 'forward'"));
    expect(await ids("state=dead&handler=forward")).toEqual(
      expected("state = 'dead' AND handler = 'forward'"),
    );
    expect(await ids("state=done&handler=subscribers")).toEqual(
      expected("state = 'done' AND handler = 'subscribers'"),
    );
    const [dead] = (await apiJson<{ items: OutboxItem[] }>(world, "/api/outbox?state=dead")).items;
    expect(dead).toMatchObject({ state: "dead", lastError: "HTTP 500 from the forward URL" });
  });

  it("refuses an unknown state and a foreign cursor with 400", async () => {
    const unknown = await api(world, "/api/outbox?state=stuck");
    const foreign = await api(
      world,
      `/api/outbox?cursor=${Buffer.from("d:5").toString("base64url")}`,
    );

    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: "invalid_request",
      message: "state must be one of pending, processing, done, dead",
    });
    expect(foreign.status).toBe(400);
  });
});

describe("outbox retries", () => {
  it("answers 404 for an unknown row and 400 for an id that is not one", async () => {
    expect((await api(world, "/api/outbox/999/retry", { method: "POST" })).status).toBe(404);
    expect((await api(world, "/api/outbox/abc/retry", { method: "POST" })).status).toBe(400);
    expect((await api(world, "/api/outbox/0/retry", { method: "POST" })).status).toBe(400);
  });

  it("answer 501 while no worker offers the commands, and change nothing", async () => {
    await postEvents(world, 4, (i) => sampleEvent({ eventId: `evt-${i}` }));
    spreadStates();
    const before = world.rows("SELECT * FROM outbox ORDER BY id");

    const one = await api(world, "/api/outbox/3/retry", { method: "POST" });
    const all = await api(world, "/api/outbox/retry-dead?handler=subscribers", { method: "POST" });

    expect(one.status).toBe(501);
    expect(await one.json()).toMatchObject({ error: "not_implemented" });
    expect(all.status).toBe(501);
    expect(world.rows("SELECT * FROM outbox ORDER BY id")).toEqual(before);
  });
});

describe("GET /api/deliveries", () => {
  it("lists every webhook request newest first, filtered by status and outcome", async () => {
    await postEvents(world, 30, (i) => sampleEvent({ eventId: `evt-${i % 20}` }));
    for (let i = 0; i < 6; i++) await world.post("not json");
    await world.post("{}", { headers: { "content-type": "text/plain" } });
    await world.flush();
    const ids = async (query: string) =>
      (
        await walkPages<{ id: number; status: number; outcome: string }>(
          world,
          `/api/deliveries?limit=4&${query}`,
        )
      )
        .flat()
        .map((row) => row.id);
    const expected = (where: string) =>
      world
        .rows<{ id: number }>(`SELECT id FROM deliveries WHERE ${where} ORDER BY id DESC`)
        .map((r) => r.id);

    expect(await ids("")).toEqual(expected("1"));
    expect((await ids("")).length).toBe(37);
    expect(await ids("status=400")).toEqual(expected("status = 400"));
    expect((await ids("status=400")).length).toBe(6);
    expect(await ids("status=200")).toEqual(expected("status = 200"));
    expect(await ids("outcome=duplicate")).toEqual(expected("outcome = 'duplicate'"));
    expect((await ids("outcome=duplicate")).length).toBe(10);
    expect(await ids("outcome=accepted")).toEqual(expected("outcome = 'accepted'"));
    expect(await ids("outcome=rejected&status=415")).toEqual(expected("status = 415"));
    expect(await ids("outcome=duplicate&status=200")).toEqual(expected("outcome = 'duplicate'"));
    const [refused] = (
      await apiJson<{ items: Record<string, unknown>[] }>(world, "/api/deliveries?status=415")
    ).items;
    expect(refused).toMatchObject({
      method: "POST",
      path: "/webhooks/maildesk",
      outcome: "rejected",
    });
    expect(refused?.reason).toMatch(/^unsupported_media_type/);
  });

  it("refuses an unknown outcome and a status that is not an HTTP status", async () => {
    expect((await api(world, "/api/deliveries?outcome=lost")).status).toBe(400);
    expect((await api(world, "/api/deliveries?status=99")).status).toBe(400);
    expect((await api(world, "/api/deliveries?status=abc")).status).toBe(400);
  });
});

describe("GET /api/subscribers", () => {
  it("answers 501 while the store offers no subscriber mirror, rather than made-up data", async () => {
    for (const path of ["/api/subscribers", "/api/subscribers/contact-1"]) {
      const response = await api(world, path);
      expect(response.status).toBe(501);
      expect(await response.json()).toEqual({
        error: "not_implemented",
        message: "The subscriber mirror is not available in this build.",
      });
    }
  });
});

interface Stats {
  events: unknown;
  outbox: { byState: unknown; unfinishedByHandler: Record<string, unknown> };
  deliveries: { last24h: { byOutcome: unknown } };
  subscribers: unknown;
  ingest: unknown;
  background: unknown;
}

describe("GET /api/stats", () => {
  it("counts events by type, outbox rows by state and handler, and the last day's deliveries", async () => {
    await postEvents(world, 9, (i) =>
      sampleEvent({
        eventId: `evt-${i}`,
        type: i < 6 ? "subscriber.created" : "subscriber.updated",
      }),
    );
    await world.post("not json");
    await world.flush();
    spreadStates();

    const stats = await apiJson<Stats>(world, "/api/stats");

    expect(stats.events).toEqual({
      total: 9,
      byType: { "subscriber.created": 6, "subscriber.updated": 3 },
    });
    const byState = (where: string) =>
      world.rows<{ n: number }>(`SELECT count(*) AS n FROM outbox WHERE ${where}`)[0]?.n;
    expect(stats.outbox.byState).toEqual({
      pending: byState("state = 'pending'"),
      processing: byState("state = 'processing'"),
      done: byState("state = 'done'"),
      dead: byState("state = 'dead'"),
    });
    const unfinished = world.rows<{ state: string; n: number }>(
      "SELECT state, count(*) AS n FROM outbox WHERE handler = 'forward' AND state <> 'done' GROUP BY state",
    );
    expect(stats.outbox.unfinishedByHandler.forward).toEqual(
      Object.fromEntries(unfinished.map((row) => [row.state, row.n])),
    );
    expect(stats.deliveries.last24h.byOutcome).toEqual({ accepted: 9, rejected: 1 });
    expect(stats.subscribers).toBeNull();
    expect(stats.ingest).toMatchObject({ accepted: 9, duplicates: 0 });
    expect(stats.background).toMatchObject({ components: expect.any(Object) });
  });

  it("leaves out of the last 24 hours what came before", async () => {
    await postEvents(world, 3, (i) => sampleEvent({ eventId: `evt-${i}` }));
    await world.flush();
    world.writerSqlite.exec(
      `UPDATE deliveries SET received_at = received_at - ${25 * 3600_000} WHERE id <= 2`,
    );

    const stats = await apiJson<Stats>(world, "/api/stats");

    expect(stats.deliveries.last24h.byOutcome).toEqual({ accepted: 1 });
  });
});
