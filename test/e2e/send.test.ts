import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, pollUntil, runProgram, startService, tempDir } from "../support/process.ts";

const HMAC_ENV = {
  WEBHOOK_VERIFIERS: "hmac",
  WEBHOOK_HMAC_SECRETS: `whsec_${Buffer.from("a 24-byte signing secret").toString("base64")}`,
};
const URL_SECRET_BASIC_ENV = {
  WEBHOOK_VERIFIERS: "url-secret,basic",
  WEBHOOK_URL_SECRETS: "send-test-path-secret-0123",
  WEBHOOK_BASIC_USER: "maildesk",
  WEBHOOK_BASIC_PASSWORD: "send test password",
};
const ADMIN_TOKEN = "send-test-admin-token-0123456789";

/** What GET /api/subscribers/{id} answers, as far as these tests look. */
interface SubscriberView {
  readonly confirmedAt: string;
  readonly unsubscribedAt: string;
  readonly history: readonly { readonly type: string; readonly outcome: string }[];
}

function send(url: string, env: Record<string, string>, ...args: string[]) {
  return runProgram(["send", "--url", url, ...args], env);
}

describe("maildesk-receiver send", () => {
  it("delivers the four sample events of one contact, which the mirror applies in order", async () => {
    const env = { ...HMAC_ENV, ADMIN_TOKEN, WORKER_POLL_MS: "100", LOG_LEVEL: "warn" };
    const service = await startService(env);
    try {
      const { exitCode, stdout } = await send(service.url, HMAC_ENV, "--contact", "c-send-1");

      expect(exitCode).toBe(0);
      expect(stdout).toContain("sending 4 event(s), signed for hmac");
      for (const type of ["created", "updated", "confirmed", "unsubscribed"]) {
        expect(stdout).toMatch(
          new RegExp(`subscriber\\.${type} [0-9A-Z]{26}: attempt 1 of 5: POST .*: HTTP 200 `),
        );
      }
      expect(stdout).toContain("4 of 4 event(s) accepted");
      expect(stdout).toContain("GET /api/subscribers/c-send-1");

      const subscriber = await pollUntil(async () => {
        const response = await fetch(`${service.url}/api/subscribers/c-send-1`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        const body = response.ok ? ((await response.json()) as SubscriberView) : null;
        return body?.history.length === 4 ? body : null;
      });
      expect(subscriber).toMatchObject({
        id: "c-send-1",
        email: "ada.lovelace+c-send-1@example.com",
        firstName: "Ada",
        // The update carried only the last name; the first name stayed.
        lastName: "King",
        status: "unsubscribed",
      });
      expect(subscriber.confirmedAt).toBeString();
      expect(subscriber.unsubscribedAt).toBeString();
      expect(Date.parse(subscriber.confirmedAt)).toBeLessThan(
        Date.parse(subscriber.unsubscribedAt),
      );
      // The history is in event order: confirmed, then unsubscribed.
      expect(subscriber.history.map((entry) => entry.type)).toEqual([
        "subscriber.created",
        "subscriber.updated",
        "subscriber.confirmed",
        "subscriber.unsubscribed",
      ]);
      expect(subscriber.history.every((entry) => entry.outcome === "applied")).toBe(true);
    } finally {
      await service.stop();
    }
  });

  it("signs for url-secret and basic, and never prints the path secret", async () => {
    const databasePath = join(tempDir(), "maildesk.db");
    const service = await startService({ ...URL_SECRET_BASIC_ENV, DATABASE_URL: databasePath });

    const { exitCode, stdout } = await send(service.url, URL_SECRET_BASIC_ENV);
    await service.stop();

    expect(exitCode).toBe(0);
    expect(stdout).toContain("/webhooks/maildesk/***");
    expect(stdout).not.toContain(URL_SECRET_BASIC_ENV.WEBHOOK_URL_SECRETS);
    const db = new Database(databasePath, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM events").get()).toEqual({ n: 4 });
    db.close();
  });

  it("sends unsigned when WEBHOOK_VERIFIERS is unset", async () => {
    const service = await startService({ WEBHOOK_VERIFIERS: "none" });

    const { exitCode, stdout } = await send(service.url, {});
    await service.stop();

    expect(stdout).toContain("sending 4 event(s), unsigned");
    expect(exitCode).toBe(0);
  });

  it("sends a file byte for byte, and gives up on an event the service refuses", async () => {
    const service = await startService(HMAC_ENV);
    const file = join(tempDir(), "event.json");
    writeFileSync(file, '{ "type": "subscriber.updated", "eventId": "from-file-1" }\n');

    const accepted = await send(service.url, HMAC_ENV, file);
    const refused = await send(
      service.url,
      {
        ...HMAC_ENV,
        WEBHOOK_HMAC_SECRETS: `whsec_${Buffer.from("not the service's secret").toString("base64")}`,
      },
      file,
      "--attempts",
      "2",
      "--retry-delay-ms",
      "10",
    );
    await service.stop();

    expect(accepted.exitCode).toBe(0);
    expect(accepted.stdout).toContain(
      "subscriber.updated from-file-1: attempt 1 of 5: POST http://127.0.0.1:",
    );
    expect(accepted.stdout).toContain('{"status":"accepted","eventId":"from-file-1"}');
    expect(refused.stdout).toContain("attempt 1 of 2: POST");
    expect(refused.stdout).toContain("HTTP 401");
    expect(refused.stdout).toContain("giving the event up");
    expect(refused.stdout).toContain("0 of 1 event(s) accepted");
    expect(refused.exitCode).toBe(1);
  });

  it("retries like Maildesk: a 503 twice, then accepted at the third attempt", async () => {
    let calls = 0;
    const ids: string[] = [];
    const receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        await request.text();
        ids.push(request.headers.get("webhook-id") ?? "");
        calls++;
        return calls <= 2
          ? Response.json({ error: "storage_unavailable" }, { status: 503 })
          : Response.json({ status: "accepted" });
      },
    });
    const port = receiver.port;
    const file = join(tempDir(), "event.json");
    writeFileSync(file, '{"type":"subscriber.created","eventId":"retry-1"}');

    const started = performance.now();
    const { exitCode, stdout } = await send(
      `http://127.0.0.1:${port}`,
      HMAC_ENV,
      file,
      "--retry-delay-ms",
      "100",
    );
    const elapsedMs = performance.now() - started;
    await receiver.stop(true);

    expect(exitCode).toBe(0);
    expect(calls).toBe(3);
    expect(stdout).toContain(
      "attempt 1 of 5: POST http://127.0.0.1:" +
        `${port}/webhooks/maildesk: HTTP 503 {"error":"storage_unavailable"}; ` +
        "next attempt in 100 ms",
    );
    expect(stdout).toContain("attempt 2 of 5: POST http://127.0.0.1:");
    expect(stdout).toContain('HTTP 503 {"error":"storage_unavailable"}; next attempt in 200 ms');
    expect(stdout).toContain("attempt 3 of 5: POST http://127.0.0.1:");
    expect(stdout).toContain('HTTP 200 {"status":"accepted"}');
    expect(stdout).toContain("1 of 1 event(s) accepted");
    // Growing delays: 100 ms, then 200 ms.
    expect(elapsedMs).toBeGreaterThan(300);
    // A retry is the same message, signed again.
    expect(new Set(ids).size).toBe(1);
  });

  it("retries a refused connection, then gives up with exit code 1", async () => {
    const port = await freePort();

    const { exitCode, stdout } = await send(
      `http://127.0.0.1:${port}`,
      {},
      "--attempts",
      "3",
      "--retry-delay-ms",
      "10",
      "--contact",
      "c-nobody",
    );

    expect(exitCode).toBe(1);
    expect(stdout).toMatch(/subscriber\.created \w+: attempt 1 of 3: POST .*: no answer \(/);
    expect(stdout).toMatch(/attempt 3 of 3: POST .*: no answer \(.*\); giving the event up/);
    expect(stdout).toContain("0 of 4 event(s) accepted");
  });

  it("retries an answer that does not come within --timeout-ms", async () => {
    const receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch() {
        await Bun.sleep(2000);
        return new Response("late");
      },
    });
    const file = join(tempDir(), "event.json");
    writeFileSync(file, '{"type":"subscriber.created","eventId":"slow-1"}');

    const { exitCode, stdout } = await send(
      `http://127.0.0.1:${receiver.port}`,
      {},
      file,
      "--attempts",
      "2",
      "--retry-delay-ms",
      "10",
      "--timeout-ms",
      "100",
    );
    await receiver.stop(true);

    expect(exitCode).toBe(1);
    expect(stdout).toContain("attempt 1 of 2: POST");
    expect(stdout).toContain("no answer (no answer within 100 ms); next attempt in 10 ms");
    expect(stdout).toContain("attempt 2 of 2");
  });

  it("makes one attempt with --no-retry", async () => {
    const port = await freePort();

    const { exitCode, stdout } = await send(`http://127.0.0.1:${port}`, {}, "--no-retry");

    expect(exitCode).toBe(1);
    expect(stdout).toContain("attempt 1 of 1");
    expect(stdout).not.toContain("attempt 2");
  });

  it("refuses a configuration the service would refuse, naming the variable", async () => {
    const { exitCode, stderr } = await send("http://127.0.0.1:9", { WEBHOOK_VERIFIERS: "hmac" });

    expect(exitCode).toBe(78);
    expect(stderr).toContain("WEBHOOK_HMAC_SECRETS");
  });

  it("refuses a malformed command line with exit code 64", async () => {
    for (const args of [
      ["--attempts", "none"],
      ["--attempts", "0"],
      ["--retries", "3"],
      ["--contact", "c-1", "event.json"],
    ]) {
      const { exitCode, stderr } = await send("http://127.0.0.1:9", {}, ...args);
      expect(exitCode).toBe(64);
      expect(stderr).toContain("Usage: maildesk-receiver send");
    }
  });
});

describe("the ip verifier on a real socket", () => {
  it("matches a dual-stack peer against an IPv4 allowlist", async () => {
    const env = { WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: "127.0.0.0/8" };
    const service = await startService({ ...env, HOST: "::" });

    const { stdout } = await send(service.url, env, "--no-retry");
    await service.stop();

    expect(stdout).toContain("HTTP 200");
    expect(stdout).toContain("4 of 4 event(s) accepted");
  });
});
