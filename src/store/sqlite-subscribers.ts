/**
 * Reads of the subscriber mirror (kept by the worker's `subscribers`
 * handler) over the HTTP thread's reading connection.
 *
 * A contact is found by the id the API shows: its Maildesk id, or, for a
 * contact known only by e-mail, that address. Lists go newest contact first;
 * the status and e-mail filters walk their one-column indexes, which hold
 * the row id too, so no sort is needed.
 */
import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { decodeCursor, toPage } from "./cursor.ts";
import type { OpenDatabase } from "./database.ts";
import { subscriberEvents, subscribers } from "./schema.ts";
import type { SubscriberDetail, SubscriberEntry, SubscriberQueries } from "./types.ts";

const ID_KEY_PREFIX = "id:";
const EMAIL_KEY_PREFIX = "email:";

const entryColumns = {
  rowId: subscribers.id,
  key: subscribers.key,
  contactId: subscribers.contactId,
  email: subscribers.email,
  firstName: subscribers.firstName,
  lastName: subscribers.lastName,
  status: subscribers.status,
  createdAt: subscribers.createdAt,
  confirmedAt: subscribers.confirmedAt,
  unsubscribedAt: subscribers.unsubscribedAt,
  lastEventId: subscribers.lastEventId,
  updatedAt: subscribers.updatedAt,
};

type EntryRow = {
  rowId: number;
  key: string;
} & Omit<SubscriberEntry, "id">;

/** Creates the mirror's reads over `reader`. */
export function createSqliteSubscribers(reader: OpenDatabase): SubscriberQueries {
  const { db } = reader;

  return {
    list(filter, page) {
      const conditions: SQL[] = [];
      if (filter.status !== undefined) conditions.push(eq(subscribers.status, filter.status));
      if (filter.email !== undefined) conditions.push(eq(subscribers.email, filter.email));
      if (page.cursor !== undefined) {
        conditions.push(lt(subscribers.id, decodeCursor("s", page.cursor)));
      }
      const rows = db
        .select(entryColumns)
        .from(subscribers)
        .where(and(...conditions))
        .orderBy(desc(subscribers.id))
        .limit(page.limit + 1)
        .all();
      return toPage(rows, page.limit, "s", (row) => row.rowId, toEntry);
    },

    get(id) {
      // A Maildesk id first; an address only matches a contact keyed by it.
      const row =
        findByKey(`${ID_KEY_PREFIX}${id}`) ?? findByKey(`${EMAIL_KEY_PREFIX}${id.toLowerCase()}`);
      if (!row) return null;

      const history = db
        .select({
          eventId: subscriberEvents.eventId,
          type: subscriberEvents.type,
          eventAt: subscriberEvents.eventAt,
          recordedAt: subscriberEvents.recordedAt,
          outcome: subscriberEvents.outcome,
        })
        .from(subscriberEvents)
        .where(eq(subscriberEvents.subscriberId, row.rowId))
        .orderBy(subscriberEvents.eventAt, subscriberEvents.eventSeq)
        .all();
      return { ...toEntry(row), history } satisfies SubscriberDetail;
    },

    countByStatus() {
      const rows = db
        .select({ status: subscribers.status, n: sql<number>`count(*)` })
        .from(subscribers)
        .groupBy(subscribers.status)
        .all();
      return Object.fromEntries(rows.map((row) => [row.status ?? "(none)", row.n]));
    },
  };

  function findByKey(key: string): EntryRow | undefined {
    return db.select(entryColumns).from(subscribers).where(eq(subscribers.key, key)).get();
  }
}

function toEntry({ rowId, key, ...row }: EntryRow): SubscriberEntry {
  // A contact known only by e-mail is found by its address as keyed (lower case).
  const id = key.startsWith(ID_KEY_PREFIX)
    ? key.slice(ID_KEY_PREFIX.length)
    : key.slice(EMAIL_KEY_PREFIX.length);
  return { id, ...row };
}
