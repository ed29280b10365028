/**
 * Slow clients (slowloris): connections that send their headers a byte at a
 * time, or stop halfway through them, or send complete headers and then a
 * body that never ends. They must not exhaust the server: normal requests
 * keep being answered while 200 of them are open; and the server must cut
 * each off with a time-out rather than hold it forever.
 *
 * The service sets no time-out of its own and has no setting for one; what
 * cuts these connections off is Bun's default `idleTimeout` (10 s). Measured
 * here: connections still in their headers are closed after 10 to 12 s, even
 * when they trickle a byte a second; connections whose body stalls or
 * trickles are closed after about 30 s. The bounds below are generous
 * multiples of that, so that a regression (no time-out at all) fails and a
 * slow machine does not.
 */
import { Database } from "bun:sqlite";
import { expect, it } from "bun:test";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { startLoad } from "../support/load.ts";
import { startService, tempDir } from "../support/process.ts";
import { sampleEvent } from "../support/world.ts";

const PER_KIND = 50;
const HEADER_PHASE_BOUND_MS = 30_000;
const BODY_PHASE_BOUND_MS = 60_000;
const TRICKLE_INTERVAL_MS = 1000;

type Kind = "stalled headers" | "trickled headers" | "stalled body" | "trickled body";

interface SlowConnection {
  readonly kind: Kind;
  readonly socket: Socket;
  readonly openedAt: number;
  closedAt: number | null;
}

const HEADERS_START = "POST /webhooks/maildesk HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
const FULL_HEADERS =
  "POST /webhooks/maildesk HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  "Content-Length: 4096\r\n\r\n";

function openSlowConnection(port: number, kind: Kind): SlowConnection {
  const socket = connect(port, "127.0.0.1");
  const connection: SlowConnection = { kind, socket, openedAt: Date.now(), closedAt: null };
  let timer: ReturnType<typeof setInterval> | undefined;

  socket.on("connect", () => {
    const isBody = kind.endsWith("body");
    socket.write(isBody ? `${FULL_HEADERS}{"type":"subscriber.created",` : HEADERS_START);
    if (kind.startsWith("trickled")) {
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(isBody ? " " : "x");
      }, TRICKLE_INTERVAL_MS);
    }
  });
  socket.on("data", () => {
    // An answer (e.g. 408) before closing is fine too.
  });
  socket.on("error", () => {
    // a reset by the server also ends it
  });
  socket.on("close", () => {
    clearInterval(timer);
    connection.closedAt = Date.now();
  });
  return connection;
}

it(
  "keeps serving while 200 slow connections are open, and cuts each of them off",
  async () => {
    const service = await startService({ WEBHOOK_VERIFIERS: "none", LOG_LEVEL: "warn" });
    const port = Number(new URL(service.url).port);
    const kinds: Kind[] = ["stalled headers", "trickled headers", "stalled body", "trickled body"];
    const slow = kinds.flatMap((kind) =>
      Array.from({ length: PER_KIND }, () => openSlowConnection(port, kind)),
    );
    await Bun.sleep(500);

    try {
      // Normal requests, while all of them are open.
      expect(slow.filter((c) => c.closedAt === null)).toHaveLength(kinds.length * PER_KIND);
      const load = startLoad(service.url, {
        concurrency: 8,
        prefix: "normal",
        maxRequests: 300,
        requestTimeoutMs: 5000,
      });
      await load.finished();
      expect(load.failures).toEqual([]);
      expect(load.acknowledged).toHaveLength(300);

      const deadline = Date.now() + BODY_PHASE_BOUND_MS + 5000;
      while (slow.some((c) => c.closedAt === null) && Date.now() < deadline) await Bun.sleep(250);

      for (const kind of kinds) {
        const bound = kind.endsWith("body") ? BODY_PHASE_BOUND_MS : HEADER_PHASE_BOUND_MS;
        const ofKind = slow.filter((c) => c.kind === kind);
        const lasted = ofKind.map((c) => (c.closedAt ?? Number.POSITIVE_INFINITY) - c.openedAt);
        expect({ kind, overBound: lasted.filter((ms) => ms > bound).length }).toEqual({
          kind,
          overBound: 0,
        });
      }
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    } finally {
      for (const connection of slow) connection.socket.destroy();
      await service.stop("SIGKILL");
    }
  },
  BODY_PHASE_BOUND_MS + 30_000,
);

/**
 * A client that goes away in the middle of its body (or is cut off by the
 * idle time-out above) is the client's doing: the delivery log records a
 * 400 `incomplete_body`, and the error log stays for the server's failures.
 */
it("records a client that disconnects mid-body as a client error, not a 500", async () => {
  const databasePath = join(tempDir(), "maildesk.db");
  const service = await startService({
    WEBHOOK_VERIFIERS: "none",
    DATABASE_URL: databasePath,
    LOG_LEVEL: "warn",
  });
  const body = sampleEvent({ eventId: "gone-1" });

  const socket = connect(Number(new URL(service.url).port), "127.0.0.1");
  await new Promise<void>((resolve) => socket.on("connect", resolve));
  socket.write(
    "POST /webhooks/maildesk HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
      `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`,
  );
  await Bun.sleep(200);
  socket.destroy();
  await Bun.sleep(500);
  expect(await service.stop()).toBe(0);

  const db = new Database(databasePath, { readonly: true });
  const rows = db.query("SELECT status, reason FROM deliveries").all() as {
    status: number;
    reason: string;
  }[];
  db.close();
  const errorLines = service.lines.filter((line) => line.includes('"level":"error"'));

  expect(rows).toHaveLength(1);
  expect(rows[0]?.status).toBe(400);
  expect(rows[0]?.reason).toMatch(/^incomplete_body/);
  expect(errorLines).toEqual([]);
}, 20_000);
