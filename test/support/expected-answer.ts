/**
 * The oracle of the hostile-input property test: the answer the README's
 * table of the webhook endpoint promises for given bytes, content type and
 * path, with verifiers off. Written from the table, not from the code, so
 * that the two can disagree.
 */

/** What the README says a request must get, with verifiers off. */
export type Expected =
  | { readonly status: 200; readonly eventId: string }
  | { readonly status: 400 | 404 | 413 | 415; readonly error: string };

const JSON_MEDIA_TYPE = /^application\/([a-z0-9.-]+\+)?json$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The answer the table in the README promises for these bytes, headers and path. */
export function expectedAnswer(
  bytes: Uint8Array,
  type: string | null,
  path: string,
  maxBodyBytes: number,
): Expected {
  const { pathname } = new URL(path, "http://localhost");
  if (pathname.replace(/\/$/, "") !== "/webhooks/maildesk") {
    return { status: 404, error: "not_found" };
  }
  if (bytes.byteLength > maxBodyBytes) return { status: 413, error: "payload_too_large" };

  const [mediaType = "", ...parameters] = (type ?? "").toLowerCase().split(";");
  const charset = parameters.map((p) => p.trim()).find((p) => p.startsWith("charset="));
  const isUtf8 = charset === undefined || /^charset="?utf-8"?$/.test(charset);
  if (!JSON_MEDIA_TYPE.test(mediaType.trim()) || !isUtf8) {
    return { status: 415, error: "unsupported_media_type" };
  }

  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(bytes));
  } catch {
    return { status: 400, error: "invalid_json" };
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { status: 400, error: "invalid_payload" };
  }
  const own = (name: string) =>
    Object.hasOwn(payload as object, name) ? (payload as Record<string, unknown>)[name] : undefined;
  const eventType = own("type");
  const eventId = own("eventId");
  const isValid =
    typeof eventType === "string" &&
    eventType.length > 0 &&
    typeof eventId === "string" &&
    eventId.length > 0 &&
    eventId.length <= 200;
  return isValid ? { status: 200, eventId } : { status: 400, error: "invalid_payload" };
}
