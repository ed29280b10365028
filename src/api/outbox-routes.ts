/**
 * `/api/outbox`: the outbox rows (one per event and handler), and the
 * operator's retries.
 */
import { Elysia, t } from "elysia";
import { RequestError } from "../http/errors.ts";
import { OUTBOX_STATES } from "../store/schema.ts";
import type { OutboxControl, OutboxEntry, StoreQueries } from "../store/types.ts";
import type { BearerAuth } from "./bearer-auth.ts";
import {
  apiDetail,
  errorBody,
  InvalidRequestBody,
  NotFoundBody,
  NullableString,
  notFound,
  pageJson,
  pageOf,
  pageQuery,
  pageRequest,
  parameters,
  Timestamp,
  toIso,
  UnauthorizedBody,
  UnavailableBody,
} from "./schemas.ts";

const TAG = "Outbox";

export const OutboxEntrySchema = t.Object(
  {
    id: t.Number({ description: "The row's id.", examples: [42] }),
    eventId: t.String(),
    eventType: t.String({ examples: ["subscriber.created"] }),
    handler: t.String({ examples: ["subscribers"] }),
    state: t.UnionEnum(OUTBOX_STATES, {
      default: undefined,
      description:
        "`pending` (due at `runAt`), `processing` (claimed; lease ends at `runAt`), `done`, " +
        "or `dead` (gave up after the last attempt; retry it by hand).",
    }),
    attempts: t.Number({ description: "Attempts so far." }),
    runAt: Timestamp("When the row is next due (pending) or its lease ends (processing)."),
    lastError: NullableString("Why the last attempt failed."),
    result: NullableString(
      "What the last attempt came to, e.g. `applied`, `stale`, `skipped: unknown type` or " +
        "`HTTP 200` for a forward.",
    ),
    createdAt: Timestamp("When the row was written (with its event)."),
    updatedAt: Timestamp("When the row last changed."),
  },
  { additionalProperties: false },
);

const OutboxParams = t.Object({
  id: t.Number({
    minimum: 1,
    multipleOf: 1,
    description: "The outbox row's id.",
    error: "id must be a positive whole number",
  }),
});

const HandlerQuery = t.Optional(
  t.String({ description: "Only rows of this handler.", examples: ["subscribers"] }),
);

export interface OutboxRouteDeps {
  readonly queries: StoreQueries;
  readonly outbox: OutboxControl;
  readonly auth: BearerAuth;
}

/** The outbox controller. */
export function createOutboxRoutes({ queries, outbox, auth }: OutboxRouteDeps) {
  return new Elysia({ prefix: "/outbox" })
    .use(auth)
    .get(
      "",
      ({ query }) => {
        const page = queries.listOutbox(
          { state: query.state, handler: query.handler },
          pageRequest(query),
        );
        return pageJson(page, toOutboxJson);
      },
      {
        query: parameters(
          t.Object({
            state: t.Optional(
              t.UnionEnum(OUTBOX_STATES, {
                default: undefined,
                description: "Only rows in this state.",
                error: `state must be one of ${OUTBOX_STATES.join(", ")}`,
              }),
            ),
            handler: HandlerQuery,
            ...pageQuery,
          }),
        ),
        response: {
          200: pageOf(OutboxEntrySchema, "A page of outbox rows, newest first."),
          400: InvalidRequestBody,
          401: UnauthorizedBody,
        },
        detail: apiDetail(
          TAG,
          "List outbox rows",
          "Outbox rows, newest first, e.g. `?state=dead` for the dead letters.",
        ),
      },
    )
    .post("/retry-dead", async ({ query }) => outbox.retryDead({ handler: query.handler }), {
      query: parameters(t.Object({ handler: HandlerQuery })),
      response: {
        200: t.Object(
          { retried: t.Number({ description: "How many dead rows were made due." }) },
          { description: "The dead rows are pending again." },
        ),
        401: UnauthorizedBody,
        503: UnavailableBody,
      },
      detail: apiDetail(
        TAG,
        "Retry every dead row",
        "Makes every dead row (of `handler`, when given) due now, with a fresh attempt count.",
      ),
    })
    .post(
      "/:id/retry",
      async ({ params }) => {
        if (!queries.getOutboxEntry(params.id)) throw notFound("outbox row");
        const outcome = await outbox.retryRow(params.id);
        if (!outcome.found) throw notFound("outbox row");
        if (!outcome.retried) {
          throw new RequestError(409, "conflict", "Only a dead row can be retried.");
        }
        return toOutboxJson(queries.getOutboxEntry(params.id) as OutboxEntry);
      },
      {
        params: parameters(OutboxParams),
        response: {
          200: t.Object(OutboxEntrySchema.properties, { description: "The row, now due." }),
          400: InvalidRequestBody,
          401: UnauthorizedBody,
          404: NotFoundBody("outbox row"),
          409: errorBody("The row is pending, being processed or done.", {
            error: "conflict",
            message: "Only a dead row can be retried.",
          }),
          503: UnavailableBody,
        },
        detail: apiDetail(
          TAG,
          "Retry an outbox row",
          "Makes a dead row due now, with a fresh attempt count.",
        ),
      },
    );
}

/** An outbox row as the API shows it. */
export function toOutboxJson(row: OutboxEntry) {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType,
    handler: row.handler,
    state: row.state,
    attempts: row.attempts,
    runAt: toIso(row.runAt),
    lastError: row.lastError,
    result: row.result,
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}
