/**
 * `/api/events`: the stored events, newest first by receipt time, one with
 * its raw body and outbox rows, and replay.
 */
import { Elysia, t } from "elysia";
import type { EventDetail, EventSummary, OutboxControl, StoreQueries } from "../store/types.ts";
import type { BearerAuth } from "./bearer-auth.ts";
import { OutboxEntrySchema, toOutboxJson } from "./outbox-routes.ts";
import {
  apiDetail,
  InvalidRequestBody,
  invalidParameter,
  NotFoundBody,
  NullableString,
  NullableTimestamp,
  notFound,
  pageJson,
  pageOf,
  pageQuery,
  pageRequest,
  parameters,
  parseTimeParameter,
  Timestamp,
  timeQuery,
  toIso,
  UnauthorizedBody,
  UnavailableBody,
} from "./schemas.ts";

const TAG = "Events";

export const EventSummarySchema = t.Object(
  {
    eventId: t.String({ examples: ["01JDQ7ZK8Y6V3N2M4P5R7S9T1W"] }),
    type: t.String({ examples: ["subscriber.created"] }),
    contactId: NullableString("The contact's `id` in the payload."),
    email: NullableString("The contact's `email` in the payload."),
    status: NullableString("The contact's `status` in the payload."),
    createdAt: NullableTimestamp("`createdAt` of the payload, where it parses as a time."),
    createdAtRaw: NullableString("`createdAt` of the payload exactly as sent."),
    receivedAt: Timestamp("When the request arrived."),
    sourceIp: NullableString("The client address the request came from."),
    requestId: NullableString("The request id (`X-Request-Id`), also in the logs."),
  },
  { additionalProperties: false },
);

const EventDetailSchema = t.Object(
  {
    ...EventSummarySchema.properties,
    rawBody: t.String({
      description:
        "The request body exactly as received: UTF-8 text, or base64 when " +
        "`rawBodyEncoding` says so.",
    }),
    rawBodyEncoding: t.UnionEnum(["utf-8", "base64"], { default: undefined }),
    payload: t.Unknown({
      description: "The raw body parsed as JSON; `null` if it does not parse.",
    }),
    outbox: t.Array(OutboxEntrySchema, { description: "One row per handler." }),
  },
  { description: "The event." },
);

const EventParams = t.Object({
  eventId: t.String({
    description: "The event's `eventId`.",
    examples: ["01JDQ7ZK8Y6V3N2M4P5R7S9T1W"],
  }),
});

const ReplayAnswer = t.Object(
  {
    eventId: t.String(),
    outbox: t.Array(OutboxEntrySchema, {
      description: "The event's outbox rows after the replay.",
    }),
  },
  { description: "Its handlers were made due again." },
);

export interface EventsRouteDeps {
  readonly queries: StoreQueries;
  readonly outbox: OutboxControl;
  readonly auth: BearerAuth;
}

/** The events controller. */
export function createEventsRoutes({ queries, outbox, auth }: EventsRouteDeps) {
  return new Elysia({ prefix: "/events" })
    .use(auth)
    .get(
      "",
      ({ query }) => {
        const since = parseTimeParameter("since", query.since);
        const until = parseTimeParameter("until", query.until);
        if (since !== undefined && until !== undefined && since >= until) {
          throw invalidParameter("since must be before until");
        }
        const page = queries.listEvents(
          { type: query.type, email: query.email, contactId: query.contactId, since, until },
          pageRequest(query),
        );
        return pageJson(page, toEventJson);
      },
      {
        query: parameters(
          t.Object({
            type: t.Optional(
              t.String({ description: "Only this event type.", examples: ["subscriber.created"] }),
            ),
            email: t.Optional(
              t.String({
                description:
                  "Only events with this `email` (exact). Found once the worker has processed " +
                  "the event, normally within milliseconds of its 200.",
              }),
            ),
            contactId: t.Optional(
              t.String({
                description:
                  "Only events with this contact `id`. Found once the worker has processed the " +
                  "event, normally within milliseconds of its 200.",
              }),
            ),
            since: timeQuery("since", "Received at or after this time."),
            until: timeQuery("until", "Received before this time."),
            ...pageQuery,
          }),
        ),
        response: {
          200: pageOf(EventSummarySchema, "A page of events, newest first (in receipt order)."),
          400: InvalidRequestBody,
          401: UnauthorizedBody,
        },
        detail: apiDetail(
          TAG,
          "List events",
          "Stored events, newest first by receipt time (ties in storage order). Filters combine " +
            "(all must match). Pages are keyset pages: follow `nextCursor` until it is `null`; " +
            "events stored while you page appear at the top, never inside the pages you walk.",
        ),
      },
    )
    .get(
      "/:eventId",
      ({ params }) => {
        const event = queries.getEvent(params.eventId);
        if (!event) throw notFound("event");
        return toEventDetailJson(event);
      },
      {
        params: EventParams,
        response: { 200: EventDetailSchema, 401: UnauthorizedBody, 404: NotFoundBody("event") },
        detail: apiDetail(
          TAG,
          "Get an event",
          "The event's columns, its body exactly as received, the body parsed, " +
            "and its outbox rows.",
        ),
      },
    )
    .post(
      "/:eventId/replay",
      async ({ params, status }) => {
        if (!queries.getEvent(params.eventId)) throw notFound("event");
        const replayed = await outbox.replayEvent(params.eventId);
        if (!replayed.found) throw notFound("event");
        const event = queries.getEvent(params.eventId);
        return status(202, {
          eventId: params.eventId,
          outbox: (event?.outbox ?? []).map(toOutboxJson),
        });
      },
      {
        params: EventParams,
        response: {
          202: ReplayAnswer,
          401: UnauthorizedBody,
          404: NotFoundBody("event"),
          503: UnavailableBody,
        },
        detail: apiDetail(
          TAG,
          "Replay an event",
          "Makes every handler of the event run again (the handlers are idempotent).",
        ),
      },
    );
}

function toEventJson(event: EventSummary) {
  return {
    eventId: event.eventId,
    type: event.type,
    contactId: event.contactId,
    email: event.email,
    status: event.status,
    createdAt: toIso(event.createdAt),
    createdAtRaw: event.createdAtRaw,
    receivedAt: toIso(event.receivedAt),
    sourceIp: event.sourceIp,
    requestId: event.requestId,
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function toEventDetailJson(event: EventDetail) {
  let rawBody: string;
  let rawBodyEncoding: "utf-8" | "base64" = "utf-8";
  try {
    rawBody = utf8.decode(event.rawBody);
  } catch {
    // Ingest refuses bodies that are not UTF-8; this is for rows written otherwise.
    rawBody = Buffer.from(event.rawBody).toString("base64");
    rawBodyEncoding = "base64";
  }
  let payload: unknown = null;
  try {
    payload = JSON.parse(rawBody.replace(/^\uFEFF/, ""));
  } catch {}

  return {
    ...toEventJson(event),
    rawBody,
    rawBodyEncoding,
    payload,
    outbox: event.outbox.map(toOutboxJson),
  };
}
