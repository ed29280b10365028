/**
 * `/api/subscribers`: the subscriber mirror kept by the outbox worker's
 * `subscribers` handler, with each contact's event history.
 */
import { Elysia, t } from "elysia";
import type { SubscriberDetail, SubscriberEntry, SubscriberQueries } from "../store/types.ts";
import type { BearerAuth } from "./bearer-auth.ts";
import {
  apiDetail,
  InvalidRequestBody,
  NotFoundBody,
  NullableString,
  NullableTimestamp,
  notFound,
  pageJson,
  pageOf,
  pageQuery,
  pageRequest,
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
  eventAt: Timestamp("The event's time: its ULID time, or when it arrived."),
  recordedAt: Timestamp("When the worker handled it."),
  outcome: t.Union([t.Literal("applied"), t.Literal("stale")], {
    description:
      "`applied`: the newest event so far for the fields it carried; `stale`: older than " +
      "what the mirror already showed, so recorded but not applied.",
  }),
});

const SubscriberDetailSchema = t.Object(
  { ...SubscriberSchema.properties, history: t.Array(HistoryEntrySchema) },
  { description: "The contact and its event history, oldest event first." },
);

export interface SubscribersRouteDeps {
  readonly subscribers: SubscriberQueries;
  readonly auth: BearerAuth;
}

/** The subscribers controller. */
export function createSubscribersRoutes({ subscribers, auth }: SubscribersRouteDeps) {
  return new Elysia({ prefix: "/subscribers" })
    .use(auth)
    .get(
      "",
      ({ query }) => {
        const page = subscribers.list(
          { status: query.status, email: query.email },
          pageRequest(query),
        );
        return pageJson(page, toSubscriberJson);
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
          200: pageOf(SubscriberSchema, "A page of contacts, newest first."),
          400: InvalidRequestBody,
          401: UnauthorizedBody,
        },
        detail: apiDetail(TAG, "List subscribers", "The mirror of Maildesk's contacts."),
      },
    )
    .get(
      "/:id",
      ({ params }) => {
        const subscriber = subscribers.get(params.id);
        if (!subscriber) throw notFound("subscriber");
        return toSubscriberDetailJson(subscriber);
      },
      {
        params: t.Object({ id: t.String({ description: "The contact's id (or e-mail)." }) }),
        response: {
          200: SubscriberDetailSchema,
          401: UnauthorizedBody,
          404: NotFoundBody("subscriber"),
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
    history: row.history.map((entry) => ({
      ...entry,
      eventAt: toIso(entry.eventAt),
      recordedAt: toIso(entry.recordedAt),
    })),
  };
}
