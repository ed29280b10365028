/**
 * Request errors: a status, a stable machine-readable `code`, a message for
 * the caller, and (separately) a precise reason for the logs. Every error body
 * has the same shape: `{"error": code, "message": text}`.
 */
import {
  InvalidCursorError,
  StorageUnavailableError,
  StoreOverloadedError,
} from "../store/errors.ts";

/** Seconds Maildesk is asked to wait after a 503. */
const RETRY_AFTER_OVERLOADED_SECONDS = 1;
const RETRY_AFTER_STORAGE_SECONDS = 5;

/** A request refused with a given status; `reason` is for the logs only. */
export class RequestError extends Error {
  override name = "RequestError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason: string = message,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Maps anything thrown while handling a request to the error the caller sees. */
export function toRequestError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  if (error instanceof InvalidCursorError) {
    return new RequestError(400, "invalid_request", "cursor is not one this list handed out.");
  }
  if (error instanceof StoreOverloadedError) {
    return new RequestError(
      503,
      "overloaded",
      "Too many requests are waiting to be stored; retry later.",
      error.message,
      { "retry-after": String(RETRY_AFTER_OVERLOADED_SECONDS) },
    );
  }
  if (error instanceof StorageUnavailableError) {
    return new RequestError(
      503,
      "storage_unavailable",
      "The event could not be stored; retry later.",
      error.message,
      { "retry-after": String(RETRY_AFTER_STORAGE_SECONDS) },
    );
  }
  return new RequestError(500, "internal_error", "Internal error.", String(error));
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

/** A JSON response with the given status and extra headers. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** The response for a request error: its status, its headers and the common body. */
export function errorResponse(
  error: RequestError,
  extraHeaders: Readonly<Record<string, string>> = {},
): Response {
  return jsonResponse(
    error.status,
    { error: error.code, message: error.message },
    { ...error.headers, ...extraHeaders },
  );
}

/**
 * Where a parameter's schema keeps the message of its 400 answer (see
 * `parameters` in src/api/schemas.ts). A symbol, so that the OpenAPI document,
 * which is the schemas as JSON, does not show it.
 */
export const INVALID_MESSAGE = Symbol("invalidMessage");

/** The message for a failed validation: the parameter's own, or Elysia's. */
export function validationMessage(error: unknown): string {
  const { valueError, message } = error as {
    valueError?: { path?: string; message?: string; schema?: Record<symbol, unknown> };
    message?: string;
  };
  const own = valueError?.schema?.[INVALID_MESSAGE];
  if (typeof own === "string") return own;
  if (valueError?.message) return `${valueError.path || "value"}: ${valueError.message}`;
  return String(message);
}
