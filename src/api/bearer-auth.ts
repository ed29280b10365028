/**
 * Bearer-token authentication of `/api` (and of `/metrics` when
 * `METRICS_TOKEN` is set).
 *
 * The token is compared as SHA-256 digests in constant time: the digests
 * have one length whatever was sent, so neither the comparison's time nor an
 * early exit on a length mismatch tells a caller how close a guess was.
 *
 * It runs at `transform`, before Elysia validates the query or the body, so
 * an unauthenticated caller learns nothing about parameters either, and a
 * refused request never reaches its handler.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { RequestError } from "../http/errors.ts";
import type { Logger } from "../log.ts";

const REALM = 'Bearer realm="maildesk-receiver"';
const BEARER = /^Bearer +(\S+) *$/i;

/** Where the expected token comes from at each request; `null`: none is set yet. */
export type TokenSource = () => string | null;

/** Whether `given` is the expected token; constant time in the token's content. */
export function isExpectedToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/**
 * A plugin that refuses, with 401 and `WWW-Authenticate: Bearer`, every
 * request to the routes of the instance that uses it unless it carries the
 * token `expected` gives. Use it in each controller (it is scoped to its user).
 */
/** The API's bearer check, as the routes take it. */
export type BearerAuth = ReturnType<typeof createBearerAuth>;

export function createBearerAuth(expected: TokenSource, log: Logger) {
  return new Elysia().onTransform({ as: "scoped" }, ({ request, headers }) => {
    const match = BEARER.exec(headers.authorization ?? "");
    const token = expected();
    if (match && token !== null && isExpectedToken(match[1] as string, token)) return;

    const reason = !match ? "no bearer token" : token === null ? "no token set" : "wrong token";
    log.warn(
      { component: "api", method: request.method, path: new URL(request.url).pathname, reason },
      "request refused",
    );
    throw new RequestError(401, "unauthorized", "A valid bearer token is required.", reason, {
      "www-authenticate": match ? `${REALM}, error="invalid_token"` : REALM,
    });
  });
}
