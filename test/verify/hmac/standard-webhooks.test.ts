import { afterEach, describe, expect, it } from "bun:test";
import { Webhook } from "standardwebhooks";
import { createWorld, sampleEvent, type World } from "../../support/world.ts";
import { describeHmacContract, NOW_MS, NOW_SECONDS } from "./contract.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEXT_SECRET = `whsec_${Buffer.from("the next secret, 32 bytes long!!").toString("base64")}`;

function sign(
  secret: string,
  body: string,
  timestampSeconds: number,
  id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
) {
  const signature = new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signature,
  };
}

describeHmacContract("standard-webhooks", {
  env: (secrets) => ({ WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: secrets.join(",") }),
  secrets: [SECRET, NEXT_SECRET],
  foreignSecret: `whsec_${Buffer.from("somebody else's secret").toString("base64")}`,
  sign: async (secret, body, timestampSeconds) => sign(secret, body, timestampSeconds),
  signatureHeaders: ["webhook-id", "webhook-timestamp", "webhook-signature"],
  hasTimestamp: true,
});

describe("standard-webhooks", () => {
  let world: World;

  async function receiver(secrets = SECRET) {
    world = await createWorld({ WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: secrets });
    world.nowMs = NOW_MS;
    return world;
  }

  afterEach(async () => {
    await world.close();
  });

  it("is the default scheme", async () => {
    expect((await receiver()).config.verify.hmac.scheme).toBe("standard-webhooks");
  });

  it("accepts a header with several signatures when one of them matches", async () => {
    const body = sampleEvent();
    const headers = sign(SECRET, body, NOW_SECONDS);
    const other = sign(NEXT_SECRET, body, NOW_SECONDS)["webhook-signature"];
    headers["webhook-signature"] =
      `${other} v1a,${"A".repeat(86)}== ${headers["webhook-signature"]}`;

    expect((await (await receiver()).post(body, { headers })).status).toBe(200);
  });

  it("ignores a valid signature under another version than v1", async () => {
    const body = sampleEvent();
    const headers = sign(SECRET, body, NOW_SECONDS);
    headers["webhook-signature"] = headers["webhook-signature"].replace(/^v1,/, "v2,");

    expect((await (await receiver()).post(body, { headers })).status).toBe(401);
  });

  it("rejects a signature with text appended to it", async () => {
    const body = sampleEvent();
    const headers = sign(SECRET, body, NOW_SECONDS);
    headers["webhook-signature"] += "AAAA";

    expect((await (await receiver()).post(body, { headers })).status).toBe(401);
  });

  it("rejects a signature whose webhook-id was changed", async () => {
    const body = sampleEvent();
    const headers = { ...sign(SECRET, body, NOW_SECONDS), "webhook-id": "msg_other" };

    expect((await (await receiver()).post(body, { headers })).status).toBe(401);
  });

  it("rejects a webhook-timestamp that is not a Unix time in seconds", async () => {
    const body = sampleEvent();
    const headers = { ...sign(SECRET, body, NOW_SECONDS), "webhook-timestamp": "2026-12-01" };

    expect((await (await receiver()).post(body, { headers })).status).toBe(401);
    await world.flush();
    expect(world.rows<{ reason: string }>("SELECT reason FROM deliveries")[0]?.reason).toContain(
      "webhook-timestamp is not a Unix time",
    );
  });

  it("accepts a secret written without the whsec_ prefix, as the library does", async () => {
    const body = sampleEvent();
    const headers = sign(SECRET, body, NOW_SECONDS);

    expect(
      (await (await receiver(SECRET.slice("whsec_".length))).post(body, { headers })).status,
    ).toBe(200);
  });

  it("verifies the exact bytes: odd whitespace, escapes and emoji", async () => {
    const body = `{ "type":"subscriber.updated",\n\t"eventId":"sw-raw-1", "firstName":"Zoë \\u00e9 🦄" }  `;
    const headers = sign(SECRET, body, NOW_SECONDS);

    expect((await (await receiver()).post(body, { headers })).status).toBe(200);
    expect(
      new TextDecoder().decode(
        world.rows<{ raw_body: Uint8Array }>("SELECT raw_body FROM events")[0]?.raw_body,
      ),
    ).toBe(body);
  });
});
