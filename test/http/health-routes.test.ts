import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { createWorld, type World } from "../support/world.ts";

let world: World;

beforeEach(async () => {
  world = await createWorld();
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

  it("answers /readyz with the database and its migrations", async () => {
    const response = await get("/readyz");

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ready",
      store: { ok: true, database: "ok", migrations: { applied: 2, expected: 2 } },
    });
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
