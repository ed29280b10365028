/**
 * A custom scheme for senders that sign the raw body alone: the header
 * (`WEBHOOK_HMAC_HEADER`), the digest (`WEBHOOK_HMAC_ALGORITHM`), its
 * encoding (`WEBHOOK_HMAC_ENCODING`) and an optional text before it
 * (`WEBHOOK_HMAC_PREFIX`, e.g. `sha256=`) are configured. The header may hold
 * several signatures separated by commas or spaces, each with the prefix.
 */
import type { HmacSettings } from "../../config.ts";
import { ConfigError } from "../../config.ts";
import { computeSignature, type HmacScheme } from "./core.ts";

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SEPARATORS = /[\s,]+/;

/** Creates the custom scheme from its settings, checked here. */
export function createCustomScheme(settings: HmacSettings): HmacScheme {
  const { header, algorithm, encoding } = settings;
  const prefix = settings.prefix ?? "";
  if (!header) {
    throw new ConfigError(
      "WEBHOOK_HMAC_HEADER is not set: WEBHOOK_HMAC_SCHEME=custom needs the name of the " +
        "header that carries the signature (e.g. X-Signature)",
    );
  }
  if (!HEADER_NAME.test(header)) {
    throw new ConfigError(`WEBHOOK_HMAC_HEADER must be an HTTP header name; got "${header}"`);
  }
  if (SEPARATORS.test(prefix)) {
    throw new ConfigError("WEBHOOK_HMAC_PREFIX may not contain spaces or commas");
  }
  const name = header.toLowerCase();

  return {
    name: "custom",
    algorithm,
    encoding,

    keyOf: (secret) => Buffer.from(secret, "utf8"),

    read(headers) {
      const value = headers.get(name);
      if (!value) return `missing ${name}`;

      const signatures: string[] = [];
      for (const item of value.trim().split(SEPARATORS)) {
        if (item.startsWith(prefix)) signatures.push(item.slice(prefix.length));
      }
      return { prefix: "", signatures, timestampSeconds: null };
    },

    sign(key, body) {
      return { [name]: `${prefix}${computeSignature(settings, key, "", body)}` };
    },
  };
}
