import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { isExpectedToken } from "../../src/api/bearer-auth.ts";
import { API_TEST_ENV, api, TEST_ADMIN_TOKEN } from "../support/api.ts";
import { createWorld, type World } from "../support/world.ts";

let world: World;

beforeAll(async () => {
  world = await createWorld(API_TEST_ENV);
});

afterAll(async () => {
  await world.close();
});

async function expectUnauthorized(response: Response, challenge: RegExp) {
  expect(response.status).toBe(401);
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(response.headers.get("www-authenticate")).toMatch(challenge);
  expect(await response.json()).toEqual({
    error: "unauthorized",
    message: "A valid bearer token is required.",
  });
}

describe("the API's bearer token", () => {
  it("is required: no Authorization header gets 401 with a Bearer challenge", async () => {
    await expectUnauthorized(await api(world, "/api/events", { token: null }), /^Bearer realm=/);
  });

  it("refuses a wrong token with 401 and invalid_token", async () => {
    await expectUnauthorized(
      await api(world, "/api/events", { token: "nope" }),
      /error="invalid_token"/,
    );
  });

  it("refuses a wrong token of the same length", async () => {
    const sameLength = `${TEST_ADMIN_TOKEN.slice(0, -1)}X`;
    expect(sameLength.length).toBe(TEST_ADMIN_TOKEN.length);

    await expectUnauthorized(
      await api(world, "/api/events", { token: sameLength }),
      /error="invalid_token"/,
    );
  });

  it("refuses other schemes, such as Basic with the token as password", async () => {
    const basic = Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString("base64");
    const response = await api(world, "/api/events", {
      token: null,
      headers: { authorization: `Basic ${basic}` },
    });

    await expectUnauthorized(response, /^Bearer realm=/);
  });

  it("is checked before the parameters: a bad query without a token is 401, not 400", async () => {
    const response = await api(world, "/api/events?limit=99999", { token: null });

    expect(response.status).toBe(401);
  });

  it("never reaches the handler: a refused replay leaves the store untouched", async () => {
    await world.post(JSON.stringify({ type: "subscriber.created", eventId: "evt-auth-1" }));
    const before = world.rows("SELECT * FROM outbox");

    const response = await api(world, "/api/events/evt-auth-1/replay", {
      method: "POST",
      token: "wrong-token-wrong-token",
    });

    expect(response.status).toBe(401);
    expect(world.rows("SELECT * FROM outbox")).toEqual(before);
    expect(world.logs.some((line) => line.reason === "wrong token")).toBe(true);
  });

  it("accepts the token, with any case of the scheme", async () => {
    const response = await api(world, "/api/events", {
      token: null,
      headers: { authorization: `bearer ${TEST_ADMIN_TOKEN}` },
    });

    expect(response.status).toBe(200);
  });

  it("guards every /api operation of the OpenAPI document", async () => {
    const document = (await (await api(world, "/docs/json", { token: null })).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith("/api/"))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ path, method, op })),
      );
    expect(operations.length).toBeGreaterThanOrEqual(10);

    for (const { path, method, op } of operations) {
      const concrete = path.replace(/\{[^}]+\}/g, "1");
      const response = await api(world, concrete, { method: method.toUpperCase(), token: null });
      expect({ path, method, status: response.status }).toEqual({ path, method, status: 401 });
      expect(op.security).toEqual([{ bearerAuth: [] }]);
    }
  });

  it("leaves the webhook endpoint to its own verifiers: the admin token is not needed there", async () => {
    const response = await world.post(JSON.stringify({ type: "t", eventId: "evt-auth-2" }));

    expect(response.status).toBe(200);
  });
});

describe("isExpectedToken", () => {
  it("compares whole tokens: a prefix, a longer token and a different one are refused", () => {
    expect(isExpectedToken(TEST_ADMIN_TOKEN, TEST_ADMIN_TOKEN)).toBe(true);
    expect(isExpectedToken(TEST_ADMIN_TOKEN.slice(0, 10), TEST_ADMIN_TOKEN)).toBe(false);
    expect(isExpectedToken(`${TEST_ADMIN_TOKEN}x`, TEST_ADMIN_TOKEN)).toBe(false);
    expect(isExpectedToken("", TEST_ADMIN_TOKEN)).toBe(false);
  });
});

describe("without ADMIN_TOKEN", () => {
  it("accepts the token kept in the database, and a rotated one at once", async () => {
    const own = await createWorld();
    try {
      const { token, created } = await own.store.adminToken.ensure();
      expect(created).toBe(true);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await own.store.adminToken.ensure()).created).toBe(false);
      expect((await api(own, "/api/events", { token })).status).toBe(200);

      const rotated = await own.store.adminToken.rotate();

      expect(rotated).not.toBe(token);
      expect((await api(own, "/api/events", { token })).status).toBe(401);
      expect((await api(own, "/api/events", { token: rotated })).status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it("refuses every token before one is made", async () => {
    const own = await createWorld();
    try {
      expect((await api(own, "/api/events", { token: "x".repeat(43) })).status).toBe(401);
    } finally {
      await own.close();
    }
  });
});
