/**
 * The `basic` verifier: HTTP Basic Auth with `WEBHOOK_BASIC_USER` and
 * `WEBHOOK_BASIC_PASSWORD` (and, during a password rotation,
 * `WEBHOOK_BASIC_PASSWORD_PREVIOUS` as well).
 *
 * The decoded `user:password` of the request is compared as a whole with each
 * configured pair, through fixed-length digests (see constant-time.ts): the
 * time taken says nothing about how much of the user or the password was
 * right, nor about their lengths. The user may not contain a colon (RFC 7617
 * splits at the first one), which is what makes comparing the whole pair
 * exact.
 */
import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import { digestSecret, findMatchingDigest } from "./constant-time.ts";
import { createSecretPasses } from "./secret-use.ts";
import type { VerificationFailure, Verifier } from "./verifier.ts";

/** The challenge every 401 carries while the `basic` verifier is on. */
export const BASIC_CHALLENGE = Object.freeze({ "www-authenticate": 'Basic realm="maildesk"' });

const BASIC_SCHEME = /^basic$/i;

function refuse(reason: string): VerificationFailure {
  return Object.freeze({ ok: false, status: 401, reason, headers: BASIC_CHALLENGE });
}

const MISSING = refuse("no Authorization header");
const NOT_BASIC = refuse("the Authorization header is not Basic");
const WRONG = refuse("wrong user or password");

/** Creates the verifier from the `WEBHOOK_BASIC_*` settings, checked here. */
export function createBasicVerifier(settings: Config["verify"]["basic"], log: Logger): Verifier {
  const { user, password, previousPassword } = settings;
  if (!user) throw new ConfigError("WEBHOOK_BASIC_USER is not set: the basic verifier needs it");
  if (!password) {
    throw new ConfigError("WEBHOOK_BASIC_PASSWORD is not set: the basic verifier needs it");
  }
  if (user.includes(":")) {
    throw new ConfigError("WEBHOOK_BASIC_USER may not contain a colon (Basic Auth splits at it)");
  }

  const passwords = previousPassword ? [password, previousPassword] : [password];
  const digests = passwords.map((candidate) => digestSecret(`${user}:${candidate}`));
  const pass = createSecretPasses(
    log,
    "basic",
    "basicPassword",
    ["current", "previous"].slice(0, passwords.length),
  );
  return {
    name: "basic",
    needsBody: false,
    verify({ headers }) {
      const authorization = headers.get("authorization");
      if (authorization === null) return MISSING;
      const space = authorization.indexOf(" ");
      if (space === -1 || !BASIC_SCHEME.test(authorization.slice(0, space))) return NOT_BASIC;

      const credentials = Buffer.from(authorization.slice(space + 1).trim(), "base64");
      const index = findMatchingDigest(digests, digestSecret(credentials));
      return index === -1 ? WRONG : pass(index);
    },
  };
}
