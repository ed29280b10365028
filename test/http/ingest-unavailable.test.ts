import { Database } from "bun:sqlite";
import { afterEach, describe, expect, it } from "bun:test";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

let world: World;

afterEach(async () => {
  await world.close();
});

const countEvents = () => world.rows<{ n: number }>("SELECT count(*) AS n FROM events")[0]?.n;

async function expectUnavailable(response: Response, code: string) {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(((await response.json()) as { error: string }).error).toBe(code);
}

describe("when storage fails", () => {
  it("answers 503 with Retry-After while the database is full, and recovers after", async () => {
    world = await createWorld({}, { inlineWriter: true });
    await world.post(sampleEvent({ eventId: "before-full" }));
    await world.flush();
    const pages = world.rows<{ page_count: number }>("PRAGMA page_count")[0]?.page_count as number;
    world.writerSqlite.exec(`PRAGMA max_page_count = ${pages}`);

    const body = sampleEvent({ eventId: "during-full", pad: "x".repeat(20_000) });
    await expectUnavailable(await world.post(body), "storage_unavailable");
    expect(countEvents()).toBe(1);
    expect(world.logs.some((l) => l.level === "error" && l.storageCode === "SQLITE_FULL")).toBe(
      true,
    );

    world.writerSqlite.exec("PRAGMA max_page_count = 1073741823");
    const retried = await world.post(body);
    expect(await retried.json()).toEqual({ status: "accepted", eventId: "during-full" });
    expect(countEvents()).toBe(2);
  });

  it("answers 503 while the database refuses writes, and recovers after", async () => {
    world = await createWorld({}, { inlineWriter: true });
    world.writerSqlite.exec("PRAGMA query_only = ON");

    await expectUnavailable(
      await world.post(sampleEvent({ eventId: "ro-1" })),
      "storage_unavailable",
    );

    world.writerSqlite.exec("PRAGMA query_only = OFF");
    expect((await world.post(sampleEvent({ eventId: "ro-1" }))).status).toBe(200);
    expect(countEvents()).toBe(1);
  });

  it("answers 503 when another process holds the lock past the busy timeout", async () => {
    world = await createWorld({ SQLITE_BUSY_TIMEOUT_MS: "50" });
    const other = new Database(world.config.databasePath);
    other.exec("BEGIN IMMEDIATE");

    await expectUnavailable(
      await world.post(sampleEvent({ eventId: "locked-1" })),
      "storage_unavailable",
    );

    other.exec("ROLLBACK");
    other.close();
    expect((await world.post(sampleEvent({ eventId: "locked-1" }))).status).toBe(200);
  });

  it("keeps the delivery-log rows of a failed commit and writes them once it recovers", async () => {
    world = await createWorld({}, { inlineWriter: true });
    world.writerSqlite.exec("PRAGMA query_only = ON");
    await world.post("{");
    await world.post(sampleEvent({ eventId: "late-log" }));
    await world.flush();

    world.writerSqlite.exec("PRAGMA query_only = OFF");
    await world.flush();

    const rows = world.rows<{ status: number; outcome: string }>(
      "SELECT status, outcome FROM deliveries ORDER BY id",
    );
    expect(rows).toEqual([
      { status: 400, outcome: "rejected" },
      { status: 503, outcome: "unavailable" },
    ]);
  });
});

describe("when too many requests wait for a commit", () => {
  it("sheds the excess with 503 and Retry-After, and stores only what it accepted", async () => {
    world = await createWorld({ INGEST_MAX_PENDING: "5" });

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => world.post(sampleEvent({ eventId: `burst-${i}` }))),
    );

    const accepted = responses.filter((r) => r.status === 200);
    const shed = responses.filter((r) => r.status === 503);
    expect(accepted).toHaveLength(5);
    expect(shed).toHaveLength(15);
    await expectUnavailable(shed[0] as Response, "overloaded");
    expect(countEvents()).toBe(5);
    expect(world.store.ingest.stats.shed).toBe(15);
  });

  it("counts waiting bytes too", async () => {
    world = await createWorld({ INGEST_MAX_PENDING_BYTES: "65536" });
    const big = (i: number) => sampleEvent({ eventId: `big-${i}`, pad: "x".repeat(30_000) });

    const responses = await Promise.all([0, 1, 2, 3].map((i) => world.post(big(i))));

    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 503, 503]);
  });
});
