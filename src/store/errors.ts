/**
 * Errors storage raises to its callers. Both mean "not stored, try again
 * later": the HTTP layer answers them with 503 and `Retry-After`, never a 2xx.
 */

/** The database could not commit (disk full, I/O error, locked past its timeout, read-only). */
export class StorageUnavailableError extends Error {
  override name = "StorageUnavailableError";

  /** The SQLite result code, e.g. `SQLITE_FULL`, or `UNKNOWN`. */
  readonly storageCode: string;

  constructor(storageCode: string, options?: ErrorOptions) {
    super(`storage unavailable (${storageCode})`, options);
    this.storageCode = storageCode;
  }
}

/** More requests are waiting for a commit than the configured bound. */
export class StoreOverloadedError extends Error {
  override name = "StoreOverloadedError";
}

/** Wraps whatever a failed commit threw, keeping the SQLite code for the log. */
export function toStorageUnavailable(error: unknown): StorageUnavailableError {
  return new StorageUnavailableError(findSqliteCode(error) ?? "UNKNOWN", { cause: error });
}

function findSqliteCode(error: unknown): string | undefined {
  // Drizzle may wrap the driver's error; the SQLite code sits on the cause.
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A list cursor that this backend did not make (garbled, forged, or another list's). */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}
