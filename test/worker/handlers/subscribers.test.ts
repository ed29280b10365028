import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { ulid } from "ulid";
import type { DatabaseHandler } from "../../../src/worker/handler.ts";
import { createSubscribersHandler } from "../../../src/worker/handlers/subscribers.ts";
import { prepareOutboxStatements } from "../../../src/worker/outbox-statements.ts";
import { createWorkerWorld, type WorkerWorld } from "../../support/worker-world.ts";

let world: WorkerWorld;
let handler: DatabaseHandler;

beforeEach(() => {
  world = createWorkerWorld();
  handler = createSubscribersHandler(world.sqlite);
});

afterEach(() => {
  world.close();
});

const T0 = Date.parse("2026-12-01T10:00:00Z");
const ulidAt = (offsetMs: number) => ulid(T0 + offsetMs);

/** Applies stored events in the given order, each as the worker would (in a transaction). */
function apply(...seqs: number[]): string[] {
  const statements = prepareOutboxStatements(world.sqlite);
  return seqs.map((seq) => {
    const event = statements.loadEvent(seq);
    if (!event) throw new Error(`no event ${seq}`);
    world.sqlite.exec("BEGIN IMMEDIATE");
    const outcome = handler.apply(event, world.clock.now());
    world.sqlite.exec("COMMIT");
    if (outcome.kind !== "success") throw new Error(`expected a success, got ${outcome.kind}`);
    return outcome.note;
  });
}

/** Stores events one after another, a millisecond of receipt time apart. */
function store(...events: Record<string, unknown>[]): number[] {
  return events.flatMap((event) => {
    world.clock.advance(1);
    return world.store([event]);
  });
}

/** The mirror's rows, without the time the worker wrote them or the row's number. */
function subscribers() {
  return world
    .rows<Record<string, unknown>>("SELECT * FROM subscribers ORDER BY key")
    .map(({ updated_at: _, id: __, ...row }) => row);
}

function subscriber(key: string) {
  return subscribers().find((row) => row.key === key);
}

function history(key: string) {
  return world.rows<{ event_id: string; type: string; outcome: string; event_at: number }>(
    `SELECT h.event_id, h.type, h.outcome, h.event_at
       FROM subscriber_events h JOIN subscribers s ON s.id = h.subscriber_id
      WHERE s.key = ? ORDER BY h.event_seq`,
    key,
  );
}

function resetMirror() {
  world.sqlite.exec("DELETE FROM subscriber_events; DELETE FROM subscribers");
}

const createdAda = {
  type: "subscriber.created",
  eventId: ulidAt(0),
  id: "c-1",
  email: "ada@example.com",
  firstName: "Ada",
  lastName: "Lovelace",
  status: "pending",
  createdAt: "2026-11-30T09:00:00Z",
};

