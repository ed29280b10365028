/**
 * `/api/subscribers`: the subscriber mirror kept by the outbox worker's
 * `subscribers` handler, with each contact's event history.
 *
 * Known shortcoming: the mirror's tables belong to the worker. Until the
 * store offers `subscribers` (see `SubscriberQueries`), these routes answer
 * 501 rather than anything made up.
 */
import { Elysia, t } from "elysia";
import { RequestError } from "../http/errors.ts";
import type {
  SubscriberDetail,
  SubscriberEntry,
  SubscriberHistoryEntry,
  SubscriberQueries,
} from "../store/types.ts";
import type { createBearerAuth } from "./bearer-auth.ts";
import {
  apiDetail,
  DEFAULT_PAGE_LIMIT,
  InvalidRequestBody,
  NotFoundBody,
  NotImplementedBody,
  NullableString,
  NullableTimestamp,
  pageOf,
  pageQuery,
  parameters,
  Timestamp,
  toIso,
  UnauthorizedBody,
} from "./schemas.ts";

const TAG = "Subscribers";

const SubscriberSchema = t.Object(
  {
    id: t.String({
      description: "The contact's Maildesk id, or its e-mail where events carry none.",
    }),
    contactId: NullableString("The contact's Maildesk id."),
    email: NullableString("The contact's e-mail."),
    firstName: NullableString("First name."),
    lastName: NullableString("Last name."),
    status: NullableString("The status the latest event gave."),
    createdAt: NullableTimestamp("When Maildesk created the contact."),
    confirmedAt: NullableTimestamp("When the contact confirmed."),
    unsubscribedAt: NullableTimestamp("When the contact unsubscribed."),
    lastEventId: NullableString("The event whose state this shows."),
    updatedAt: Timestamp("When the mirror last changed."),
  },
  { additionalProperties: false },
);

const HistoryEntrySchema = t.Object({
  eventId: t.String(),
  type: t.String(),
  receivedAt: Timestamp("When the event arrived."),
  appliedAt: Timestamp("When the worker handled it."),
  applied: t.Boolean({
    description: "Whether it changed the mirror (false: older than its state).",
  }),
});

const SubscriberDetailSchema = t.Object(
  { ...SubscriberSchema.properties, history: t.Array(HistoryEntrySchema) },
  { description: "The contact and its event history, oldest first." },
);

const NOT_AVAILABLE = () =>
  new RequestError(501, "not_implemented", "The subscriber mirror is not available in this build.");

export interface SubscribersRouteDeps {
  /** Absent until the store offers the mirror. */
  readonly subscribers: SubscriberQueries | undefined;
  readonly auth: ReturnType<typeof createBearerAuth>;
}

/** The subscribers controller. */
export function createSubscribersRoutes({ subscribers, auth }: SubscribersRouteDeps) {
  return new Elysia({ prefix: "/subscribers" })
    .use(auth)
    .get(
      "",
      ({ query }) => {
        if (!subscribers) throw NOT_AVAILABLE();
        const page = subscribers.list(
          { status: query.status, email: query.email },
          { limit: query.limit ?? DEFAULT_PAGE_LIMIT, cursor: query.cursor },
        );
        return { items: page.items.map(toSubscriberJson), nextCursor: page.nextCursor };
      },
      {
        query: parameters(
          t.Object({
            status: t.Optional(
              t.String({ description: "Only contacts with this status.", examples: ["active"] }),
            ),
            email: t.Optional(t.String({ description: "Only the contact with this e-mail." })),
            ...pageQuery,
          }),
        ),
        response: {
          200: pageOf(SubscriberSchema, "A page of contacts, most recently changed first."),
          400: InvalidRequestBody,
          401: UnauthorizedBody,
          501: NotImplementedBody,
        },
        detail: apiDetail(TAG, "List subscribers", "The mirror of Maildesk's contacts."),
      },
    )
    .get(
      "/:id",
      ({ params }) => {
        if (!subscribers) throw NOT_AVAILABLE();
        const subscriber = subscribers.get(params.id);
        if (!subscriber) throw new RequestError(404, "not_found", "No such subscriber.");
        return toSubscriberDetailJson(subscriber);
      },
      {
        params: t.Object({ id: t.String({ description: "The contact's id (or e-mail)." }) }),
        response: {
          200: SubscriberDetailSchema,
          401: UnauthorizedBody,
          404: NotFoundBody("subscriber"),
          501: NotImplementedBody,
        },
        detail: apiDetail(TAG, "Get a subscriber", "The contact, with every event applied to it."),
      },
    );
}

function toSubscriberJson(row: SubscriberEntry) {
  return {
    ...row,
    createdAt: toIso(row.createdAt),
    confirmedAt: toIso(row.confirmedAt),
    unsubscribedAt: toIso(row.unsubscribedAt),
    updatedAt: toIso(row.updatedAt),
  };
}

function toSubscriberDetailJson(row: SubscriberDetail) {
  return {
    ...toSubscriberJson(row),
    history: row.history.map((entry: SubscriberHistoryEntry) => ({
      ...entry,
      receivedAt: toIso(entry.receivedAt),
      appliedAt: toIso(entry.appliedAt),
    })),
  };
}
