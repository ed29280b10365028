/**
 * Swagger UI in a real headless Chromium against the real program on a real
 * port, with every request to anywhere else refused (and recorded): the docs
 * must work with no internet. Authorises with the admin token through the
 * Authorize dialog and runs "Try it out" on GET /api/events.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { TEST_ADMIN_TOKEN } from "../support/api.ts";
import { postEvent, type ServiceProcess, startService, tempDir } from "../support/process.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let service: ServiceProcess;
let context: BrowserContext;
let profile: string;
const external: string[] = [];

beforeAll(async () => {
  const dir = tempDir();
  service = await startService(
    { WEBHOOK_VERIFIERS: "none", ADMIN_TOKEN: TEST_ADMIN_TOKEN, DATABASE_URL: join(dir, "m.db") },
    dir,
  );
  for (const eventId of ["evt-browser-1", "evt-browser-2"]) {
    const answer = await postEvent(
      service.url,
      JSON.stringify({ type: "subscriber.created", eventId, email: "ada@example.com" }),
    );
    expect(answer.status).toBe(200);
  }

  profile = mkdtempSync(join(tmpdir(), "maildesk-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${service.url}/`)) return route.continue();
    external.push(url);
    return route.abort("blockedbyclient");
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await service?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("Swagger UI at /docs", () => {
  it("authorises with the token and runs GET /api/events, offline", async () => {
    const page = await context.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));

    await page.goto(`${service.url}/docs`);
    await page.getByRole("heading", { name: /maildesk-receiver/ }).waitFor({ timeout: 15_000 });

    await page.locator("button.authorize").first().click();
    const dialog = page.locator(".dialog-ux");
    await dialog.locator("input[type=text], input[type=password]").first().fill(TEST_ADMIN_TOKEN);
    await dialog.locator("button.authorize").click();
    await dialog.locator("button.btn-done").click();

    const operation = page.locator("#operations-Events-getApiEvents");
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator("button.execute").click();

    const liveResponse = operation.locator(".live-responses-table");
    await liveResponse.waitFor({ timeout: 15_000 });
    await expect(
      liveResponse.locator("tr.response td.response-col_status").first().textContent(),
    ).resolves.toBe("200");
    const body = await liveResponse.locator(".response-col_description pre").first().textContent();
    expect(body).toContain("evt-browser-1");
    expect(body).toContain("evt-browser-2");

    await liveResponse.scrollIntoViewIfNeeded();
    const screenshot = join(mkdtempSync(join(tmpdir(), "maildesk-docs-")), "docs.png");
    await page.screenshot({ path: screenshot, fullPage: false });
    console.log(`screenshot: ${screenshot}`);

    expect(external).toEqual([]);
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.every((url) => url.startsWith(`${service.url}/`))).toBe(true);
  }, 60_000);
});
