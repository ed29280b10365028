/**
 * The `hmac` verifier: a signature over the exact raw body, by one of
 * `WEBHOOK_HMAC_SECRETS` (several during a rotation; any may match), in the
 * way `WEBHOOK_HMAC_SCHEME` says. The schemes are adapters in hmac/ over one
 * core; this file checks the settings, makes the keys once, and applies the
 * timestamp window.
 *
 * The timestamp window (`WEBHOOK_HMAC_TOLERANCE_SECONDS`) is applied in both
 * directions. Too old, and it is a captured request replayed. Too new is
 * refused too: a request stamped an hour ahead would stay "fresh" for an hour
 * plus the tolerance, stretching the replay window a timestamp is there to
 * bound; and a sender's clock that far off is worth hearing about.
 */
import type { HmacSettings } from "../config.ts";
import { ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import { createHmacKey, decodeSignatures, findMatchingKey, type HmacScheme } from "./hmac/core.ts";
import { createCustomScheme } from "./hmac/custom.ts";
import { githubScheme } from "./hmac/github.ts";
import { standardWebhooksScheme } from "./hmac/standard-webhooks.ts";
import { stripeScheme } from "./hmac/stripe.ts";
import { createSecretPasses } from "./secret-use.ts";
import type { VerificationFailure, Verifier } from "./verifier.ts";

/** The scheme `settings` name, its own settings checked. */
export function createHmacScheme(settings: HmacSettings): HmacScheme {
  switch (settings.scheme) {
    case "standard-webhooks":
      return standardWebhooksScheme;
    case "github":
      return githubScheme;
    case "stripe":
      return stripeScheme;
    case "custom":
      return createCustomScheme(settings);
  }
}

/** The keys of `WEBHOOK_HMAC_SECRETS` for `scheme`, in their order; checked here. */
export function createHmacKeys(settings: HmacSettings, scheme: HmacScheme) {
  if (settings.secrets.length === 0) {
    throw new ConfigError(
      "WEBHOOK_HMAC_SECRETS is not set: the hmac verifier needs the signing secret " +
        "(comma-separated to accept several during a rotation)",
    );
  }
  return settings.secrets.map((secret, index) => createHmacKey(scheme.keyOf(secret, index)));
}

function refuse(reason: string): VerificationFailure {
  return { ok: false, status: 401, reason };
}

const NO_SIGNATURE = Object.freeze(refuse("no well-formed signature"));
const NO_MATCH = Object.freeze(refuse("no signature matches any of WEBHOOK_HMAC_SECRETS"));

export interface HmacVerifierOptions {
  readonly log: Logger;
  /** The clock, in milliseconds since the epoch (injectable for tests). */
  readonly now: () => number;
}

/** Creates the verifier from the `WEBHOOK_HMAC_*` settings. */
export function createHmacVerifier(settings: HmacSettings, options: HmacVerifierOptions): Verifier {
  const scheme = createHmacScheme(settings);
  const keys = createHmacKeys(settings, scheme);
  const { algorithm, encoding } = scheme;
  const { toleranceSeconds } = settings;
  const pass = createSecretPasses(options.log, "hmac", "hmacSecretIndex", [...keys.keys()]);

  return {
    name: "hmac",
    needsBody: true,
    verify({ headers, rawBody }) {
      const signed = scheme.read(headers);
      if (typeof signed === "string") return refuse(signed);

      if (signed.timestampSeconds !== null) {
        const ageSeconds = Math.floor(options.now() / 1000) - signed.timestampSeconds;
        if (ageSeconds > toleranceSeconds) {
          return refuse(`timestamp ${ageSeconds} s old, over the ${toleranceSeconds} s tolerance`);
        }
        if (-ageSeconds > toleranceSeconds) {
          return refuse(
            `timestamp ${-ageSeconds} s in the future, over the ${toleranceSeconds} s tolerance`,
          );
        }
      }

      const digests = decodeSignatures(signed.signatures, algorithm, encoding);
      if (digests.length === 0) return NO_SIGNATURE;
      const index = findMatchingKey(algorithm, keys, signed.prefix, rawBody, digests);
      return index === -1 ? NO_MATCH : pass(index);
    },
  };
}
