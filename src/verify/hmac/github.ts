/**
 * GitHub's scheme: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of
 * the raw body with the secret as written. It has no timestamp, so a captured
 * request can be replayed; the eventId deduplication makes a replay harmless
 * to the data, and a timestamped scheme is the better choice where possible.
 */
import { computeSignature, type HmacScheme } from "./core.ts";

const HEADER = "x-hub-signature-256";
const PREFIX = "sha256=";

/** The GitHub scheme. */
export const githubScheme: HmacScheme = {
  name: "github",
  algorithm: "sha256",
  encoding: "hex",

  keyOf: (secret) => Buffer.from(secret, "utf8"),

  read(headers) {
    const signature = headers.get(HEADER);
    if (!signature) return `missing ${HEADER}`;
    if (!signature.startsWith(PREFIX)) return `${HEADER} does not start with ${PREFIX}`;
    return { prefix: "", signatures: [signature.slice(PREFIX.length)], timestampSeconds: null };
  },

  sign(key, body) {
    return { [HEADER]: `${PREFIX}${computeSignature(githubScheme, key, "", body)}` };
  },
};
