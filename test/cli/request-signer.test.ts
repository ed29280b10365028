import { describe, expect, it } from "bun:test";
import { createHmac } from "node:crypto";
import { verify } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { createRequestSigner } from "../../src/cli/request-signer.ts";
import { loadConfig } from "../../src/config.ts";

const body = '{"type":"subscriber.created","eventId":"signer-1"}';

const signerFor = (env: Record<string, string>) => createRequestSigner(loadConfig(env));

describe("the request signer, checked by the schemes' official libraries", () => {
  it("signs standard-webhooks headers that the standardwebhooks library verifies", () => {
    const secret = `whsec_${Buffer.from("a 24-byte signing secret").toString("base64")}`;
    const { headers } = signerFor({ WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: secret })(
      body,
    );

    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("signs an X-Hub-Signature-256 that @octokit/webhooks-methods verifies", async () => {
    const { headers } = signerFor({
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SCHEME: "github",
      WEBHOOK_HMAC_SECRETS: "github secret",
    })(body);

    expect(await verify("github secret", body, headers["x-hub-signature-256"] as string)).toBe(
      true,
    );
  });

  it("signs a Stripe-Signature that the stripe library verifies", async () => {
    const secret = "whsec_test_signer";
    const { headers } = signerFor({
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SCHEME: "stripe",
      WEBHOOK_HMAC_SECRETS: secret,
    })(body);
    const stripe = new Stripe("sk_test_not_used_offline");

    const event = await stripe.webhooks.constructEventAsync(
      body,
      headers["stripe-signature"] as string,
      secret,
    );
    expect((event as unknown as { eventId: string }).eventId).toBe("signer-1");
  });

  it("signs the custom header with the configured algorithm, encoding and prefix", () => {
    const { headers } = signerFor({
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SCHEME: "custom",
      WEBHOOK_HMAC_SECRETS: "custom secret",
      WEBHOOK_HMAC_HEADER: "X-Signature",
      WEBHOOK_HMAC_ALGORITHM: "sha512",
      WEBHOOK_HMAC_ENCODING: "base64",
      WEBHOOK_HMAC_PREFIX: "sha512=",
    })(body);

    expect(headers["x-signature"]).toBe(
      `sha512=${createHmac("sha512", "custom secret").update(body).digest("base64")}`,
    );
  });

  it("puts the first URL secret in the path and the Basic credentials in a header", () => {
    const { path, headers } = signerFor({
      WEBHOOK_VERIFIERS: "url-secret,basic",
      WEBHOOK_URL_SECRETS: "first-secret-0123456,second-secret-0123456",
      WEBHOOK_BASIC_USER: "maildesk",
      WEBHOOK_BASIC_PASSWORD: "pw",
    })(body);

    expect(path).toBe("/webhooks/maildesk/first-secret-0123456");
    expect(headers).toEqual({ authorization: `Basic ${btoa("maildesk:pw")}` });
  });
});
