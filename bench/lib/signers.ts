/**
 * Signers for the benchmark's verifier configurations: each signs a request
 * when it is prepared, so that signing costs the load generator nothing
 * while the clock runs. They are the program's own (`send`'s,
 * src/cli/request-signer.ts, checked against each scheme's official
 * library), for the verifier settings of the service's environment.
 */
import { createRequestSigner } from "../../src/cli/request-signer.ts";
import { loadConfig } from "../../src/config.ts";
import type { Signer } from "./requests.ts";

/** Signs as Maildesk would for the service started with `env`; the eventId is the message id. */
export function signerFor(env: Record<string, string>): Signer {
  const sign = createRequestSigner(loadConfig(env));
  return (body, eventId) => sign(body, { id: eventId });
}

/** The Standard Webhooks secret of the benchmarks' `hmac` configurations. */
export const BENCH_WHSEC = `whsec_${Buffer.from("bench signing key of 32 bytes!!!").toString("base64")}`;

/**
 * The service's settings for each verifier the benchmarks compare.
 * `toleranceSeconds`: how long a signed timestamp stays valid, which must
 * cover the time between preparing requests and sending them.
 */
export function verifierEnvs(
  toleranceSeconds = 300,
): Readonly<Record<string, Record<string, string>>> {
  const tolerance = String(toleranceSeconds);
  return {
    "url-secret": {
      WEBHOOK_VERIFIERS: "url-secret",
      WEBHOOK_URL_SECRETS: "bench-path-secret-0123456789",
    },
    basic: {
      WEBHOOK_VERIFIERS: "basic",
      WEBHOOK_BASIC_USER: "maildesk",
      WEBHOOK_BASIC_PASSWORD: "bench password",
    },
    ip: {
      WEBHOOK_VERIFIERS: "ip",
      WEBHOOK_IP_ALLOWLIST: "10.0.0.0/8,192.0.2.0/24,127.0.0.0/8,::1",
    },
    hmac: {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SECRETS: BENCH_WHSEC,
      WEBHOOK_HMAC_TOLERANCE_SECONDS: tolerance,
    },
    "hmac-github": {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SCHEME: "github",
      WEBHOOK_HMAC_SECRETS: "bench github secret",
    },
    "hmac-stripe": {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SCHEME: "stripe",
      WEBHOOK_HMAC_SECRETS: "whsec_bench_stripe_secret",
      WEBHOOK_HMAC_TOLERANCE_SECONDS: tolerance,
    },
  };
}
