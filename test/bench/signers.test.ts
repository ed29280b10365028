import { describe, expect, it } from "bun:test";
import {
  createBasicSigner,
  createStandardWebhooksSigner,
  signStandardWebhook,
} from "../../bench/lib/signers.ts";

describe("the benchmark's signers", () => {
  it("sign Standard Webhooks as the reference libraries' own example does", () => {
    // The example message of the Standard Webhooks specification's libraries.
    const key = Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64");

    const signature = signStandardWebhook(
      key,
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "1614265330",
      '{"test": 2432232314}',
    );

    expect(signature).toBe("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("put the id, the timestamp and a v1 signature over the exact body in the headers", () => {
    const sign = createStandardWebhooksSigner(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      () => 1614265330_000,
    );

    const { headers } = sign('{"test": 2432232314}', "p5jXN8AQM9LWM0D4loKWxJek");

    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("send HTTP Basic credentials as user:password in base64", () => {
    const { headers } = createBasicSigner("maildesk", "s3cret")("{}", "e1");

    expect(headers).toEqual({ authorization: "Basic bWFpbGRlc2s6czNjcmV0" });
  });
});
