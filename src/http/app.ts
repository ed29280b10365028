/**
 * The HTTP application: the routes of each feature, composed, with one error
 * mapping for everything that is not answered by a route itself.
 */
import { Elysia } from "elysia";
import { createApiRoutes } from "../api/api-routes.ts";
import type { TokenSource } from "../api/bearer-auth.ts";
import { createDocsRoutes } from "../api/docs-routes.ts";
import { createIngestMetrics, observeIngest } from "../api/ingest-metrics.ts";
import { createMetricsRoutes } from "../api/metrics-routes.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/types.ts";
import type { VerifierChain } from "../verify/chain.ts";
import { createBackgroundChecks } from "./background-checks.ts";
import type { ClientAddressResolver } from "./client-address.ts";
import {
  errorResponse,
  jsonResponse,
  RequestError,
  toRequestError,
  validationMessage,
} from "./errors.ts";
import { createHealthRoutes, type ReadinessCheck } from "./health-routes.ts";
import { createIngestRoutes } from "./ingest-route.ts";

export interface AppDeps {
  readonly config: Pick<Config, "maxBodyBytes" | "adminToken" | "metricsToken" | "worker">;
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
  const ingestMetrics = createIngestMetrics();
  const configuredToken = deps.config.adminToken;
  // Read at every request, so that a rotation from the CLI takes effect at once.
  const adminToken: TokenSource = () => configuredToken ?? deps.store.adminToken.read();

  return app
    .error({ RequestError })
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") {
        const { pathname } = new URL(request.url);
        return jsonResponse(404, {
          error: "not_found",
          message: `No route for ${request.method} ${pathname}.`,
        });
      }
      if ((code === "PARSE" || code === "VALIDATION") && !isResponseValidation(error)) {
        const message = code === "VALIDATION" ? validationMessage(error) : String(error.message);
        return jsonResponse(400, { error: "invalid_request", message });
      }
      const requestError = toRequestError(error);
      if (requestError.status === 500) log.error({ err: error, code }, "unhandled error");
      return errorResponse(requestError);
    })
    .use(
      createHealthRoutes(deps.store, {
        ...createBackgroundChecks(deps.store, deps.config.worker.pollMs),
        ...deps.readinessChecks,
      }),
    )
    .use(
      createMetricsRoutes({
        store: deps.store,
        ingest: ingestMetrics,
        token: deps.config.metricsToken,
        log,
      }),
    )
    .use(createDocsRoutes({ metricsToken: deps.config.metricsToken !== null }))
    .use(createApiRoutes({ store: deps.store, adminToken, log }))
    .use(
      createIngestRoutes({
        maxBodyBytes: deps.config.maxBodyBytes,
        chain: deps.chain,
        ingest: observeIngest(deps.store.ingest, ingestMetrics),
        log: deps.log,
        peerAddress,
        clientAddress: deps.clientAddress,
      }),
    );
}

/** A response that did not match its own schema is our bug, not the caller's. */
function isResponseValidation(error: unknown): boolean {
  return (error as { type?: unknown }).type === "response";
}

/** The application type, for tests and composition. */
export type App = ReturnType<typeof createApp>;
