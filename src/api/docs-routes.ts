/**
 * `GET /docs` (Swagger UI) and `GET /docs/json` (the OpenAPI 3.1 document).
 *
 * The document is built by @elysiajs/openapi from the routes' own schemas,
 * plus the webhook's description (webhook-docs.ts) and the bearer scheme.
 * Its own page loads Swagger UI from a CDN, so it is turned off
 * (`provider: null`) and the page here serves the swagger-ui-dist files
 * itself: imported `with { type: "file" }`, they are embedded in a compiled
 * binary too, and the UI works with no internet. The spec URL is absolute, so
 * `/docs/` works as well as `/docs`; a Content-Security-Policy keeps the page
 * from reaching anywhere but this server.
 */
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import packageJson from "../../package.json" with { type: "json" };
import { WEBHOOK_DOCS } from "./webhook-docs.ts";

export const DOCS_PATH = "/docs";
export const SPEC_PATH = "/docs/json";
const ASSETS = "/docs/assets";

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>maildesk-receiver API</title>
  <link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png">
  <link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS}/init.js"></script>
</body>
</html>
`;

// validatorUrl: null, or Swagger UI asks a public validator about the document.
const UI_OPTIONS = {
  url: SPEC_PATH,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  displayRequestDuration: true,
};

const INIT_SCRIPT = `window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(UI_OPTIONS)}, {
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
}));
`;

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
    "connect-src 'self'; frame-ancestors 'none'",
};

const CACHE = { "cache-control": "public, max-age=86400" };

const hidden = { detail: { hide: true } };

function asset(path: string, contentType: string) {
  return () => new Response(Bun.file(path), { headers: { "content-type": contentType, ...CACHE } });
}

/** The OpenAPI document and Swagger UI; `metricsToken`: whether `/metrics` asks for one. */
export function createDocsRoutes({ metricsToken }: { readonly metricsToken: boolean }) {
  return new Elysia({ name: "docs" })
    .use(
      openapi({
        path: DOCS_PATH,
        specPath: SPEC_PATH,
        provider: null,
        documentation: {
          info: {
            title: "maildesk-receiver",
            version: packageJson.version,
            description:
              "Receives Maildesk webhooks, stores each event exactly once, and processes it " +
              "through an outbox. `/api` needs the admin bearer token (**Authorize** above); " +
              "`/webhooks` is verified as `WEBHOOK_VERIFIERS` says; health and metrics are open " +
              "(`/metrics` takes `METRICS_TOKEN` when it is set).",
            license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
          },
          servers: [{ url: "/", description: "This server." }],
          tags: [
            { name: "Events", description: "Stored events and replay." },
            { name: "Outbox", description: "Outbox rows and retries." },
            { name: "Deliveries", description: "The delivery log of the webhook endpoint." },
            { name: "Subscribers", description: "The subscriber mirror." },
            { name: "Stats", description: "Counts and status." },
            { name: "Webhook", description: "What Maildesk calls." },
            { name: "Operations", description: "Health, readiness and metrics." },
          ],
          components: {
            securitySchemes: {
              bearerAuth: {
                type: "http",
                scheme: "bearer",
                description:
                  "`ADMIN_TOKEN`, or the token generated at first start " +
                  "(`maildesk-receiver admin-token` prints it).",
              },
              ...(metricsToken
                ? {
                    metricsToken: {
                      type: "http" as const,
                      scheme: "bearer",
                      description: "`METRICS_TOKEN`.",
                    },
                  }
                : {}),
            },
          },
          // TypeBox schemas are JSON Schema, which OpenAPI 3.1 takes as is; the
          // plugin's types only know their own schema objects.
          paths: WEBHOOK_DOCS as unknown as Record<string, never>,
        },
      }),
    )
    .get(DOCS_PATH, () => new Response(PAGE, { headers: PAGE_HEADERS }), hidden)
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(swaggerBundle, "text/javascript"), hidden)
    .get(`${ASSETS}/swagger-ui.css`, asset(swaggerCss, "text/css"), hidden)
    .get(`${ASSETS}/favicon-32x32.png`, asset(favicon, "image/png"), hidden)
    .get(
      `${ASSETS}/init.js`,
      () => new Response(INIT_SCRIPT, { headers: { "content-type": "text/javascript" } }),
      hidden,
    );
}
