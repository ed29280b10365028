/**
 * The verifier chain built from `WEBHOOK_VERIFIERS`: every listed verifier
 * must pass. Verifiers that only need headers and the address run before the
 * body is read; those that need the exact bytes (HMAC) run after.
 *
 * The order is fixed, whatever the order of the list: the address first, so
 * that a caller from outside the allowlist always gets 403 and can never
 * learn from a 401 whether its credentials were right; then the URL secret
 * and Basic Auth; then, over the body, the HMAC. While `basic` is on, every
 * 401 carries its `WWW-Authenticate` challenge, so that the headers of the
 * answer do not tell which check failed either.
 */
import type { Config } from "../config.ts";
import { createLogger, type Logger } from "../log.ts";
import { BASIC_CHALLENGE, createBasicVerifier } from "./basic.ts";
import { createHmacVerifier } from "./hmac.ts";
import { createIpVerifier } from "./ip.ts";
import { createUrlSecretVerifier } from "./url-secret.ts";
import {
  mergeDetails,
  PASS,
  type VerificationFailure,
  type VerificationInput,
  type VerificationPass,
  type VerificationResult,
  type Verifier,
} from "./verifier.ts";

/** The verifiers of one run, split by when they can run. */
export interface VerifierChain {
  readonly names: readonly string[];
  /** Whether `/webhooks/maildesk/<secret>` is the endpoint (the URL-secret verifier is on). */
  readonly usesPathSecret: boolean;
  verifyBeforeBody(input: VerificationInput): VerificationResult;
  verifyBody(input: VerificationInput): VerificationResult;
}

export interface VerifierChainOptions {
  /** The clock of timestamp checks, in milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
}

type ChainConfig = Pick<Config, "verifiers" | "verify">;

const ORDER = ["ip", "url-secret", "basic", "hmac"] as const;

/** Builds the chain; a verifier whose settings are wrong throws a `ConfigError`. */
export function createVerifierChain(
  config: ChainConfig,
  log: Logger,
  options: VerifierChainOptions = {},
): VerifierChain {
  const listed = ORDER.filter((name) => config.verifiers.includes(name));
  const verifiers = listed.map((name) => createVerifier(name, config, log, options));
  if (verifiers.length === 0) {
    log.warn(
      { component: "verify" },
      "WEBHOOK_VERIFIERS=none: ANY caller can post events; " +
        "set a verifier before exposing this endpoint",
    );
  }
  warnAboutUnusedSettings(config, log);

  const challenge = listed.includes("basic") ? BASIC_CHALLENGE : undefined;
  const headerStage = verifiers.filter((verifier) => !verifier.needsBody);
  const bodyStage = verifiers.filter((verifier) => verifier.needsBody);
  return {
    names: config.verifiers,
    usesPathSecret: config.verifiers.includes("url-secret"),
    verifyBeforeBody: (input) => runAll(headerStage, input, challenge),
    verifyBody: (input) => runAll(bodyStage, input, challenge),
  };
}

/**
 * Makes the checks `serve` makes of the verifier settings at start, without
 * its logs; a wrong setting throws a `ConfigError` (for the CLI's `config`
 * and `send`).
 */
export function assertVerifierSettings(config: ChainConfig): void {
  createVerifierChain(config, createLogger({ level: "silent", format: "json" }));
}

function createVerifier(
  name: (typeof ORDER)[number],
  config: ChainConfig,
  log: Logger,
  options: VerifierChainOptions,
): Verifier {
  switch (name) {
    case "ip":
      return createIpVerifier(config.verify.ip.allowlist);
    case "url-secret":
      return createUrlSecretVerifier(config.verify.urlSecrets, log);
    case "basic":
      return createBasicVerifier(config.verify.basic, log);
    case "hmac":
      return createHmacVerifier(config.verify.hmac, { log, now: options.now ?? Date.now });
  }
}

function runAll(
  verifiers: readonly Verifier[],
  input: VerificationInput,
  challenge: Readonly<Record<string, string>> | undefined,
): VerificationResult {
  let pass: VerificationPass = PASS;
  for (const verifier of verifiers) {
    const result = verifier.verify(input);
    if (!result.ok) return describeFailure(verifier.name, result, challenge);
    // The usual case, one pass with a detail, is returned as it is.
    if (result.detail) {
      pass = pass.detail ? { ok: true, detail: mergeDetails(pass.detail, result.detail) } : result;
    }
  }
  return pass;
}

function describeFailure(
  name: string,
  failure: VerificationFailure,
  challenge: Readonly<Record<string, string>> | undefined,
): VerificationFailure {
  const headers = failure.status === 401 && challenge ? challenge : failure.headers;
  return { ...failure, reason: `${name}: ${failure.reason}`, headers };
}

/**
 * A setting of a verifier that is not listed is most likely a verifier
 * someone meant to turn on: say so, since requests go unchecked by it.
 */
function warnAboutUnusedSettings(config: ChainConfig, log: Logger): void {
  const { verify, verifiers } = config;
  const unused: [string, boolean][] = [
    ["url-secret", verify.urlSecrets.length > 0],
    ["basic", verify.basic.user !== null || verify.basic.password !== null],
    ["ip", verify.ip.allowlist.length > 0],
    ["hmac", verify.hmac.secrets.length > 0],
  ];
  for (const [name, isConfigured] of unused) {
    if (isConfigured && !(verifiers as readonly string[]).includes(name)) {
      log.warn(
        { component: "verify", verifier: name, verifiers },
        "settings of a verifier that WEBHOOK_VERIFIERS does not list are ignored",
      );
    }
  }
}