describe("each event type", () => {
  it("creates the subscriber from subscriber.created", () => {
    apply(...store(createdAda));

    expect(subscriber("id:c-1")).toMatchObject({
      contact_id: "c-1",
      email: "ada@example.com",
      first_name: "Ada",
      last_name: "Lovelace",
      status: "pending",
      created_at_raw: "2026-11-30T09:00:00Z",
      created_at: Date.parse("2026-11-30T09:00:00Z"),
      confirmed_at: null,
      unsubscribed_at: null,
      last_event_id: createdAda.eventId,
      last_event_type: "subscriber.created",
      last_event_at: T0,
    });
    expect(history("id:c-1")).toEqual([
      {
        event_id: createdAda.eventId,
        type: "subscriber.created",
        outcome: "applied",
        event_at: T0,
      },
    ]);
  });

  it("changes only the fields that subscriber.updated carries", () => {
    apply(
      ...store(createdAda, {
        type: "subscriber.updated",
        eventId: ulidAt(1000),
        id: "c-1",
        lastName: "King",
      }),
    );

    expect(subscriber("id:c-1")).toMatchObject({
      first_name: "Ada",
      last_name: "King",
      email: "ada@example.com",
      status: "pending",
      created_at_raw: "2026-11-30T09:00:00Z",
      last_event_type: "subscriber.updated",
    });
  });

  it("clears a field sent as null, and ignores one of the wrong type", () => {
    apply(
      ...store(createdAda, {
        type: "subscriber.updated",
        eventId: ulidAt(1000),
        id: "c-1",
        lastName: null,
        firstName: { given: "Ada" },
      }),
    );

    expect(subscriber("id:c-1")).toMatchObject({ first_name: "Ada", last_name: null });
  });

  it("sets confirmedAt to the event's time on subscriber.confirmed", () => {
    const confirmed = { type: "subscriber.confirmed", eventId: ulidAt(5000), id: "c-1" };

    apply(...store(createdAda, confirmed));

    expect(subscriber("id:c-1")).toMatchObject({
      confirmed_at: T0 + 5000,
      status: "pending",
      first_name: "Ada",
    });
  });

  it("sets unsubscribedAt and the status on subscriber.unsubscribed", () => {
    const unsubscribed = { type: "subscriber.unsubscribed", eventId: ulidAt(9000), id: "c-1" };

    apply(...store(createdAda, unsubscribed));

    expect(subscriber("id:c-1")).toMatchObject({
      unsubscribed_at: T0 + 9000,
      status: "unsubscribed",
    });
  });

  it("takes the status an unsubscribe event carries", () => {
    apply(
      ...store({
        type: "subscriber.unsubscribed",
        eventId: ulidAt(9000),
        id: "c-1",
        status: "bounced",
      }),
    );

    expect(subscriber("id:c-1")).toMatchObject({ status: "bounced", unsubscribed_at: T0 + 9000 });
  });

  it("reads a numeric contact id as text", () => {
    apply(...store({ type: "subscriber.created", eventId: "n-1", id: 42, email: "n@example.com" }));

    expect(subscriber("id:42")).toMatchObject({ contact_id: "42" });
  });
});

describe("skipped events", () => {
  it("skips an unknown type, with the reason, and writes nothing", async () => {
    world.store([{ type: "subscriber.merged", eventId: "u-1", id: "c-1", email: "a@example.com" }]);

    await world.worker().runOnce();

    expect(world.outbox()[0]).toMatchObject({ state: "done", result: "skipped: unknown type" });
    expect(subscribers()).toEqual([]);
  });

  it("skips an event with neither a contact id nor an email, with the reason", async () => {
    world.store([{ type: "subscriber.updated", eventId: "x-1", firstName: "Nobody" }]);

    await world.worker().runOnce();

    expect(world.outbox()[0]).toMatchObject({
      state: "done",
      result: "skipped: no contact id or email",
    });
    expect(subscribers()).toEqual([]);
  });
});

describe("keying", () => {
  it("keys a contact without an id by its lower-cased address", () => {
    const [first, second] = store(
      { type: "subscriber.created", eventId: ulidAt(0), email: "Grace@Example.com" },
      { type: "subscriber.confirmed", eventId: ulidAt(1), email: "grace@example.COM" },
    );
    apply(first as number, second as number);

    expect(subscribers()).toEqual([
      expect.objectContaining({
        key: "email:grace@example.com",
        contact_id: null,
        email: "grace@example.COM",
        confirmed_at: T0 + 1,
      }),
    ]);
  });

  it("keeps an email-keyed contact apart from a later event with an id and the same address", () => {
    apply(
      ...store(
        { type: "subscriber.created", eventId: ulidAt(0), email: "grace@example.com" },
        { type: "subscriber.updated", eventId: ulidAt(1), id: "c-9", email: "grace@example.com" },
      ),
    );

    expect(subscribers().map((row) => [row.key, row.email])).toEqual([
      ["email:grace@example.com", "grace@example.com"],
      ["id:c-9", "grace@example.com"],
    ]);
  });
});

