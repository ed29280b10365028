/**
 * Stripe's scheme: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` (other
 * keys such as `v0` are ignored), the HMAC-SHA256 of `<t>.<raw body>`. The
 * secret is the key exactly as written, `whsec_` prefix included: Stripe's
 * own libraries do not decode it.
 */
import { computeSignature, type HmacScheme } from "./core.ts";

const HEADER = "stripe-signature";
const TIMESTAMP = /^\d{1,12}$/;

/** The Stripe scheme. */
export const stripeScheme: HmacScheme = {
  name: "stripe",
  algorithm: "sha256",
  encoding: "hex",

  keyOf: (secret) => Buffer.from(secret, "utf8"),

  read(headers) {
    const header = headers.get(HEADER);
    if (!header) return `missing ${HEADER}`;

    let timestamp: string | null = null;
    const signatures: string[] = [];
    for (const item of header.split(",")) {
      const equals = item.indexOf("=");
      if (equals === -1) continue;
      const key = item.slice(0, equals).trim();
      const value = item.slice(equals + 1).trim();
      if (key === "v1") signatures.push(value);
      else if (key === "t") {
        if (timestamp !== null) return `${HEADER} has more than one t=`;
        timestamp = value;
      }
    }
    if (timestamp === null || !TIMESTAMP.test(timestamp)) {
      return `${HEADER} has no t=<Unix time in seconds>`;
    }
    return { prefix: `${timestamp}.`, signatures, timestampSeconds: Number(timestamp) };
  },

  sign(key, body, { timestampSeconds }) {
    const signature = computeSignature(stripeScheme, key, `${timestampSeconds}.`, body);
    return { [HEADER]: `t=${timestampSeconds},v1=${signature}` };
  },
};
