import { afterEach, describe, expect, it } from "bun:test";
import { Webhook } from "standardwebhooks";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

const HMAC_SECRET = `whsec_${Buffer.from("a 24-byte signing secret").toString("base64")}`;
const URL_SECRET = "path-secret-0123456789";
const basic = (password: string) =>
  `Basic ${Buffer.from(`maildesk:${password}`).toString("base64")}`;

let world: World;

afterEach(async () => {
  await world.close();
});

function signed(
  body: string,
  secret = HMAC_SECRET,
  timestampSeconds = Math.floor(Date.now() / 1000),
) {
  const id = `msg_${crypto.randomUUID()}`;
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body),
  };
}

async function deliveries() {
  await world.flush();
  return world.rows<{ status: number; outcome: string; reason: string; body_bytes: number | null }>(
    "SELECT status, outcome, reason, body_bytes FROM deliveries ORDER BY id",
  );
}

describe("the combination hmac,ip", () => {
  async function receiver() {
    world = await createWorld({
      WEBHOOK_VERIFIERS: "hmac,ip",
      WEBHOOK_HMAC_SECRETS: HMAC_SECRET,
      WEBHOOK_IP_ALLOWLIST: "192.0.2.0/24",
    });
    return world;
  }

  it("accepts a signed request from an allowed address", async () => {
    (await receiver()).peer = "192.0.2.1";
    const body = sampleEvent();

    expect((await world.post(body, { headers: signed(body) })).status).toBe(200);
  });

  it("refuses a signed request from another address with 403", async () => {
    (await receiver()).peer = "198.51.100.1";
    const body = sampleEvent();

    expect((await world.post(body, { headers: signed(body) })).status).toBe(403);
  });

  it("refuses an unsigned request from an allowed address with 401", async () => {
    (await receiver()).peer = "192.0.2.1";
    const body = sampleEvent();

    expect((await world.post(body, { headers: signed(body, HMAC_SECRET, 1) })).status).toBe(401);
    expect((await world.post(body)).status).toBe(401);
    expect(world.rows("SELECT * FROM events")).toHaveLength(0);
  });
});

describe("the chain", () => {
  it("checks the address first, whatever the order of WEBHOOK_VERIFIERS", async () => {
    world = await createWorld({
      WEBHOOK_VERIFIERS: "basic,url-secret,ip",
      WEBHOOK_BASIC_USER: "maildesk",
      WEBHOOK_BASIC_PASSWORD: "pw",
      WEBHOOK_URL_SECRETS: URL_SECRET,
      WEBHOOK_IP_ALLOWLIST: "192.0.2.1",
    });
    world.peer = "198.51.100.1";

    const response = await world.post(sampleEvent(), { headers: { authorization: basic("no") } });

    expect(response.status).toBe(403);
    expect((await deliveries())[0]?.reason).toStartWith("forbidden: ip: ");
  });

  it("refuses before reading the body when a header check fails", async () => {
    world = await createWorld({ WEBHOOK_VERIFIERS: "url-secret", WEBHOOK_URL_SECRETS: URL_SECRET });

    await world.post(sampleEvent({ pad: "x".repeat(10_000) }));

    expect(await deliveries()).toEqual([
      {
        status: 401,
        outcome: "rejected",
        reason: "unauthorized: url-secret: no secret in the path",
        body_bytes: null,
      },
    ]);
    expect(world.rows("SELECT * FROM events")).toHaveLength(0);
  });

  it("never stores a body whose signature fails, and records the reason", async () => {
    world = await createWorld({ WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: HMAC_SECRET });
    const body = sampleEvent({ eventId: "refused-1" });

    await world.post(body, { headers: signed(`${body} `) });

    expect(world.rows("SELECT * FROM events")).toHaveLength(0);
    expect(world.rows("SELECT * FROM outbox")).toHaveLength(0);
    expect(await deliveries()).toEqual([
      {
        status: 401,
        outcome: "rejected",
        reason: "unauthorized: hmac: no signature matches any of WEBHOOK_HMAC_SECRETS",
        body_bytes: body.length,
      },
    ]);
  });

  it("answers every failed check with the same body and headers", async () => {
    world = await createWorld({
      WEBHOOK_VERIFIERS: "url-secret,basic,hmac",
      WEBHOOK_URL_SECRETS: URL_SECRET,
      WEBHOOK_BASIC_USER: "maildesk",
      WEBHOOK_BASIC_PASSWORD: "pw",
      WEBHOOK_HMAC_SECRETS: HMAC_SECRET,
    });
    const path = `/webhooks/maildesk/${URL_SECRET}`;
    const body = sampleEvent();
    const good = { authorization: basic("pw"), ...signed(body) };
    const failures: [string, Parameters<World["post"]>[1]][] = [
      ["no path secret", { headers: good }],
      ["a wrong path secret", { path: `${path}x`, headers: good }],
      ["no credentials", { path, headers: signed(body) }],
      ["a wrong password", { path, headers: { ...good, authorization: basic("px") } }],
      ["no signature", { path, headers: { authorization: basic("pw") } }],
      ["a wrong signature", { path, headers: { ...good, ...signed(`${body} `) } }],
      ["a stale timestamp", { path, headers: { ...good, ...signed(body, HMAC_SECRET, 1) } }],
    ];

    const answers = [];
    for (const [, init] of failures) {
      const response = await world.post(body, init);
      const headers = Object.fromEntries(
        [...response.headers].filter(([name]) => name !== "x-request-id"),
      );
      answers.push({ status: response.status, headers, body: await response.text() });
    }

    expect((await world.post(body, { path, headers: good })).status).toBe(200);
    expect(new Set((await deliveries()).slice(0, failures.length).map((d) => d.reason)).size).toBe(
      failures.length,
    );
    for (const answer of answers) expect(answer).toEqual(answers[0] as (typeof answers)[0]);
    expect(answers[0]?.headers["www-authenticate"]).toBe('Basic realm="maildesk"');
  });

  it("warns about settings of a verifier that is not listed", async () => {
    world = await createWorld({
      WEBHOOK_VERIFIERS: "ip",
      WEBHOOK_IP_ALLOWLIST: "192.0.2.1",
      WEBHOOK_HMAC_SECRETS: HMAC_SECRET,
    });

    const warning = world.logs.find((line) => line.level === "warn");

    expect(warning).toMatchObject({ verifier: "hmac" });
    expect(JSON.stringify(world.logs)).not.toContain(HMAC_SECRET);
  });
});
