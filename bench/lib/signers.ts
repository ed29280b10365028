/**
 * Signers for the verifier configurations of the benchmark: each adds, at
 * prepare time, the headers one verifier checks, so that signing costs the
 * load generator nothing while the clock runs.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Signer } from "./requests.ts";

/** HTTP Basic Auth: the same pre-computed `Authorization` header on every request. */
export function createBasicSigner(user: string, password: string): Signer {
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  return () => ({ headers: { authorization } });
}

/** A Standard Webhooks secret: `whsec_` and a base64 key. */
export function createStandardWebhooksSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix seconds, taken
 * when the request is signed) and `webhook-signature: v1,<base64>`, the
 * HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed by the base64-decoded part of
 * the `whsec_` secret. The service must be started with a tolerance that
 * covers the time between preparing and sending.
 */
export function createStandardWebhooksSigner(secret: string, now = () => Date.now()): Signer {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return (body, eventId) => {
    const id = `msg_${eventId}`;
    const timestamp = String(Math.floor(now() / 1000));
    return {
      headers: {
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": `v1,${signStandardWebhook(key, id, timestamp, body)}`,
      },
    };
  };
}

/** The base64 signature of one message. */
export function signStandardWebhook(
  key: Buffer,
  id: string,
  timestamp: string,
  body: string,
): string {
  return createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
}
