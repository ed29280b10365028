/**
 * The order in which a contact's events happened, as far as we can tell:
 * by ULID time where the eventId is a ULID (Maildesk mints them when the
 * change happens, so they order changes even when deliveries arrive out of
 * order), otherwise by receipt time. Ties go to the whole ULID (a monotonic
 * generator orders ids of one millisecond), then to receipt order (`seq`).
 *
 * The order is encoded as one string that compares as text, so that it can
 * be stored and compared in SQL and JSON alike:
 * `<time, 15 digits>.<ULID or empty>.<seq, 15 digits>`. Every event has a
 * distinct key (seq is unique), and the order is total, which is what lets
 * the mirror come out the same whatever order events are processed in.
 */
import { decodeTime } from "ulid";

const DIGITS = 15;

/** 26 Crockford base32 characters, the first at most 7 (48-bit time). */
const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

/** Where an event sits in its contact's history. */
export interface EventOrder {
  /** The event's time: its ULID time, or its receipt time. */
  readonly at: number;
  /** The sortable key described above. */
  readonly key: string;
}

/** The ULID time of `eventId`, or `null` when it is not a ULID. */
export function ulidTime(eventId: string): number | null {
  // The pattern is a cheap first test (most ids that are not ULIDs fail it
  // at once); the library decodes, and throws on anything it refuses.
  if (!ULID_PATTERN.test(eventId)) return null;
  try {
    return decodeTime(eventId);
  } catch {
    return null;
  }
}

/** Orders an event by its id, receipt time and receipt order. */
export function orderEvent(eventId: string, receivedAt: number, seq: number): EventOrder {
  const time = ulidTime(eventId);
  const at = time ?? receivedAt;
  const ulid = time === null ? "" : eventId.toUpperCase();
  const key = `${String(at).padStart(DIGITS, "0")}.${ulid}.${String(seq).padStart(DIGITS, "0")}`;
  return { at, key };
}
