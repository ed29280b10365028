/**
 * The `url-secret` verifier: the endpoint is `/webhooks/maildesk/<secret>`,
 * with one of `WEBHOOK_URL_SECRETS` as the last segment. Several secrets may
 * be valid at once, for rotation. The bare `/webhooks/maildesk` is refused.
 *
 * Secrets are limited to URL-safe characters so that what is configured is
 * exactly what Maildesk puts in the path, with no encoding in between. The
 * route masks the segment (`/webhooks/maildesk/***`) in logs and the delivery
 * log; it is never written anywhere.
 */
import { ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import { digestSecret, findMatchingDigest } from "./constant-time.ts";
import { createSecretPasses } from "./secret-use.ts";
import type { VerificationFailure, Verifier } from "./verifier.ts";

/** The shortest secret accepted: 16 characters of this alphabet are ~95 bits. */
const MIN_URL_SECRET_LENGTH = 16;

const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

const MISSING: VerificationFailure = Object.freeze({
  ok: false,
  status: 401,
  reason: "no secret in the path",
});
const WRONG: VerificationFailure = Object.freeze({
  ok: false,
  status: 401,
  reason: "the path secret matches none of WEBHOOK_URL_SECRETS",
});

/** Creates the verifier; `secrets` is `WEBHOOK_URL_SECRETS`, checked here. */
export function createUrlSecretVerifier(secrets: readonly string[], log: Logger): Verifier {
  if (secrets.length === 0) {
    throw new ConfigError(
      "WEBHOOK_URL_SECRETS is not set: the url-secret verifier needs at least one secret " +
        `of ${MIN_URL_SECRET_LENGTH} or more characters (e.g. from \`openssl rand -hex 24\`)`,
    );
  }
  secrets.forEach((secret, index) => {
    if (secret.length < MIN_URL_SECRET_LENGTH) {
      throw new ConfigError(
        `WEBHOOK_URL_SECRETS: secret #${index} is ${secret.length} characters; ` +
          `each must have at least ${MIN_URL_SECRET_LENGTH}`,
      );
    }
    if (!URL_SAFE.test(secret)) {
      throw new ConfigError(
        `WEBHOOK_URL_SECRETS: secret #${index} may contain only letters, digits and - . _ ~`,
      );
    }
  });

  const digests = secrets.map(digestSecret);
  const pass = createSecretPasses(log, "url-secret", "urlSecretIndex", [...digests.keys()]);
  return {
    name: "url-secret",
    needsBody: false,
    verify({ pathSecret }) {
      if (!pathSecret) return MISSING;
      const index = findMatchingDigest(digests, digestSecret(pathSecret));
      return index === -1 ? WRONG : pass(index);
    },
  };
}
