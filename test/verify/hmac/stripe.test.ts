import { afterEach, describe, expect, it } from "bun:test";
import Stripe from "stripe";
import { createWorld, sampleEvent, type World } from "../../support/world.ts";
import { describeHmacContract, NOW_MS, NOW_SECONDS } from "./contract.ts";

const stripe = new Stripe("sk_test_not_used_offline");
const SECRET = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc";

function sign(secret: string, body: string, timestampSeconds: number) {
  return stripe.webhooks.generateTestHeaderStringAsync({
    payload: body,
    secret,
    timestamp: timestampSeconds,
  });
}

const env = (secrets: readonly string[]) => ({
  WEBHOOK_VERIFIERS: "hmac",
  WEBHOOK_HMAC_SCHEME: "stripe",
  WEBHOOK_HMAC_SECRETS: secrets.join(","),
});

describeHmacContract("stripe", {
  env,
  secrets: [SECRET, "whsec_test_the_next_secret"],
  foreignSecret: "whsec_test_somebody_else",
  sign: async (secret, body, timestampSeconds) => ({
    "Stripe-Signature": await sign(secret, body, timestampSeconds),
  }),
  signatureHeaders: ["stripe-signature"],
  hasTimestamp: true,
});

describe("stripe", () => {
  let world: World;

  async function receiver() {
    world = await createWorld(env([SECRET]));
    world.nowMs = NOW_MS;
    return world;
  }

  afterEach(async () => {
    await world.close();
  });

  it("accepts a header with several v1 signatures when one of them matches", async () => {
    const body = sampleEvent();
    const valid = await sign(SECRET, body, NOW_SECONDS);
    const header = valid.replace(",v1=", `,v1=${"0".repeat(64)},v0=${"1".repeat(64)},v1=`);

    expect(
      (await (await receiver()).post(body, { headers: { "stripe-signature": header } })).status,
    ).toBe(200);
  });

  it("rejects a header whose t= was changed after signing", async () => {
    const body = sampleEvent();
    const header = (await sign(SECRET, body, NOW_SECONDS)).replace(
      `t=${NOW_SECONDS}`,
      `t=${NOW_SECONDS + 1}`,
    );

    expect(
      (await (await receiver()).post(body, { headers: { "stripe-signature": header } })).status,
    ).toBe(401);
  });

  it("rejects a header without t=", async () => {
    const body = sampleEvent();
    const header = (await sign(SECRET, body, NOW_SECONDS)).replace(/^t=\d+,/, "");

    expect(
      (await (await receiver()).post(body, { headers: { "stripe-signature": header } })).status,
    ).toBe(401);
  });

  it("uses the secret as the key exactly as written, whsec_ included", async () => {
    const body = sampleEvent();
    const decodedKey = Buffer.from(SECRET.slice("whsec_".length), "base64").toString("latin1");
    const header = await sign(decodedKey, body, NOW_SECONDS);

    expect(
      (await (await receiver()).post(body, { headers: { "stripe-signature": header } })).status,
    ).toBe(401);
  });
});
