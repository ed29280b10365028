import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { EMBEDDED_MIGRATION_COUNT } from "../../src/store/database.ts";
import { createWorld, type World } from "../support/world.ts";

let world: World;

beforeEach(async () => {
  world = await createWorld({}, { worker: true });
});

afterEach(async () => {
  await world.close();
});

const get = (path: string) => world.app.handle(new Request(`http://localhost${path}`));

describe("health", () => {
  it("answers /healthz while the process runs", async () => {
    const response = await get("/healthz");

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with the database, its migrations, the writer and the worker", async () => {
    // The worker's first report rides on the writer's next heartbeat.
    for (
      let waited = 0;
      !world.store.workerStatus()?.lastIterationAt && waited < 3000;
      waited += 20
    )
      await Bun.sleep(20);

    const response = await get("/readyz");

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ready",
      store: {
        ok: true,
        database: "ok",
        migrations: { applied: EMBEDDED_MIGRATION_COUNT, expected: EMBEDDED_MIGRATION_COUNT },
      },
      heartbeat: { ok: true },
      worker: { ok: true, running: true },
    });
  });

  it("answers /readyz with 503 while no worker reports", async () => {
    const idle = await createWorld();
    try {
      const response = await idle.app.handle(new Request("http://localhost/readyz"));

      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ worker: { ok: false, running: false } });
    } finally {
      await idle.close();
    }
  });

  it("answers /readyz with 503 when the database is gone", async () => {
    world.sqlite.close();

    const response = await get("/readyz");

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      status: "not_ready",
      store: { database: "unreachable" },
    });
  });
});
