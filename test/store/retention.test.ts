import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { createRetention } from "../../src/store/retention.ts";
import { postEvents } from "../support/api.ts";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

const DAY_MS = 24 * 3600_000;

let world: World;

beforeEach(async () => {
  world = await createWorld({}, { inlineWriter: true });
});

afterEach(async () => {
  await world.close();
});

/** Moves the first `count` events (and their delivery rows) `days` into the past. */
function age(count: number, days: number) {
  const shift = days * DAY_MS;
  world.writerSqlite.exec(
    `UPDATE events SET received_at = received_at - ${shift} WHERE seq <= ${count}`,
  );
  world.writerSqlite.exec(
    `UPDATE deliveries SET received_at = received_at - ${shift} WHERE id <= ${count}`,
  );
}

const count = (table: string) =>
  world.rows<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0]?.n;

function retention(
  options: { deliveriesDays: number | null; eventsDays: number | null },
  now = Date.now(),
) {
  return createRetention(world.writerSqlite, world.log, {
    ...options,
    now: () => now,
    batchSize: 7,
    schedule: false,
  });
}

describe("retention", () => {
  it("deletes delivery-log rows older than RETENTION_DELIVERIES_DAYS, in batches, and no others", async () => {
    await postEvents(world, 40, (i) => sampleEvent({ eventId: `evt-${i}` }));
    await world.flush();
    age(25, 31);

    const run = await retention({ deliveriesDays: 30, eventsDays: null }).runOnce();

    expect(run).toEqual({ deliveriesDeleted: 25, eventsDeleted: 0 });
    expect(count("deliveries")).toBe(15);
    expect(count("events")).toBe(40);
  });

  it("goes by the injected clock: the same rows are kept when it is a day earlier", async () => {
    await postEvents(world, 10, (i) => sampleEvent({ eventId: `evt-${i}` }));
    await world.flush();
    age(10, 31);

    const run = await retention(
      { deliveriesDays: 30, eventsDays: null },
      Date.now() - 2 * DAY_MS,
    ).runOnce();

    expect(run.deliveriesDeleted).toBe(0);
    expect(count("deliveries")).toBe(10);
  });

  it("deletes old events only when all their outbox rows are done, with their outbox rows", async () => {
    await postEvents(world, 30, (i) => sampleEvent({ eventId: `evt-${i}` }));
    age(20, 10);
    // Of the 20 old events, those with seq % 4 = 0 still have work (or a dead row).
    world.writerSqlite.exec(`UPDATE outbox SET state = 'done' WHERE event_seq % 4 <> 0`);
    world.writerSqlite.exec(`UPDATE outbox SET state = 'dead' WHERE event_seq = 4`);

    const run = await retention({ deliveriesDays: null, eventsDays: 7 }).runOnce();

    expect(run).toEqual({ deliveriesDeleted: 0, eventsDeleted: 15 });
    const kept = world
      .rows<{ seq: number }>("SELECT seq FROM events ORDER BY seq")
      .map((r) => r.seq);
    expect(kept).toEqual([4, 8, 12, 16, 20, ...Array.from({ length: 10 }, (_, i) => 21 + i)]);
    expect(count("outbox")).toBe(15);
    expect(
      world.rows("SELECT * FROM outbox WHERE event_seq NOT IN (SELECT seq FROM events)"),
    ).toEqual([]);
  });

  it("deletes the event keys of the events it deletes, type keys included", async () => {
    await postEvents(world, 12, (i) =>
      sampleEvent({ eventId: `evt-${i}`, id: `c-${i}`, email: `u${i}@example.com` }),
    );
    age(8, 10);
    world.writerSqlite.exec("UPDATE outbox SET state = 'done'");
    // The keys the worker writes for each event.
    world.writerSqlite.exec(
      `INSERT OR IGNORE INTO event_keys (key, event_seq)
         SELECT 'type:' || type, seq FROM events
         UNION ALL SELECT 'id:' || contact_id, seq FROM events WHERE contact_id IS NOT NULL
         UNION ALL SELECT 'email:' || email, seq FROM events WHERE email IS NOT NULL`,
    );
    expect(count("event_keys")).toBe(36);

    const run = await retention({ deliveriesDays: null, eventsDays: 7 }).runOnce();

    expect(run.eventsDeleted).toBe(8);
    expect(
      world.rows("SELECT * FROM event_keys WHERE event_seq NOT IN (SELECT seq FROM events)"),
    ).toEqual([]);
    expect(count("event_keys")).toBe(12);
  });

  it("keeps everything when both retentions are off", async () => {
    await postEvents(world, 5, (i) => sampleEvent({ eventId: `evt-${i}` }));
    await world.flush();
    age(5, 3650);
    world.writerSqlite.exec("UPDATE outbox SET state = 'done'");

    const run = await retention({ deliveriesDays: null, eventsDays: null }).runOnce();

    expect(run).toEqual({ deliveriesDeleted: 0, eventsDeleted: 0 });
    expect(count("events")).toBe(5);
  });

  it("reports its totals in its status, for the heartbeat", async () => {
    await postEvents(world, 3, (i) => sampleEvent({ eventId: `evt-${i}` }));
    await world.flush();
    age(3, 40);
    const component = retention({ deliveriesDays: 30, eventsDays: null });

    await component.runOnce();

    expect(component.status?.()).toMatchObject({ deliveriesDeleted: 3, eventsDeleted: 0 });
  });
});
