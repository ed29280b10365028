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

  it("retries a dead row and refuses one that is not dead with 409", async () => {
    await postEvents(world, 4, (i) => sampleEvent({ eventId: `evt-${i}` }));
    spreadStates();
    const state = (id: number) =>
      world.rows<{ state: string; attempts: number }>(
        "SELECT state, attempts FROM outbox WHERE id = ?",
        id,
      )[0];
    world.writerSqlite.exec("UPDATE outbox SET attempts = 15 WHERE state = 'dead'");

    const dead = await api(world, "/api/outbox/3/retry", { method: "POST" });
    const pending = await api(world, "/api/outbox/4/retry", { method: "POST" });

    expect(dead.status).toBe(200);
    expect(await dead.json()).toMatchObject({ id: 3, state: "pending", attempts: 0 });
    expect(state(3)).toEqual({ state: "pending", attempts: 0 });
    expect(pending.status).toBe(409);
    expect(await pending.json()).toMatchObject({ error: "conflict" });
    expect(state(4)?.state).toBe("pending");
  });

  it("retries every dead row of one handler, and only those", async () => {
    await postEvents(world, 24, (i) => sampleEvent({ eventId: `evt-${i}` }));
    spreadStates();
    const deadOf = (handler: string) =>
      world.rows<{ n: number }>(
        "SELECT count(*) AS n FROM outbox WHERE state = 'dead' AND handler = ?",
        handler,
      )[0]?.n;
    const deadSubscribers = deadOf("subscribers") as number;
    const deadForward = deadOf("forward") as number;
    expect(deadSubscribers).toBeGreaterThan(0);
    expect(deadForward).toBeGreaterThan(0);

    const response = await api(world, "/api/outbox/retry-dead?handler=subscribers", {
      method: "POST",
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ retried: deadSubscribers });
    expect(deadOf("subscribers")).toBe(0);
    expect(deadOf("forward")).toBe(deadForward);
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
  interface Subscriber {
    id: string;
    email: string | null;
    status: string | null;
    firstName: string | null;
    confirmedAt: string | null;
    unsubscribedAt: string | null;
    history?: { eventId: string; type: string; outcome: string }[];
  }

  async function mirrored(): Promise<World> {
    const processed = await createWorld(API_TEST_ENV, { worker: true });
    const contacts = ["c-1", "c-2", "c-3", "c-4", "c-5"];
    await postEvents(processed, contacts.length, (i) =>
      sampleEvent({ eventId: `created-${i}`, id: contacts[i], email: `r${i}@example.com` }),
    );
    await postEvents(processed, 2, (i) =>
      sampleEvent({
        type: "subscriber.confirmed",
        eventId: `confirmed-${i}`,
        id: contacts[i],
        email: `r${i}@example.com`,
      }),
    );
    await processed.post(
      sampleEvent({
        type: "subscriber.unsubscribed",
        eventId: "unsubscribed-4",
        id: "c-5",
        status: "unsubscribed",
      }),
    );
    await processed.post(
      sampleEvent({ eventId: "by-email", id: undefined, email: "Solo@Example.com" }),
    );
    const unfinished = () =>
      processed.rows<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE state <> 'done'")[0]?.n;
    for (let waited = 0; unfinished() !== 0; waited += 10) {
      if (waited > 5000) throw new Error("the worker did not finish the outbox in 5 s");
      await Bun.sleep(10);
    }
    return processed;
  }

  it("lists the mirror newest contact first, by page, and filters by status and email", async () => {
    const processed = await mirrored();
    try {
      const pages = await walkPages<Subscriber>(processed, "/api/subscribers?limit=2");
      const unsubscribed = await apiJson<{ items: Subscriber[] }>(
        processed,
        "/api/subscribers?status=unsubscribed",
      );
      const byEmail = await apiJson<{ items: Subscriber[] }>(
        processed,
        "/api/subscribers?email=r2@example.com",
      );

      expect(pages.map((page) => page.length)).toEqual([2, 2, 2]);
      expect(pages.flat().map((s) => s.id)).toEqual([
        "solo@example.com",
        "c-5",
        "c-4",
        "c-3",
        "c-2",
        "c-1",
      ]);
      expect(unsubscribed.items.map((s) => s.id)).toEqual(["c-5"]);
      expect(unsubscribed.items[0]?.unsubscribedAt).not.toBeNull();
      expect(byEmail.items.map((s) => s.id)).toEqual(["c-3"]);
    } finally {
      await processed.close();
    }
  });

  it("shows one contact with its history, by id or by the e-mail it is keyed by", async () => {
    const processed = await mirrored();
    try {
      const contact = await apiJson<Subscriber>(processed, "/api/subscribers/c-1");
      const solo = await apiJson<Subscriber>(processed, "/api/subscribers/solo@example.com");
      const missing = await api(processed, "/api/subscribers/c-404");

      expect(contact).toMatchObject({ id: "c-1", email: "r0@example.com", firstName: "Ada" });
      expect(contact.confirmedAt).not.toBeNull();
      expect(contact.history?.map((h) => [h.eventId, h.outcome])).toEqual([
        ["created-0", "applied"],
        ["confirmed-0", "applied"],
      ]);
      expect(solo.id).toBe("solo@example.com");
      expect(missing.status).toBe(404);
    } finally {
      await processed.close();
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

    // No worker runs in this world: nothing is processed, so no type is counted yet.
    expect(stats.events).toEqual({ total: 9, byType: {} });
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
    expect(stats.subscribers).toEqual({ byStatus: {} });
    expect(stats.ingest).toMatchObject({ accepted: 9, duplicates: 0 });
    expect(stats.background).toMatchObject({ components: expect.any(Object) });
  });

  it("counts events by type once the worker has processed them", async () => {
    const processed = await createWorld(API_TEST_ENV, { worker: true });
    try {
      await postEvents(processed, 9, (i) =>
        sampleEvent({
          eventId: `evt-${i}`,
          type: i < 6 ? "subscriber.created" : "subscriber.updated",
        }),
      );
      const unfinished = () =>
        processed.rows<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE state <> 'done'")[0]
          ?.n;
      for (let waited = 0; unfinished() !== 0 && waited < 5000; waited += 10) await Bun.sleep(10);

      const stats = await apiJson<Stats>(processed, "/api/stats");

      expect(stats.events).toEqual({
        total: 9,
        byType: { "subscriber.created": 6, "subscriber.updated": 3 },
      });
    } finally {
      await processed.close();
    }
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
