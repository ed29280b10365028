/**
 * Signs a request the way Maildesk would for the configured verifiers: the
 * URL secret in the path, the Basic Auth header, the HMAC scheme's headers.
 * The `send` command and the ingest benchmark both sign through this, and the
 * HMAC headers come from each scheme's own `sign`, beside its `read`.
 *
 * The first of several secrets is used (for a rotation, list the one being
 * tried first). The `ip` verifier needs nothing: the request's address is
 * what it is.
 */
import type { Config } from "../config.ts";
import { WEBHOOK_PATH } from "../http/ingest-route.ts";
import { createHmacKeys, createHmacScheme } from "../verify/hmac.ts";

/** Where to send a body and with which headers. */
export interface SignedRequestParts {
  readonly path: string;
  readonly headers: Record<string, string>;
}

export interface SignRequestOptions {
  /** The Standard Webhooks message id; a new one by default. */
  readonly id?: string;
  /** The signing time, in Unix seconds; now by default. */
  readonly timestampSeconds?: number;
}

/** Signs one body. */
export type RequestSigner = (
  body: Uint8Array | string,
  options?: SignRequestOptions,
) => SignedRequestParts;

/**
 * Creates the signer for `config`; settings a listed verifier cannot use
 * throw a `ConfigError`, as they do in the service.
 */
export function createRequestSigner(
  config: Pick<Config, "verifiers" | "verify">,
  now: () => number = Date.now,
): RequestSigner {
  const { verifiers, verify } = config;
  const path =
    verifiers.includes("url-secret") && verify.urlSecrets[0]
      ? `${WEBHOOK_PATH}/${verify.urlSecrets[0]}`
      : WEBHOOK_PATH;
  const basic = verifiers.includes("basic")
    ? `Basic ${Buffer.from(`${verify.basic.user}:${verify.basic.password}`).toString("base64")}`
    : null;
  const scheme = verifiers.includes("hmac") ? createHmacScheme(verify.hmac) : null;
  const key = scheme ? createHmacKeys(verify.hmac, scheme)[0] : undefined;

  return (body, options = {}) => {
    const headers: Record<string, string> = {};
    if (basic) headers.authorization = basic;
    if (scheme && key) {
      Object.assign(
        headers,
        scheme.sign(key, body, {
          id: options.id ?? newMessageId(),
          timestampSeconds: options.timestampSeconds ?? Math.floor(now() / 1000),
        }),
      );
    }
    return { path, headers };
  };
}

/** A new message id, in the form Standard Webhooks senders use (`msg_<hex>`). */
export function newMessageId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "")}`;
}
