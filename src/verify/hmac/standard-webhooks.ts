/**
 * Standard Webhooks (standardwebhooks.com), the default scheme: headers
 * `webhook-id`, `webhook-timestamp` and `webhook-signature`, the last holding
 * space-separated `v1,<base64>` entries (other versions are ignored); the
 * signed content is `<id>.<timestamp>.<raw body>`, HMAC-SHA256. A secret is
 * base64, usually written with a `whsec_` prefix, and the key is its bytes,
 * as in the official libraries.
 */
import { ConfigError } from "../../config.ts";
import { computeSignature, type HmacScheme } from "./core.ts";

const SECRET_PREFIX = "whsec_";
const SIGNATURE_VERSION = "v1,";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TIMESTAMP = /^\d{1,12}$/;

/** The Standard Webhooks scheme. */
export const standardWebhooksScheme: HmacScheme = {
  name: "standard-webhooks",
  algorithm: "sha256",
  encoding: "base64",

  keyOf(secret, index) {
    const base64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    const key = Buffer.from(base64, "base64");
    // Node's decoder skips what it cannot read; re-encoding shows whether
    // every character was base64.
    const isCanonical =
      BASE64.test(base64) &&
      key.toString("base64").replace(/=+$/, "") === base64.replace(/=+$/, "");
    if (!isCanonical || key.byteLength === 0) {
      throw new ConfigError(
        `WEBHOOK_HMAC_SECRETS: secret #${index} is not a Standard Webhooks secret: ` +
          "it must be base64, usually after a whsec_ prefix (whsec_<base64>)",
      );
    }
    return key;
  },

  read(headers) {
    const id = headers.get("webhook-id");
    const timestamp = headers.get("webhook-timestamp");
    const signature = headers.get("webhook-signature");
    if (!id || !timestamp || !signature) {
      return "missing webhook-id, webhook-timestamp or webhook-signature";
    }
    if (!TIMESTAMP.test(timestamp)) return "webhook-timestamp is not a Unix time in seconds";

    const signatures: string[] = [];
    for (const entry of signature.split(" ")) {
      if (entry.startsWith(SIGNATURE_VERSION))
        signatures.push(entry.slice(SIGNATURE_VERSION.length));
    }
    return { prefix: `${id}.${timestamp}.`, signatures, timestampSeconds: Number(timestamp) };
  },

  sign(key, body, { id, timestampSeconds }) {
    const signature = computeSignature(
      standardWebhooksScheme,
      key,
      `${id}.${timestampSeconds}.`,
      body,
    );
    return {
      "webhook-id": id,
      "webhook-timestamp": String(timestampSeconds),
      "webhook-signature": `${SIGNATURE_VERSION}${signature}`,
    };
  },
};
