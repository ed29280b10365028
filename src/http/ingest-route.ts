/**
 * `POST /webhooks/maildesk` (and `/webhooks/maildesk/<secret>` when the
 * URL-secret verifier is on): the one route Maildesk calls.
 *
 * The order of checks is deliberate. Header-only verifiers (address, Basic
 * Auth, URL secret) run before the body is read, so an unauthenticated caller
 * cannot make us read a large body; the body is read within `MAX_BODY_BYTES`;
 * body verifiers (HMAC) run over the exact bytes; only a verified request has
 * its content type and JSON looked at. Then the event goes to the group-commit
 * writer, and the answer waits for its commit.
 *
 * Every request, whatever its answer, gets a delivery-log row, written with a
 * later commit (never a transaction of its own).
 */
import { Elysia } from "elysia";
import type { Logger } from "../log.ts";
import type { IngestWriter } from "../store/types.ts";
import type { VerifierChain } from "../verify/chain.ts";
import {
  mergeDetails,
  type VerificationInput,
  type VerificationPass,
  type VerificationResult,
} from "../verify/verifier.ts";
import type { ClientAddressResolver } from "./client-address.ts";
import { errorResponse, jsonResponse, RequestError, toRequestError } from "./errors.ts";
import { assertJsonContentType, parseEventPayload } from "./payload.ts";
import { readBody } from "./read-body.ts";

/** The webhook path; with the URL-secret verifier a secret segment follows it. */
export const WEBHOOK_PATH = "/webhooks/maildesk";

const MASKED_SECRET_PATH = `${WEBHOOK_PATH}/***`;
const EMPTY_BODY = new Uint8Array(0);
const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

export interface IngestRouteDeps {
  readonly maxBodyBytes: number;
  readonly chain: VerifierChain;
  readonly ingest: IngestWriter;
  readonly log: Logger;
  /** The socket's peer address of a request (injectable: `app.handle` has no socket). */
  readonly peerAddress: (request: Request) => string | null;
  /** The client address from the peer and `X-Forwarded-For` (see client-address.ts). */
  readonly clientAddress: ClientAddressResolver;
}

/** The webhook endpoint, as an Elysia instance to `use`. */
export function createIngestRoutes(deps: IngestRouteDeps) {
  const log = deps.log.child({ component: "ingest" });
  const handle = createIngestHandler(deps, log);

  return new Elysia({ name: "ingest" })
    .post(WEBHOOK_PATH, ({ request }) => handle(request, null), { parse: "none" })
    .post(`${WEBHOOK_PATH}/:secret`, ({ request, params }) => handle(request, params.secret), {
      parse: "none",
    });
}

function createIngestHandler(deps: IngestRouteDeps, log: Logger) {
  const { chain, ingest } = deps;

  return async function handleIngest(
    request: Request,
    pathSecret: string | null,
  ): Promise<Response> {
    const startedAt = performance.now();
    const receivedAt = Date.now();
    const requestId = readRequestId(request);
    const clientAddress = deps.clientAddress(deps.peerAddress(request), request.headers);
    const path = pathSecret === null ? WEBHOOK_PATH : MASKED_SECRET_PATH;
    let eventId: string | null = null;
    let bodyBytes: number | null = null;
    let response: Response;
    let outcome: "accepted" | "duplicate" | "rejected" | "unavailable";
    let reason: string | null = null;
    let verified: VerificationPass["detail"];

    try {
      if (pathSecret !== null && !chain.usesPathSecret) {
        throw new RequestError(404, "not_found", `No route for POST ${path}.`);
      }
      const input: VerificationInput = {
        headers: request.headers,
        clientAddress,
        pathSecret,
        rawBody: EMPTY_BODY,
      };
      const headerDetail = assertVerified(chain.verifyBeforeBody(input));

      const rawBody = await readBody(request, deps.maxBodyBytes);
      bodyBytes = rawBody.byteLength;
      const bodyDetail = assertVerified(chain.verifyBody({ ...input, rawBody }));
      verified = mergeDetails(headerDetail, bodyDetail);
      const contentType = request.headers.get("content-type");
      assertJsonContentType(contentType);
      const fields = parseEventPayload(rawBody);
      eventId = fields.eventId;

      const result = await ingest.submit({
        ...fields,
        receivedAt,
        sourceIp: clientAddress,
        requestId,
        contentType,
        rawBody,
      });
      outcome = result.outcome;
      if (result.outcome === "duplicate" && result.bodyDiffers) reason = "duplicate_body_differs";
      response = jsonResponse(200, { status: outcome, eventId }, { "x-request-id": requestId });
    } catch (thrown) {
      const error = toRequestError(thrown);
      outcome = error.status === 503 ? "unavailable" : "rejected";
      reason = error.code === error.reason ? error.code : `${error.code}: ${error.reason}`;
      const fields = {
        requestId,
        status: error.status,
        code: error.code,
        reason: error.reason,
        eventId,
        clientAddress,
      };
      if (error.status >= 500 && error.status !== 503)
        log.error({ ...fields, err: thrown }, "request failed");
      else log.warn(fields, "request refused");
      response = errorResponse(error, { "x-request-id": requestId });
    }

    const latencyMs = performance.now() - startedAt;
    if (outcome === "accepted" || outcome === "duplicate") {
      // `verified` says which secret matched, by index, for rotations.
      log.debug({ requestId, eventId, outcome, latencyMs, verified }, "event answered");
    }
    ingest.recordDelivery({
      receivedAt,
      requestId,
      sourceIp: clientAddress,
      method: request.method,
      path,
      status: response.status,
      outcome,
      reason,
      eventId,
      bodyBytes,
      latencyMs,
    });
    return response;
  };
}

/** Throws the generic refusal for a failure; returns a pass's detail. */
function assertVerified(result: VerificationResult): VerificationPass["detail"] {
  if (result.ok) return result.detail;
  const [code, message] =
    result.status === 403
      ? ["forbidden", "This address may not post events."]
      : ["unauthorized", "The request could not be verified."];
  throw new RequestError(result.status, code, message, result.reason, result.headers);
}

function readRequestId(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && REQUEST_ID_PATTERN.test(given) ? given : crypto.randomUUID();
}
