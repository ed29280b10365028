import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { API_TEST_ENV, api } from "../support/api.ts";
import { createWorld, type World } from "../support/world.ts";

let world: World;

beforeAll(async () => {
  world = await createWorld(API_TEST_ENV);
});

afterAll(async () => {
  await world.close();
});

const REPO = join(import.meta.dir, "..", "..");

type Operation = {
  security?: unknown[];
  tags?: string[];
  summary?: string;
  responses?: Record<string, { content?: unknown }>;
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, unknown> };
};

async function document() {
  const response = await api(world, "/docs/json", { token: null });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    openapi: string;
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, unknown> };
  };
}

describe("the OpenAPI document", () => {
  it("passes redocly lint with no errors and no warnings", async () => {
    const path = join(world.dir, "openapi.json");
    writeFileSync(path, JSON.stringify(await document()));

    const lint = Bun.spawnSync(
      [
        join(REPO, "node_modules", ".bin", "redocly"),
        "lint",
        "--config",
        join(REPO, "redocly.yaml"),
        "--format",
        "stylish",
        path,
      ],
      { cwd: REPO, stdout: "pipe", stderr: "pipe" },
    );
    const output = `${lint.stdout.toString()}${lint.stderr.toString()}`;

    expect({ exitCode: lint.exitCode, output }).toEqual({
      exitCode: 0,
      output: expect.any(String),
    });
    expect(output).toContain("Your API description is valid");
    expect(output).not.toMatch(/You have \d+ warning/);
  }, 60_000);

  it("describes every route with a summary, a tag and its answers, and the bearer scheme", async () => {
    const doc = await document();

    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: "http", scheme: "bearer" }),
    );
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/api/deliveries",
        "/api/events",
        "/api/events/{eventId}",
        "/api/events/{eventId}/replay",
        "/api/outbox",
        "/api/outbox/retry-dead",
        "/api/outbox/{id}/retry",
        "/api/stats",
        "/api/subscribers",
        "/api/subscribers/{id}",
        "/healthz",
        "/metrics",
        "/readyz",
        "/webhooks/maildesk",
        "/webhooks/maildesk/{secret}",
      ].sort(),
    );
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const where = `${method} ${path}`;
        expect({ where, summary: typeof operation.summary }).toEqual({ where, summary: "string" });
        expect({ where, tags: operation.tags?.length }).toEqual({ where, tags: 1 });
        expect({
          where,
          has200: Object.keys(operation.responses ?? {}).some((s) => s.startsWith("2")),
        }).toEqual({ where, has200: true });
        if (path.startsWith("/api/")) expect(operation.responses?.["401"]).toBeDefined();
      }
    }
  });

  it("documents the webhook's body and every answer of the endpoint", async () => {
    const webhook = (await document()).paths["/webhooks/maildesk"]?.post;

    expect(Object.keys(webhook?.requestBody?.content ?? {})).toEqual(["application/json"]);
    expect(Object.keys(webhook?.responses ?? {}).sort()).toEqual([
      "200",
      "400",
      "401",
      "403",
      "404",
      "413",
      "415",
      "503",
    ]);
  });

  it("documents the list parameters: filters, limit with its bounds, cursor", async () => {
    const parameters = (await document()).paths["/api/events"]?.get?.parameters ?? [];

    expect(parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      "query:type",
      "query:email",
      "query:contactId",
      "query:since",
      "query:until",
      "query:limit",
      "query:cursor",
    ]);
    expect(parameters.find((p) => p.name === "limit")).toMatchObject({
      required: false,
      schema: { type: "number", minimum: 1, maximum: 500, default: 50 },
    });
  });
});

describe("GET /docs", () => {
  it("serves the Swagger UI page, which loads only files of this server", async () => {
    for (const path of ["/docs", "/docs/"]) {
      const response = await api(world, path, { token: null });
      const html = await response.text();

      expect(response.status).toBe(200);
      expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
      expect(urls.length).toBeGreaterThanOrEqual(3);
      expect(urls.every((url) => url?.startsWith("/docs/assets/"))).toBe(true);
    }
  });

  it("serves the swagger-ui-dist files and the start script with the absolute spec URL", async () => {
    const bundle = await api(world, "/docs/assets/swagger-ui-bundle.js", { token: null });
    const css = await api(world, "/docs/assets/swagger-ui.css", { token: null });
    const init = await (await api(world, "/docs/assets/init.js", { token: null })).text();

    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toContain("javascript");
    expect((await bundle.text()).length).toBeGreaterThan(1_000_000);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(init).toContain('"url":"/docs/json"');
    expect(init).toContain('"validatorUrl":null');
  });
});
