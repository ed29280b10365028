/**
 * The OpenAPI description of the webhook endpoint. Its route reads the raw
 * body itself (`parse: "none"`), so Elysia cannot describe the body or the
 * answers; they are written out here and merged into the document.
 */
import { t } from "elysia";
import { WEBHOOK_PATH } from "../http/ingest-route.ts";
import { EventPayloadSchema } from "../http/payload.ts";
import { errorBody } from "./schemas.ts";

const Accepted = t.Object(
  {
    status: t.UnionEnum(["accepted", "duplicate"], { default: undefined }),
    eventId: t.String(),
  },
  { examples: [{ status: "accepted", eventId: "01JDQ7ZK8Y6V3N2M4P5R7S9T1W" }] },
);

const json = (schema: unknown) => ({ "application/json": { schema } });

const retryAfter = {
  "Retry-After": {
    description: "Seconds to wait before retrying.",
    schema: { type: "integer" as const },
  },
};

function error(description: string, code: string, message: string, headers?: object) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: json(errorBody(description, { error: code, message })),
  };
}

const operation = (withSecret: boolean) => ({
  tags: ["Webhook"],
  summary: withSecret ? "Receive an event (URL-secret path)" : "Receive an event",
  description:
    "The endpoint Maildesk calls. The request is verified (`WEBHOOK_VERIFIERS`), validated, " +
    "and the event stored durably with its outbox rows, exactly once per `eventId`, before the " +
    "answer. Any answer other than 2xx makes Maildesk retry. Every request is written to the " +
    "delivery log." +
    (withSecret
      ? " With the `url-secret` verifier on, this is the only path accepted."
      : " With the `url-secret` verifier on, this path is refused."),
  operationId: withSecret ? "receiveEventWithSecret" : "receiveEvent",
  security: [],
  ...(withSecret
    ? {
        parameters: [
          {
            name: "secret",
            in: "path" as const,
            required: true,
            description: "One of `WEBHOOK_URL_SECRETS`.",
            schema: { type: "string" as const },
          },
        ],
      }
    : {}),
  requestBody: {
    required: true,
    description: "A Maildesk event; fields beyond these are kept as sent.",
    content: json(EventPayloadSchema),
  },
  responses: {
    200: {
      description: "Stored (`accepted`), or seen before (`duplicate`, nothing enqueued again).",
      content: json(Accepted),
    },
    400: error(
      "Malformed JSON, not an object, or `type`/`eventId` missing, empty or not strings.",
      "invalid_payload",
      "type must be a non-empty string.",
    ),
    401: error(
      "Verification failed (URL secret, Basic Auth or HMAC); Basic Auth adds `WWW-Authenticate`.",
      "unauthorized",
      "The request could not be verified.",
    ),
    403: error(
      "The client address is not allowed.",
      "forbidden",
      "This address may not post events.",
    ),
    404: error("A secret path while the `url-secret` verifier is off.", "not_found", "No route."),
    413: error(
      "The body is larger than `MAX_BODY_BYTES`.",
      "payload_too_large",
      "The body is too large.",
    ),
    415: error(
      "`Content-Type` is not `application/json` or `application/*+json` in UTF-8.",
      "unsupported_media_type",
      "The body must be JSON.",
    ),
    503: error(
      "Not stored: storage unavailable, or too many requests waiting; retry after `Retry-After`.",
      "storage_unavailable",
      "The event could not be stored; retry later.",
      retryAfter,
    ),
  },
});

/** The webhook paths, for `documentation.paths`. */
export const WEBHOOK_DOCS = {
  [WEBHOOK_PATH]: { post: operation(false) },
  [`${WEBHOOK_PATH}/{secret}`]: { post: operation(true) },
};
