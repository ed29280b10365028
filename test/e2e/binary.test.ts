/**
 * The compiled binary on its own: built with `bun run build`'s flags,
 * copied alone into an empty folder (no node_modules, no drizzle/, no
 * swagger-ui-dist beside it), started there on a new database. It must
 * apply its embedded migrations, accept a signed event, process it, serve
 * the docs from its embedded files, run its other commands, and stop
 * cleanly on SIGTERM.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { buildTestBinary, removeTestBinary } from "../support/binary.ts";
import {
  pollUntil,
  runProgram,
  type ServiceProcess,
  startService,
  tempDir,
} from "../support/process.ts";

const SECRET = `whsec_${Buffer.from("the binary test's signing key").toString("base64")}`;
const ENV = { WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: SECRET, WORKER_POLL_MS: "200" };

interface EventPage {
  readonly items: readonly { readonly eventId: string; readonly type: string }[];
  readonly nextCursor: string | null;
}

interface ReadinessView {
  readonly store: { readonly migrations: { readonly applied: number; readonly expected: number } };
}

/** What GET /api/subscribers/{id} answers, as far as these tests look. */
interface SubscriberView {
  readonly status: string;
  readonly history: readonly unknown[];
}

/** POSTs `body` signed by the official Standard Webhooks library. */
function postSigned(url: string, body: string, contentType: string) {
  const messageId = `msg_${crypto.randomUUID()}`;
  const timestamp = new Date();
  return fetch(`${url}/webhooks/maildesk`, {
    method: "POST",
    headers: {
      "content-type": contentType,
      "webhook-id": messageId,
      "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
      "webhook-signature": new Webhook(SECRET).sign(messageId, timestamp, body),
    },
    body,
  });
}

const binary = await buildTestBinary();
if (!binary.ok) console.warn(`skipping the compiled binary's tests: ${binary.reason}`);

