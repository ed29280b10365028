/**
 * Keyset cursors: the position of the last item of a page, as an opaque
 * base64url string (`e:<receivedAt>:<seq>` for events, `<list>:<id>` for the
 * others).
 *
 * A cursor is a position, not a permission: whoever holds one may read the
 * list anyway, so it is not signed. It is checked strictly instead (canonical
 * base64url, the list it belongs to, safe integers), so that a garbled or
 * hand-made one is refused rather than read as some other position.
 */
import { InvalidCursorError } from "./errors.ts";

/** The lists that hand out cursors; the tag keeps one list's cursor out of another. */
export type CursorList = "e" | "o" | "d" | "s";

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_CURSOR_LENGTH = 200;

/** Encodes a position of `list` made of non-negative integers. */
export function encodeCursor(list: CursorList, key: readonly number[]): string {
  return Buffer.from(`${list}:${key.join(":")}`).toString("base64url");
}

/** Decodes a cursor of `list` with `parts` integers; throws `InvalidCursorError`. */
export function decodeCursor(list: CursorList, cursor: string, parts: number): number[] {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid();
  const text = Buffer.from(cursor, "base64url").toString("latin1");
  // Several strings decode alike (trailing bits); only the one we make is accepted.
  if (Buffer.from(text, "latin1").toString("base64url") !== cursor) throw invalid();

  const [tag, ...fields] = text.split(":");
  if (tag !== list || fields.length !== parts) throw invalid();
  return fields.map((field) => {
    const value = /^(0|[1-9]\d{0,15})$/.test(field) ? Number(field) : Number.NaN;
    if (!Number.isSafeInteger(value)) throw invalid();
    return value;
  });
}

/** Decodes a cursor made of one id (outbox, deliveries). */
export function decodeIdCursor(list: CursorList, cursor: string): number {
  return decodeCursor(list, cursor, 1)[0] as number;
}

function invalid(): InvalidCursorError {
  return new InvalidCursorError("the cursor is not one this list handed out");
}
