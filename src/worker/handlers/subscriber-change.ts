/**
 * What one event says about its contact, read from the stored raw body.
 *
 * A field is *absent* when the payload does not carry it, or carries a value
 * of a type it cannot have (an object for a name): absent fields are left as
 * they were. `null` is a value: it clears the field. A numeric contact id is
 * read as text (`42` → "42"), as ingest does for `events.contact_id`.
 */

/** The subscriber event types the mirror knows. */
export const SUBSCRIBER_EVENT_TYPES = [
  "subscriber.created",
  "subscriber.updated",
  "subscriber.confirmed",
  "subscriber.unsubscribed",
] as const;

export type SubscriberEventType = (typeof SUBSCRIBER_EVENT_TYPES)[number];

/** A field's new value, `null` to clear it; `undefined` is absent. */
type Change<T> = T | null | undefined;

export interface SubscriberChange {
  readonly contactId: string | null;
  readonly email: Change<string>;
  readonly firstName: Change<string>;
  readonly lastName: Change<string>;
  readonly status: Change<string>;
  /** `createdAt` as sent (numbers as text). */
  readonly createdAtRaw: Change<string>;
}

const utf8 = new TextDecoder("utf-8");

/** Reads the change from the raw body; `null` when the body is not a JSON object. */
export function readSubscriberChange(rawBody: Uint8Array): SubscriberChange | null {
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(rawBody));
  } catch {
    return null;
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return null;
  const fields = payload as Record<string, unknown>;

  const id = own(fields, "id");
  return {
    contactId: typeof id === "number" && Number.isFinite(id) ? String(id) : nonEmpty(id),
    email: text(own(fields, "email")),
    firstName: text(own(fields, "firstName")),
    lastName: text(own(fields, "lastName")),
    status: text(own(fields, "status")),
    createdAtRaw: textOrNumber(own(fields, "createdAt")),
  };
}

/** The payload's own property (never one reached through `__proto__`). */
function own(fields: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function text(value: unknown): Change<string> {
  if (typeof value === "string" || value === null) return value;
  return undefined;
}

function textOrNumber(value: unknown): Change<string> {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return text(value);
}

function nonEmpty(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

/** The mirror's key of the contact an event is about, or `null` when it names none. */
export function subscriberKey(change: SubscriberChange): string | null {
  if (change.contactId !== null) return `id:${change.contactId}`;
  const email = change.email?.trim().toLowerCase();
  return email ? `email:${email}` : null;
}
