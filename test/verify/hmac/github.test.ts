import { afterEach, describe, expect, it } from "bun:test";
import { sign } from "@octokit/webhooks-methods";
import { createWorld, sampleEvent, type World } from "../../support/world.ts";
import { describeHmacContract } from "./contract.ts";

const SECRET = "It's a Secret to Everybody";

const env = (secrets: readonly string[]) => ({
  WEBHOOK_VERIFIERS: "hmac",
  WEBHOOK_HMAC_SCHEME: "github",
  WEBHOOK_HMAC_SECRETS: secrets.join(","),
});

describeHmacContract("github", {
  env,
  secrets: [SECRET, "the next secret"],
  foreignSecret: "somebody else's secret",
  sign: async (secret, body) => ({ "X-Hub-Signature-256": await sign(secret, body) }),
  signatureHeaders: ["x-hub-signature-256"],
  hasTimestamp: false,
});

describe("github", () => {
  let world: World;

  afterEach(async () => {
    await world.close();
  });

  it("rejects a signature without its sha256= prefix", async () => {
    world = await createWorld(env([SECRET]));
    const body = sampleEvent();
    const signature = (await sign(SECRET, body)).slice("sha256=".length);

    const response = await world.post(body, { headers: { "x-hub-signature-256": signature } });

    expect(response.status).toBe(401);
    await world.flush();
    expect(world.rows<{ reason: string }>("SELECT reason FROM deliveries")[0]?.reason).toBe(
      "unauthorized: hmac: x-hub-signature-256 does not start with sha256=",
    );
  });

  it("accepts the signature in upper-case hex", async () => {
    world = await createWorld(env([SECRET]));
    const body = sampleEvent();
    const signature = `sha256=${(await sign(SECRET, body)).slice(7).toUpperCase()}`;

    expect((await world.post(body, { headers: { "x-hub-signature-256": signature } })).status).toBe(
      200,
    );
  });
});