describe("ordering", () => {
  const updated = {
    type: "subscriber.updated",
    eventId: ulidAt(2000),
    id: "c-1",
    firstName: "Augusta",
    status: "active",
  };

  it("never lets an older event overwrite newer state, and records it as stale", () => {
    const [older, newer] = store(createdAda, updated);

    expect(apply(newer as number, older as number)).toEqual(["applied", "stale"]);

    expect(subscriber("id:c-1")).toMatchObject({
      first_name: "Augusta",
      status: "active",
      // Fields the newer event did not carry come from the older one.
      last_name: "Lovelace",
      email: "ada@example.com",
      last_event_id: updated.eventId,
    });
    expect(history("id:c-1").map((h) => [h.event_id, h.outcome])).toEqual([
      [createdAda.eventId, "stale"],
      [updated.eventId, "applied"],
    ]);
  });

  it("orders ULID events by their time, not by when they arrived", () => {
    // The newer change arrives first.
    const [newer, older] = store(updated, createdAda);
    apply(newer as number, older as number);

    expect(subscriber("id:c-1")).toMatchObject({ first_name: "Augusta", status: "active" });
  });

  it("ends in the same state in both orders for a ULID pair", () => {
    const [a, b] = store(createdAda, updated) as [number, number];

    apply(a, b);
    const inOrder = subscribers();
    resetMirror();
    apply(b, a);

    expect(subscribers()).toEqual(inOrder);
  });

  it("orders events without ULIDs by receipt, in both processing orders", () => {
    const first = { type: "subscriber.created", eventId: "evt-b", id: "c-2", firstName: "Old" };
    const second = { type: "subscriber.updated", eventId: "evt-a", id: "c-2", firstName: "New" };
    const [a, b] = store(first, second) as [number, number];

    apply(b, a);
    const reversed = subscribers();
    resetMirror();
    apply(a, b);

    expect(subscribers()).toEqual(reversed);
    expect(subscriber("id:c-2")).toMatchObject({ first_name: "New", last_event_id: "evt-a" });
  });

  it("ends in the same state for every processing order of a contact's events", () => {
    const seqs = store(
      createdAda,
      { type: "subscriber.updated", eventId: ulidAt(1000), id: "c-1", lastName: "King" },
      { type: "subscriber.confirmed", eventId: ulidAt(2000), id: "c-1", status: "active" },
      { type: "subscriber.unsubscribed", eventId: ulidAt(3000), id: "c-1" },
      { type: "subscriber.updated", eventId: "not-a-ulid", id: "c-1", firstName: "Augusta" },
    );
    apply(...seqs);
    const expected = subscribers();

    for (const order of permutations(seqs)) {
      resetMirror();
      apply(...order);
      expect(subscribers()).toEqual(expected);
    }
    expect(expected[0]).toMatchObject({
      first_name: "Augusta",
      last_name: "King",
      status: "unsubscribed",
      confirmed_at: T0 + 2000,
      unsubscribed_at: T0 + 3000,
    });
  });
});

describe("idempotence", () => {
  it("changes nothing when the same event is applied twice", () => {
    const [seq] = store(createdAda) as [number];
    apply(seq);
    const before = world.rows("SELECT * FROM subscribers");
    world.clock.advance(60_000);

    expect(apply(seq)).toEqual(["already applied"]);

    expect(world.rows("SELECT * FROM subscribers")).toEqual(before);
    expect(history("id:c-1")).toHaveLength(1);
  });
});

describe("indexes for the query API", () => {
  const plan = (sql: string, ...params: (string | number)[]) =>
    world
      .rows<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...params)
      .map((row) => row.detail)
      .join("\n");

  it("lists subscribers by status newest first through an index, without a sort", () => {
    const detail = plan(
      "SELECT * FROM subscribers WHERE status = ? AND id < ? ORDER BY id DESC LIMIT 50",
      "active",
      1000,
    );

    expect(detail).toContain("USING INDEX subscribers_status_idx");
    expect(detail).not.toContain("TEMP B-TREE");
  });

  it("finds subscribers by email through an index", () => {
    const detail = plan(
      "SELECT * FROM subscribers WHERE email = ? ORDER BY id DESC",
      "a@example.com",
    );

    expect(detail).toContain("USING INDEX subscribers_email_idx");
    expect(detail).not.toContain("TEMP B-TREE");
  });

  it("finds a subscriber by key, and reads its history through the primary key's index", () => {
    const bySubscriber = plan("SELECT * FROM subscribers WHERE key = ?", "id:c-1");
    const history = plan(
      "SELECT * FROM subscriber_events WHERE subscriber_id = ? ORDER BY event_seq",
      1,
    );

    expect(bySubscriber).toContain("USING INDEX subscribers_key_unique (key=?)");
    expect(history).toMatch(
      /USING INDEX sqlite_autoindex_subscriber_events_1 \(subscriber_id=\?\)/,
    );
    expect(history).not.toContain("TEMP B-TREE");
  });
});

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}
