/**
 * From raw bytes to an event: the content-type rule, JSON parsing and the
 * payload schema, and the columns extracted for queries.
 *
 * Only `type` and `eventId` are required. Every other field is optional and
 * free-form: a field of an unexpected type is not extracted (its column stays
 * empty) rather than refused, and unknown fields are simply kept in the raw
 * body. Maildesk cannot fix a payload we refuse; it can only retry it.
 */
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { RequestError } from "./errors.ts";

/** The longest `eventId` accepted, in characters. */
const MAX_EVENT_ID_LENGTH = 200;

/** The fields every event must carry; others are allowed and kept. */
export const EventPayloadSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, examples: ["subscriber.created"] }),
    eventId: Type.String({
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      examples: ["01JDQ7ZK8Y6V3N2M4P5R7S9T1W"],
    }),
    id: Type.Optional(Type.String({ description: "The contact id." })),
    email: Type.Optional(Type.String()),
    firstName: Type.Optional(Type.String()),
    lastName: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    createdAt: Type.Optional(Type.String({ description: "ISO-8601 or another date string." })),
  },
  { additionalProperties: true },
);

const requiredFields = TypeCompiler.Compile(
  Type.Object(
    { type: EventPayloadSchema.properties.type, eventId: EventPayloadSchema.properties.eventId },
    { additionalProperties: true },
  ),
);

/** The columns stored beside the raw body. */
export interface ExtractedFields {
  readonly type: string;
  readonly eventId: string;
  readonly contactId: string | null;
  readonly email: string | null;
  readonly status: string | null;
  readonly createdAtRaw: string | null;
  readonly createdAt: number | null;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/;

/** Throws a 415 unless the content type is `application/json` or `…+json`, in UTF-8. */
export function assertJsonContentType(contentType: string | null): void {
  if (contentType === "application/json") return; // what Maildesk sends
  const [mediaType = "", ...parameters] = (contentType ?? "").toLowerCase().split(";");
  const isJson = JSON_MEDIA_TYPE.test(mediaType.trim());
  const charset = parameters.map((p) => p.trim()).find((p) => p.startsWith("charset="));
  const isUtf8 = !charset || /^charset="?utf-8"?$/.test(charset);
  if (!isJson || !isUtf8) {
    throw new RequestError(
      415,
      "unsupported_media_type",
      "The body must be JSON (application/json or application/*+json, UTF-8).",
      `content-type ${JSON.stringify(contentType)}`,
    );
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses the body and checks the required fields; throws a 400 `RequestError` otherwise. */
export function parseEventPayload(body: Uint8Array): ExtractedFields {
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(body));
  } catch (error) {
    throw new RequestError(400, "invalid_json", "The body is not valid UTF-8 JSON.", String(error));
  }

  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new RequestError(400, "invalid_payload", "The body must be a JSON object.");
  }
  if (!requiredFields.Check(payload)) {
    const first = requiredFields.Errors(payload).First();
    const field = first?.path.slice(1) || "body";
    const message =
      field === "eventId"
        ? `eventId must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters.`
        : `${field} must be a non-empty string.`;
    throw new RequestError(400, "invalid_payload", message);
  }
  // JSON may escape a lone surrogate ("\ud800"): such a string has no UTF-8
  // form, SQLite would store U+FFFD instead, and two different ids would
  // become one. The eventId is the identity of an event, so it must be exact.
  if (!(payload as { eventId: string }).eventId.isWellFormed()) {
    throw new RequestError(
      400,
      "invalid_payload",
      "eventId must be well-formed Unicode (no lone surrogate escapes).",
    );
  }

  return extractFields(payload as Static<typeof EventPayloadSchema> & Record<string, unknown>);
}

function extractFields(
  payload: Record<string, unknown> & { type: string; eventId: string },
): ExtractedFields {
  const createdAtRaw = asText(payload.createdAt);
  return {
    type: payload.type,
    eventId: payload.eventId,
    contactId: asText(payload.id),
    email: asText(payload.email),
    status: asText(payload.status),
    createdAtRaw,
    createdAt: parseTime(payload.createdAt),
  };
}

/** Strings as they are; numbers (some systems number their contacts) as text. */
function asText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

/** A date string, or a Unix time in seconds or milliseconds; `null` where it does not parse. */
function parseTime(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) {
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  }
  if (typeof value !== "string" || value.length > 100) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}
