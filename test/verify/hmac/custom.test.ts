import { afterEach, describe, expect, it } from "bun:test";
import { createHmac } from "node:crypto";
import { createWorld, sampleEvent, type World } from "../../support/world.ts";
import { describeHmacContract } from "./contract.ts";

const SECRET = "custom-secret-1";

describeHmacContract("custom (sha256, hex)", {
  env: (secrets) => ({
    WEBHOOK_VERIFIERS: "hmac",
    WEBHOOK_HMAC_SCHEME: "custom",
    WEBHOOK_HMAC_HEADER: "X-Maildesk-Signature",
    WEBHOOK_HMAC_SECRETS: secrets.join(","),
  }),
  secrets: [SECRET, "custom-secret-2"],
  foreignSecret: "somebody else's secret",
  sign: async (secret, body) => ({
    "X-Maildesk-Signature": createHmac("sha256", secret).update(body).digest("hex"),
  }),
  signatureHeaders: ["x-maildesk-signature"],
  hasTimestamp: false,
});

describe("custom", () => {
  let world: World;

  async function receiver(env: Record<string, string>) {
    world = await createWorld({
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SCHEME: "custom",
      WEBHOOK_HMAC_HEADER: "X-Signature",
      WEBHOOK_HMAC_SECRETS: SECRET,
      ...env,
    });
    return world;
  }

  afterEach(async () => {
    await world.close();
  });

  const variants: [string, "sha1" | "sha256" | "sha512", "hex" | "base64", string][] = [
    ["sha512 in base64 with a prefix", "sha512", "base64", "sha512="],
    ["sha1 in hex", "sha1", "hex", ""],
    ["sha256 in base64", "sha256", "base64", ""],
  ];
  for (const [what, algorithm, encoding, prefix] of variants) {
    it(`accepts ${what}`, async () => {
      await receiver({
        WEBHOOK_HMAC_ALGORITHM: algorithm,
        WEBHOOK_HMAC_ENCODING: encoding,
        ...(prefix ? { WEBHOOK_HMAC_PREFIX: prefix } : {}),
      });
      const body = sampleEvent();
      const signature = `${prefix}${createHmac(algorithm, SECRET).update(body).digest(encoding)}`;

      expect((await world.post(body, { headers: { "x-signature": signature } })).status).toBe(200);
    });
  }

  it("rejects a signature of another algorithm than the configured one", async () => {
    await receiver({ WEBHOOK_HMAC_ALGORITHM: "sha512" });
    const body = sampleEvent();
    const signature = createHmac("sha256", SECRET).update(body).digest("hex");

    expect((await world.post(body, { headers: { "x-signature": signature } })).status).toBe(401);
  });

  it("rejects a signature without the configured prefix", async () => {
    await receiver({ WEBHOOK_HMAC_PREFIX: "sha256=" });
    const body = sampleEvent();
    const signature = createHmac("sha256", SECRET).update(body).digest("hex");

    expect((await world.post(body, { headers: { "x-signature": signature } })).status).toBe(401);
  });

  it("accepts several comma-separated signatures when one of them matches", async () => {
    await receiver({});
    const body = sampleEvent();
    const signature = createHmac("sha256", SECRET).update(body).digest("hex");

    const response = await world.post(body, {
      headers: { "x-signature": `${"ab".repeat(32)}, ${signature}` },
    });

    expect(response.status).toBe(200);
  });
});
