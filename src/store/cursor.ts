/**
 * Keyset pages: a list is read newest first, `limit + 1` rows past the
 * cursor, and the cursor of the next page is the position (a row id, or an
 * event's `seq`) of the last item, as an opaque base64url string
 * `<list>:<id>`.
 *
 * A cursor is a position, not a permission: whoever holds one may read the
 * list anyway, so it is not signed. It is checked strictly instead (canonical
 * base64url, the list it belongs to, a safe integer), so that a garbled or
 * hand-made one is refused rather than read as some other position.
 */
import { InvalidCursorError } from "./errors.ts";
import type { Page } from "./types.ts";

/** The lists that hand out cursors; the tag keeps one list's cursor out of another. */
export type CursorList = "e" | "o" | "d" | "s";

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_CURSOR_LENGTH = 200;

/** Encodes the position `id` (a non-negative integer) in `list`. */
export function encodeCursor(list: CursorList, id: number): string {
  return Buffer.from(`${list}:${id}`).toString("base64url");
}

/** Decodes a cursor of `list` to its position; throws `InvalidCursorError`. */
export function decodeCursor(list: CursorList, cursor: string): number {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid();
  const text = Buffer.from(cursor, "base64url").toString("latin1");
  // Several strings decode alike (trailing bits); only the one we make is accepted.
  if (Buffer.from(text, "latin1").toString("base64url") !== cursor) throw invalid();

  const [tag, field, ...rest] = text.split(":");
  if (tag !== list || field === undefined || rest.length > 0) throw invalid();
  const value = /^(0|[1-9]\d{0,15})$/.test(field) ? Number(field) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw invalid();
  return value;
}

/**
 * The page of `rows` (read with `limit + 1`, newest first): the first
 * `limit` as items, and the cursor of the last one if there were more.
 */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  list: CursorList,
  positionOf: (row: Row) => number,
  toItem: (row: Row) => Item,
): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  return {
    items: pageRows.map(toItem),
    nextCursor: hasMore
      ? encodeCursor(list, positionOf(pageRows[pageRows.length - 1] as Row))
      : null,
  };
}

function invalid(): InvalidCursorError {
  return new InvalidCursorError("the cursor is not one this list handed out");
}
