/**
 * The HTTP application: the routes of each feature, composed, with one error
 * mapping for everything that is not answered by a route itself.
 */
import { Elysia } from "elysia";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/types.ts";
import type { VerifierChain } from "../verify/chain.ts";
import type { ClientAddressResolver } from "./client-address.ts";
import { jsonResponse } from "./errors.ts";
import { createHealthRoutes, type ReadinessCheck } from "./health-routes.ts";
import { createIngestRoutes } from "./ingest-route.ts";

export interface AppDeps {
  readonly config: Pick<Config, "maxBodyBytes">;
  readonly store: Store;
  readonly chain: VerifierChain;
  /** How the client address is found (`createClientAddressResolver` over `TRUSTED_PROXIES`). */
  readonly clientAddress: ClientAddressResolver;
  readonly log: Logger;
  readonly readinessChecks?: Readonly<Record<string, ReadinessCheck>>;
  /** Overrides how the peer address is found; `app.handle` in tests has no socket. */
  readonly peerAddress?: (request: Request) => string | null;
}

/** Builds the application; `listen` is the caller's business. */
export function createApp(deps: AppDeps) {
  const log = deps.log.child({ component: "http" });
  const app = new Elysia();
  const peerAddress =
    deps.peerAddress ?? ((request: Request) => app.server?.requestIP(request)?.address ?? null);

  return app
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") {
        const { pathname } = new URL(request.url);
        return jsonResponse(404, {
          error: "not_found",
          message: `No route for ${request.method} ${pathname}.`,
        });
      }
      if (code === "PARSE" || code === "VALIDATION") {
        return jsonResponse(400, { error: "invalid_request", message: String(error.message) });
      }
      log.error({ err: error, code }, "unhandled error");
      return jsonResponse(500, { error: "internal_error", message: "Internal error." });
    })
    .use(createHealthRoutes(deps.store, deps.readinessChecks))
    .use(
      createIngestRoutes({
        maxBodyBytes: deps.config.maxBodyBytes,
        chain: deps.chain,
        ingest: deps.store.ingest,
        log: deps.log,
        peerAddress,
        clientAddress: deps.clientAddress,
      }),
    );
}

/** The application type, for tests and composition. */
export type App = ReturnType<typeof createApp>;
