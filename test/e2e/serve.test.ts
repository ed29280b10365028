import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, postEvent, runProgram, startService, tempDir } from "../support/process.ts";
import { sampleEvent } from "../support/world.ts";

describe("start-up", () => {
  it("refuses to start without WEBHOOK_VERIFIERS and says how to set it", async () => {
    const { exitCode, stderr } = await runProgram(["serve"], {});

    expect(exitCode).toBe(78);
    expect(stderr).toContain("WEBHOOK_VERIFIERS is not set");
    expect(stderr).toContain("WEBHOOK_VERIFIERS=none");
  });

  const malformed: [string, Record<string, string>][] = [
    ["PORT", { PORT: "eighty" }],
    ["PORT", { PORT: "70000" }],
    ["MAX_BODY_BYTES", { MAX_BODY_BYTES: "12" }],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
    ["LOG_FORMAT", { LOG_FORMAT: "xml" }],
    ["DATABASE_URL", { DATABASE_URL: "postgres://db.internal/maildesk" }],
    ["WEBHOOK_VERIFIERS", { WEBHOOK_VERIFIERS: "none,telepathy" }],
    ["WEBHOOK_VERIFIERS", { WEBHOOK_VERIFIERS: "none,basic" }],
    ["INGEST_MAX_PENDING", { INGEST_MAX_PENDING: "0" }],
  ];
  for (const [name, env] of malformed) {
    it(`refuses a malformed ${name} (${Object.values(env)[0]}) and names it`, async () => {
      const { exitCode, stderr } = await runProgram(["serve"], {
        WEBHOOK_VERIFIERS: "none",
        ...env,
      });

      expect(exitCode).toBe(78);
      expect(stderr).toContain(name);
    });
  }

  it("starts with WEBHOOK_VERIFIERS=none and warns loudly", async () => {
    const service = await startService({ WEBHOOK_VERIFIERS: "none" });
    await service.stop();

    const warning = service.lines.map((l) => JSON.parse(l)).find((l) => l.level === "warn");
    expect(warning?.msg).toContain("ANY caller can post events");
  });

  it("reads a .env file from its working directory", async () => {
    const cwd = tempDir();
    const port = await freePort();
    writeFileSync(
      join(cwd, ".env"),
      `WEBHOOK_VERIFIERS=none\nPORT=${port}\nDATABASE_URL=file:./db/events.db\n`,
    );

    const service = await startService({ PORT: String(port) }, cwd);
    expect((await postEvent(service.url, sampleEvent())).status).toBe(200);
    expect(await service.stop()).toBe(0);
    expect(existsSync(join(cwd, "db", "events.db"))).toBe(true);
  });

  it("refuses to share its port with a second instance", async () => {
    const first = await startService({ WEBHOOK_VERIFIERS: "none" });
    const port = new URL(first.url).port;

    const second = await runProgram(["serve"], {
      WEBHOOK_VERIFIERS: "none",
      PORT: port,
      HOST: "127.0.0.1",
    });

    expect(second.exitCode).not.toBe(0);
    expect(`${second.stdout}${second.stderr}`).toMatch(/EADDRINUSE|address already in use|in use/i);
    await first.stop();
  });
});

describe("durability", () => {
  it("keeps every accepted event across a SIGKILL under load and a restart", async () => {
    const dir = tempDir();
    const env = { WEBHOOK_VERIFIERS: "none", DATABASE_URL: join(dir, "maildesk.db") };
    const service = await startService(env);
    const accepted = new Set<string>();
    let stopSending = false;

    const senders = Array.from({ length: 16 }, async (_, sender) => {
      for (let i = 0; !stopSending; i++) {
        const eventId = `kill-${sender}-${i}`;
        const response = await postEvent(service.url, sampleEvent({ eventId })).catch(() => null);
        if (response?.status === 200) accepted.add(eventId);
      }
    });
    await Bun.sleep(400);
    await service.stop("SIGKILL");
    stopSending = true;
    await Promise.all(senders);

    const restarted = await startService(env);
    const db = new Database(env.DATABASE_URL, { readonly: true });
    const stored = new Set(
      (db.query("SELECT event_id FROM events").all() as { event_id: string }[]).map(
        (r) => r.event_id,
      ),
    );
    db.close();
    await restarted.stop();

    expect(accepted.size).toBeGreaterThan(50);
    const lost = [...accepted].filter((eventId) => !stored.has(eventId));
    expect(lost).toEqual([]);
  });

  it("on SIGTERM answers the request in flight, then closes the database cleanly", async () => {
    const dir = tempDir();
    const databasePath = join(dir, "maildesk.db");
    const service = await startService({ WEBHOOK_VERIFIERS: "none", DATABASE_URL: databasePath });
    const body = sampleEvent({ eventId: "in-flight-1" });
    const half = Math.floor(body.length / 2);

    const answer = new Promise<string>((resolve, reject) => {
      let received = "";
      void Bun.connect({
        hostname: "127.0.0.1",
        port: Number(new URL(service.url).port),
        socket: {
          open(socket) {
            socket.write(
              `POST /webhooks/maildesk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
                `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
            );
            setTimeout(() => {
              service.process.kill("SIGTERM");
              setTimeout(() => socket.write(body.slice(half)), 200);
            }, 100);
          },
          data(_socket, data) {
            received += data.toString();
          },
          close: () => resolve(received),
          error: (_socket, error) => reject(error),
        },
      });
    });

    expect(await answer).toContain('{"status":"accepted","eventId":"in-flight-1"}');
    expect(await service.process.exited).toBe(0);
    expect(service.lines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    // The last connection to close checkpoints the WAL into the database and removes it.
    expect(existsSync(`${databasePath}-wal`)).toBe(false);
    const db = new Database(databasePath, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM events").get()).toEqual({ n: 1 });
    db.close();
  });
});

describe("on a real socket", () => {
  it("answers an oversized body with the JSON 413, not the server's bare one", async () => {
    const service = await startService({ WEBHOOK_VERIFIERS: "none", MAX_BODY_BYTES: "2048" });

    const response = await postEvent(service.url, sampleEvent({ pad: "x".repeat(100_000) }));

    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: "payload_too_large" });
    await service.stop();
  });

  it("records the peer address normalised from the dual-stack socket", async () => {
    const dir = tempDir();
    const databasePath = join(dir, "maildesk.db");
    const service = await startService({
      WEBHOOK_VERIFIERS: "none",
      DATABASE_URL: databasePath,
      HOST: "::",
    });

    await postEvent(service.url, sampleEvent({ eventId: "peer-1" }));
    await service.stop();

    const db = new Database(databasePath, { readonly: true });
    expect(db.query("SELECT source_ip FROM events").get()).toEqual({ source_ip: "127.0.0.1" });
    db.close();
  });
});
