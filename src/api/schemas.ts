/**
 * Schemas shared by the query API's controllers: the error body, paging
 * parameters, times, and the route details every authenticated route carries
 * (its tag, the bearer requirement, the 401 answer).
 */
import type { TObject, TSchema } from "@sinclair/typebox";
import { t } from "elysia";
import { INVALID_MESSAGE, RequestError } from "../http/errors.ts";

/** Items per page unless `limit` says otherwise, and the most it may say. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/** The body of every error answer; `description` becomes the answer's description. */
export function errorBody(description: string, example: { error: string; message: string }) {
  return t.Object(
    {
      error: t.String({ description: "A stable, machine-readable code." }),
      message: t.String({ description: "What went wrong, for a person." }),
    },
    { description, examples: [example] },
  );
}

export const UnauthorizedBody = errorBody("No bearer token, or not the admin token.", {
  error: "unauthorized",
  message: "A valid bearer token is required.",
});

export const InvalidRequestBody = errorBody("A parameter is malformed or out of range.", {
  error: "invalid_request",
  message: "limit must be a whole number from 1 to 500",
});

export const NotFoundBody = (what: string) =>
  errorBody(`No such ${what}.`, { error: "not_found", message: `No such ${what}.` });

/** The 404 that `NotFoundBody(what)` documents. */
export const notFound = (what: string) => new RequestError(404, "not_found", `No such ${what}.`);

export const UnavailableBody = errorBody("The writer is not running; retry later.", {
  error: "storage_unavailable",
  message: "Storage is unavailable; retry later.",
});

/**
 * The query or path schema of a route. Each property may give an `error`:
 * the message of the 400 answer when it does not validate. It is moved out
 * of the schema's JSON (an OpenAPI linter would refuse the unknown keyword).
 */
export function parameters<T extends TObject>(schema: T): T {
  const properties = Object.values(schema.properties) as unknown as Record<
    string | symbol,
    unknown
  >[];
  for (const property of properties) {
    if (typeof property.error !== "string") continue;
    property[INVALID_MESSAGE] = property.error;
    delete property.error;
  }
  return schema;
}

/** The page a list's query asks for (`limit`, defaulted, and `cursor`). */
export function pageRequest(query: { limit?: number; cursor?: string }) {
  return { limit: query.limit ?? DEFAULT_PAGE_LIMIT, cursor: query.cursor };
}

/** A page as the API answers it, each item mapped by `toJson`. */
export function pageJson<Item, Json>(
  page: { readonly items: readonly Item[]; readonly nextCursor: string | null },
  toJson: (item: Item) => Json,
) {
  return { items: page.items.map(toJson), nextCursor: page.nextCursor };
}

/** `limit` and `cursor`, for the query schema of a list. */
export const pageQuery = {
  limit: t.Optional(
    t.Number({
      minimum: 1,
      maximum: MAX_PAGE_LIMIT,
      multipleOf: 1,
      default: DEFAULT_PAGE_LIMIT,
      description: `Items per page (1-${MAX_PAGE_LIMIT}).`,
      error: `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`,
    }),
  ),
  cursor: t.Optional(
    t.String({
      description: "`nextCursor` of the previous page; omit it for the first page.",
      error: "cursor must be a string",
    }),
  ),
};

/** A list answer: a page of `item`, newest first. */
export function pageOf<T extends TSchema>(item: T, description: string) {
  return t.Object(
    {
      items: t.Array(item),
      nextCursor: t.Union([t.String(), t.Null()], {
        description: "Pass it as `cursor` for the next page; `null` on the last page.",
      }),
    },
    { description },
  );
}

/** A time as ISO-8601 (UTC, milliseconds). */
export const Timestamp = (description: string) =>
  t.String({ format: "date-time", description, examples: ["2026-12-01T10:00:00.000Z"] });

export const NullableTimestamp = (description: string) =>
  t.Union([Timestamp(description), t.Null()], { description });

export const NullableString = (description: string) =>
  t.Union([t.String(), t.Null()], { description });

/** Milliseconds since the epoch as ISO-8601. */
export function toIso(ms: number): string;
export function toIso(ms: number | null): string | null;
export function toIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The details of an authenticated route: its tag, the bearer requirement. */
export function apiDetail(tag: string, summary: string, description: string) {
  return { tags: [tag], summary, description, security: [{ bearerAuth: [] }] };
}

/** A request parameter the schema could not express, refused with 400. */
export function invalidParameter(message: string): RequestError {
  return new RequestError(400, "invalid_request", message);
}

const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/**
 * Reads a time parameter: ISO-8601 (a date, or a date-time with its offset)
 * or milliseconds since the epoch. A date-time without an offset is refused
 * rather than read in the server's time zone.
 */
export function parseTimeParameter(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(value)
    ? Number(value)
    : ISO_8601.test(value)
      ? Date.parse(value)
      : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw invalidParameter(
      `${name} must be ISO-8601 (2026-12-01 or 2026-12-01T10:00:00Z) ` +
        "or milliseconds since the epoch",
    );
  }
  return ms;
}

/** The schema of a time parameter. */
export const timeQuery = (name: string, description: string) =>
  t.Optional(
    t.String({
      description:
        `${description} ISO-8601 (a date, or a date-time with an offset) ` +
        "or milliseconds since the epoch.",
      examples: ["2026-12-01T00:00:00Z"],
      error: `${name} must be a string`,
    }),
  );
