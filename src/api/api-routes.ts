/**
 * `/api`: the authenticated query API, one controller per resource. Every
 * controller uses the bearer check itself, so a route cannot be added
 * without it by accident (a test walks the document to make sure).
 */
import { Elysia } from "elysia";
import type { Logger } from "../log.ts";
import type { Store } from "../store/types.ts";
import { createBearerAuth, type TokenSource } from "./bearer-auth.ts";
import { createDeliveriesRoutes } from "./deliveries-routes.ts";
import { createEventsRoutes } from "./events-routes.ts";
import { createOutboxRoutes } from "./outbox-routes.ts";
import { createStatsRoutes } from "./stats-routes.ts";
import { createSubscribersRoutes } from "./subscribers-routes.ts";

export interface ApiDeps {
  readonly store: Store;
  /** The admin token at each request: `ADMIN_TOKEN`, or the stored one. */
  readonly adminToken: TokenSource;
  readonly log: Logger;
}

/** The query API under `/api`. */
export function createApiRoutes({ store, adminToken, log }: ApiDeps) {
  const auth = createBearerAuth(adminToken, log);
  const { queries, outbox } = store;

  return new Elysia({ prefix: "/api" })
    .use(createEventsRoutes({ queries, outbox, auth }))
    .use(createOutboxRoutes({ queries, outbox, auth }))
    .use(createDeliveriesRoutes({ queries, auth }))
    .use(createSubscribersRoutes({ subscribers: store.subscribers, auth }))
    .use(createStatsRoutes({ store, auth }));
}
