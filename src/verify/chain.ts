/**
 * The verifier chain built from `WEBHOOK_VERIFIERS`: every listed verifier
 * must pass. Verifiers that only need headers and the address run before the
 * body is read; those that need the exact bytes (HMAC) run after.
 */
import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import {
  PASS,
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

/** Builds the chain; a verifier whose settings are wrong throws a `ConfigError`. */
export function createVerifierChain(config: Pick<Config, "verifiers">, log: Logger): VerifierChain {
  const verifiers = config.verifiers.filter((name) => name !== "none").map(createVerifier);
  if (verifiers.length === 0) {
    log.warn(
      { component: "verify" },
      "WEBHOOK_VERIFIERS=none: ANY caller can post events; set a verifier before exposing this endpoint",
    );
  }

  const headerStage = verifiers.filter((verifier) => !verifier.needsBody);
  const bodyStage = verifiers.filter((verifier) => verifier.needsBody);
  return {
    names: config.verifiers,
    usesPathSecret: config.verifiers.includes("url-secret"),
    verifyBeforeBody: (input) => runAll(headerStage, input),
    verifyBody: (input) => runAll(bodyStage, input),
  };
}

function runAll(verifiers: readonly Verifier[], input: VerificationInput): VerificationResult {
  let detail: Record<string, string | number> | undefined;
  for (const verifier of verifiers) {
    const result = verifier.verify(input);
    if (!result.ok) return { ...result, reason: `${verifier.name}: ${result.reason}` };
    if (result.detail) detail = { ...detail, ...result.detail };
  }
  return detail ? ({ ok: true, detail } satisfies VerificationPass) : PASS;
}

function createVerifier(name: string): Verifier {
  throw new ConfigError(`WEBHOOK_VERIFIERS lists "${name}", which this build cannot verify yet`);
}
