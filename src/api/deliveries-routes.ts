/** `/api/deliveries`: the delivery log, one row per request to the webhook endpoint. */
import { Elysia, t } from "elysia";
import { DELIVERY_OUTCOMES } from "../store/schema.ts";
import type { DeliveryEntry, StoreQueries } from "../store/types.ts";
import type { BearerAuth } from "./bearer-auth.ts";
import {
  apiDetail,
  InvalidRequestBody,
  NullableString,
  pageJson,
  pageOf,
  pageQuery,
  pageRequest,
  parameters,
  Timestamp,
  toIso,
  UnauthorizedBody,
} from "./schemas.ts";

const DeliverySchema = t.Object(
  {
    id: t.Number(),
    receivedAt: Timestamp("When the request arrived."),
    requestId: t.String(),
    sourceIp: NullableString("The client address."),
    method: t.String({ examples: ["POST"] }),
    path: t.String({ description: "The request path, any secret masked." }),
    status: t.Number({ description: "The HTTP status answered.", examples: [200] }),
    outcome: t.UnionEnum(DELIVERY_OUTCOMES, { default: undefined }),
    reason: NullableString("Why it was refused (error code and detail), or a note."),
    eventId: NullableString("The event's id, when the body got that far."),
    bodyBytes: t.Union([t.Number(), t.Null()], { description: "Size of the body read." }),
    latencyMs: t.Number({ description: "Time to answer, in milliseconds." }),
  },
  { additionalProperties: false },
);

export interface DeliveriesRouteDeps {
  readonly queries: StoreQueries;
  readonly auth: BearerAuth;
}

/** The delivery-log controller. */
export function createDeliveriesRoutes({ queries, auth }: DeliveriesRouteDeps) {
  return new Elysia({ prefix: "/deliveries" }).use(auth).get(
    "",
    ({ query }) => {
      const page = queries.listDeliveries(
        { status: query.status, outcome: query.outcome },
        pageRequest(query),
      );
      return pageJson(page, toDeliveryJson);
    },
    {
      query: parameters(
        t.Object({
          status: t.Optional(
            t.Number({
              minimum: 100,
              maximum: 599,
              multipleOf: 1,
              description: "Only requests answered with this HTTP status.",
              examples: [401],
              error: "status must be an HTTP status (100-599)",
            }),
          ),
          outcome: t.Optional(
            t.UnionEnum(DELIVERY_OUTCOMES, {
              default: undefined,
              description: "Only requests with this outcome.",
              error: `outcome must be one of ${DELIVERY_OUTCOMES.join(", ")}`,
            }),
          ),
          ...pageQuery,
        }),
      ),
      response: {
        200: pageOf(DeliverySchema, "A page of the delivery log, newest first."),
        400: InvalidRequestBody,
        401: UnauthorizedBody,
      },
      detail: apiDetail(
        "Deliveries",
        "List the delivery log",
        "Every request to the webhook endpoint, whatever its answer, newest first. Rows older " +
          "than `RETENTION_DELIVERIES_DAYS` are deleted.",
      ),
    },
  );
}

function toDeliveryJson(row: DeliveryEntry) {
  return { ...row, receivedAt: toIso(row.receivedAt) };
}