describe.skipIf(!binary.ok)("the compiled binary, alone in an empty folder", () => {
  const folder = tempDir();
  const program = [join(folder, "maildesk-receiver")];
  const databasePath = join(tempDir(), "maildesk.db");
  const env = { ...ENV, DATABASE_URL: databasePath };
  let service: ServiceProcess;
  let token: string;

  beforeAll(async () => {
    if (!binary.ok) return;
    copyFileSync(binary.path, join(folder, "maildesk-receiver"));
    Bun.spawnSync(["chmod", "755", join(folder, "maildesk-receiver")]);
    service = await startService(env, folder, program);
    // Beside the running server, on the same file: the token made at its first start.
    const shown = await runProgram(["admin-token"], env, folder, program);
    expect(shown.exitCode).toBe(0);
    token = shown.stdout.trim();
  });

  afterAll(async () => {
    if (service?.process.exitCode === null) await service.stop("SIGKILL");
    // Each is the size of the runtime (~110 MB): not left in /tmp.
    rmSync(folder, { recursive: true, force: true });
    await removeTestBinary();
  });

  it("is alone in its folder", () => {
    expect(readdirSync(folder)).toEqual(["maildesk-receiver"]);
  });

  it("is alive and ready, with its embedded migrations applied", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await pollUntil(async () => {
      const response = await fetch(`${service.url}/readyz`);
      return response.status === 200 ? ((await response.json()) as ReadinessView) : null;
    });
    expect(ready.store.migrations.applied).toBeGreaterThan(0);
    expect(ready.store.migrations.applied).toBe(ready.store.migrations.expected);
  });

  it("accepts an event signed by the standardwebhooks library, and processes it", async () => {
    const body = JSON.stringify({
      type: "subscriber.created",
      eventId: "binary-event-1",
      id: "c-binary-1",
      email: "grace@example.com",
      firstName: "Grace",
    });

    const response = await postSigned(service.url, body, "application/json");

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "accepted", eventId: "binary-event-1" });
    const subscriber = await pollUntil(async () => {
      const answer = await fetch(`${service.url}/api/subscribers/c-binary-1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return answer.status === 200 ? await answer.json() : null;
    });
    expect(subscriber).toMatchObject({
      id: "c-binary-1",
      email: "grace@example.com",
      firstName: "Grace",
      history: [{ eventId: "binary-event-1", type: "subscriber.created", outcome: "applied" }],
    });
  });

  it("serves Swagger UI and its assets from inside the binary", async () => {
    const expected: [string, string, number][] = [
      ["/docs", "text/html", 300],
      ["/docs/assets/swagger-ui-bundle.js", "text/javascript", 1_000_000],
      ["/docs/assets/swagger-ui.css", "text/css", 100_000],
      ["/docs/assets/favicon-32x32.png", "image/png", 500],
      ["/docs/assets/init.js", "text/javascript", 100],
      ["/docs/json", "application/json", 10_000],
    ];
    for (const [path, contentType, minimumBytes] of expected) {
      const response = await fetch(`${service.url}${path}`);
      const bytes = (await response.arrayBuffer()).byteLength;
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.headers.get("content-type")).toStartWith(contentType);
      expect(bytes).toBeGreaterThan(minimumBytes);
    }
  });

  it("runs send, whose four sample events reach the subscriber mirror", async () => {
    const sent = await runProgram(
      ["send", "--url", service.url, "--contact", "c-binary-send"],
      ENV,
      folder,
      program,
    );

    expect(sent.stdout).toContain("4 of 4 event(s) accepted");
    expect(sent.exitCode).toBe(0);
    const subscriber = await pollUntil(async () => {
      const answer = await fetch(`${service.url}/api/subscribers/c-binary-send`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = answer.status === 200 ? ((await answer.json()) as SubscriberView) : null;
      return body?.history.length === 4 ? body : null;
    });
    expect(subscriber.status).toBe("unsubscribed");
  });

  it("parses queries, validates and maps errors as from source (Elysia compiled in bytecode)", async () => {
    const get = (path: string) =>
      fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

    const firstPage = (await (await get("/api/events?limit=2")).json()) as EventPage;
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.nextCursor).toBeString();
    const secondPage = (await (
      await get(`/api/events?limit=2&cursor=${encodeURIComponent(firstPage.nextCursor as string)}`)
    ).json()) as EventPage;
    expect(secondPage.items.length).toBeGreaterThan(0);
    expect(secondPage.items[0]?.eventId).not.toBe(firstPage.items[0]?.eventId);
    const byType = (await (await get("/api/events?type=subscriber.confirmed")).json()) as EventPage;
    expect(byType.items.map((event) => event.type)).toEqual(["subscriber.confirmed"]);

    expect((await get("/api/events?limit=0")).status).toBe(400);
    expect((await fetch(`${service.url}/api/events`)).status).toBe(401);
    const unsigned = await fetch(`${service.url}/webhooks/maildesk`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"type":"subscriber.created","eventId":"unsigned-1"}',
    });
    expect(unsigned.status).toBe(401);
    const wrongType = await postSigned(service.url, '{"type":"x","eventId":"y"}', "text/plain");
    expect(wrongType.status).toBe(415);
    const malformed = await postSigned(
      service.url,
      '{"type": "x", "eventId": ',
      "application/json",
    );
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: expect.any(String) });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain("# TYPE");
  });

  it("runs its other commands without node_modules", async () => {
    const version = await runProgram(["version"], {}, folder, program);
    expect(version.stdout).toMatch(/^maildesk-receiver \d+\.\d+\.\d+ \(commit \w+/);

    const help = await runProgram(["backup", "--help"], {}, folder, program);
    expect(help.stdout).toStartWith("Usage: maildesk-receiver backup");

    const backupPath = join(tempDir(), "backup.db");
    const backup = await runProgram(["backup", backupPath], env, folder, program);
    expect(backup.exitCode).toBe(0);
    const copy = new Database(backupPath, { readonly: true });
    expect(copy.query("SELECT count(*) AS n FROM events").get()).toEqual({ n: 5 });
    copy.close();
  });

  it("stops on SIGTERM with exit code 0, the WAL checkpointed and removed", async () => {
    expect(existsSync(`${databasePath}-wal`)).toBe(true);

    expect(await service.stop("SIGTERM")).toBe(0);

    expect(service.lines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    expect(existsSync(`${databasePath}-wal`)).toBe(false);
    const db = new Database(databasePath, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM events").get()).toEqual({ n: 5 });
    db.close();
  });
});
