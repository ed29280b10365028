/**
 * Hostile input, as a property: whatever arrives (odd but valid events,
 * broken JSON, random bytes, non-objects, wrong content types, bodies over
 * MAX_BODY_BYTES, chunked or not, odd headers and paths), the endpoint
 * answers exactly what the README's table says, never a 5xx other than 503,
 * stores an event only for a 2xx and then byte for byte, and writes one
 * delivery-log row per request. First through the in-process app, where
 * fast-check can shrink a failure to its smallest case; then a smaller
 * number over a real socket to a real process, which must stay up.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import fc from "fast-check";
import { expectedAnswer } from "../support/expected-answer.ts";
import {
  type HostileRequest,
  hostileRequest,
  renderBody,
  TEST_MAX_BODY_BYTES,
} from "../support/hostile-input.ts";
import { type ServiceProcess, startService, tempDir } from "../support/process.ts";
import { createWorld, type World } from "../support/world.ts";

/** Runs per property; fast-check prints the seed of a failure to replay it. */
const IN_PROCESS_RUNS = 1000;
const REAL_PROCESS_RUNS = 200;

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

interface Answer {
  readonly status: number;
  readonly requestId: string | null;
  readonly body: { status?: string; eventId?: string; error?: string; message?: string } | null;
}

/**
 * The request's headers: the extras first, so that the content type wins.
 * A generated `x-request-id` is kept unless `ownRequestId`, which gives each
 * request a unique id to find its delivery-log row by.
 */
function headersOf(request: HostileRequest, requestId: string, ownRequestId = false): Headers {
  const headers = new Headers();
  for (const [name, value] of request.headers) headers.set(name, value);
  if (request.contentType !== null) headers.set("content-type", request.contentType);
  if (ownRequestId || !headers.has("x-request-id")) headers.set("x-request-id", requestId);
  return headers;
}

function bodyOf(bytes: Uint8Array, chunked: boolean): Uint8Array | ReadableStream<Uint8Array> {
  if (!chunked) return bytes;
  return new ReadableStream({
    start(controller) {
      // Two chunks when there is something to split, to exercise counting.
      const half = Math.floor(bytes.byteLength / 2);
      if (half > 0) controller.enqueue(bytes.subarray(0, half));
      if (bytes.byteLength > half) controller.enqueue(bytes.subarray(half));
      controller.close();
    },
  });
}

async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: Answer["body"] = null;
  try {
    body = JSON.parse(text);
  } catch {
    // checked below: every answer of this route is JSON
  }
  return { status: response.status, requestId: response.headers.get("x-request-id"), body };
}

/** What the answer alone must satisfy. */
function expectAnswerMatches(answer: Answer, expected: ReturnType<typeof expectedAnswer>) {
  expect(answer.status < 500 || answer.status === 503).toBe(true);
  expect(answer.status).toBe(expected.status);
  expect(answer.body).not.toBeNull();
  if (expected.status === 200) {
    expect(answer.body).toEqual({ status: "accepted", eventId: expected.eventId });
  } else {
    expect(answer.body?.error).toBe(expected.error);
    expect(typeof answer.body?.message).toBe("string");
  }
}

describe("hostile input through the in-process app", () => {
  let world: World;
  let sequence = 0;

  beforeAll(async () => {
    world = await createWorld({ MAX_BODY_BYTES: String(TEST_MAX_BODY_BYTES), LOG_LEVEL: "warn" });
  });

  afterAll(async () => {
    await world.close();
  });

  const totals = () =>
    world.rows<{ events: number; deliveries: number; outbox: number }>(
      "SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM deliveries) AS deliveries, " +
        "(SELECT count(*) FROM outbox) AS outbox",
    )[0] as { events: number; deliveries: number; outbox: number };

  it("answers as documented, stores only accepted events byte for byte, logs every request", async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (request) => {
        sequence++;
        const bytes = renderBody(request.body, `h${sequence}-`);
        const expected = expectedAnswer(
          bytes,
          request.contentType,
          request.path,
          TEST_MAX_BODY_BYTES,
        );
        const headers = headersOf(request, `prop-${sequence}`);
        const before = totals();

        const response = await world.app.handle(
          new Request(`http://localhost${request.path}`, {
            method: "POST",
            headers,
            body: bodyOf(bytes, request.chunked),
          }),
        );
        const answer = await readAnswer(response);
        await world.flush();
        const after = totals();

        expectAnswerMatches(answer, expected);
        const accepted = answer.status === 200;
        expect(after.events - before.events).toBe(accepted ? 1 : 0);
        expect(after.outbox - before.outbox).toBe(accepted ? 1 : 0);
        if (accepted) {
          const [stored] = world.rows<{ raw_body: Uint8Array }>(
            "SELECT raw_body FROM events ORDER BY seq DESC LIMIT 1",
          );
          expect(Buffer.from(stored?.raw_body ?? []).equals(bytes)).toBe(true);
        }

        expect(after.deliveries - before.deliveries).toBe(1);
        const [delivery] = world.rows<{ status: number; request_id: string }>(
          "SELECT status, request_id FROM deliveries ORDER BY id DESC LIMIT 1",
        );
        expect(delivery?.status).toBe(answer.status);
        expect(delivery?.request_id).toBe(answer.requestId as string);
        const sentId = headers.get("x-request-id") ?? "";
        if (REQUEST_ID_PATTERN.test(sentId)) expect(answer.requestId).toBe(sentId);
      }),
      { numRuns: IN_PROCESS_RUNS },
    );
  }, 30_000);
});

describe("hostile input over a real socket", () => {
  let service: ServiceProcess;
  let databasePath: string;

  beforeAll(async () => {
    databasePath = join(tempDir(), "maildesk.db");
    service = await startService({
      WEBHOOK_VERIFIERS: "none",
      MAX_BODY_BYTES: String(TEST_MAX_BODY_BYTES),
      DATABASE_URL: databasePath,
      LOG_LEVEL: "warn",
    });
  });

  afterAll(async () => {
    if (service.process.exitCode === null) await service.stop("SIGKILL");
  });

  it("answers as documented, stays up, and stores and logs each request", async () => {
    const sent: { answer: Answer; bytes: Uint8Array; eventId: string | null }[] = [];
    let sequence = 0;

    await fc.assert(
      fc.asyncProperty(hostileRequest, async (request) => {
        sequence++;
        const bytes = renderBody(request.body, `r${sequence}-`);
        const expected = expectedAnswer(
          bytes,
          request.contentType,
          request.path,
          TEST_MAX_BODY_BYTES,
        );

        const response = await fetch(`${service.url}${request.path}`, {
          method: "POST",
          headers: headersOf(request, `real-${sequence}-${crypto.randomUUID()}`, true),
          body: bodyOf(bytes, request.chunked),
        });
        const answer = await readAnswer(response);

        expectAnswerMatches(answer, expected);
        sent.push({ answer, bytes, eventId: expected.status === 200 ? expected.eventId : null });
        if (sequence % 10 === 0) expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      }),
      { numRuns: REAL_PROCESS_RUNS },
    );

    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(await service.stop("SIGTERM")).toBe(0);

    const db = new Database(databasePath, { readonly: true });
    const deliveryStatus = db.query<{ status: number }, [string]>(
      "SELECT status FROM deliveries WHERE request_id = ?",
    );
    const storedBody = db.query<{ raw_body: Uint8Array }, [string]>(
      "SELECT raw_body FROM events WHERE event_id = ?",
    );
    const eventCount = (db.query("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    const deliveryCount = (db.query("SELECT count(*) AS n FROM deliveries").get() as { n: number })
      .n;
    for (const { answer, bytes, eventId } of sent) {
      expect(deliveryStatus.all(answer.requestId as string)).toEqual([{ status: answer.status }]);
      if (eventId !== null) {
        const [row] = storedBody.all(eventId);
        expect(Buffer.from(row?.raw_body ?? []).equals(bytes)).toBe(true);
      }
    }
    expect(eventCount).toBe(sent.filter((s) => s.answer.status === 200).length);
    expect(deliveryCount).toBe(sent.length);
    db.close();
  }, 30_000);
});

/**
 * JSON may carry a lone surrogate as an escape (`"\ud800"`); JSON.parse
 * turns it into a JavaScript string that has no UTF-8 form, and SQLite
 * stores text as UTF-8 (U+FFFD instead). Two eventIds that differ only in
 * lone surrogates would be one row: the second would get a 2xx and not be
 * stored. Such eventIds are refused with 400.
 */
describe("eventIds with lone surrogates", () => {
  it("refuses them with 400, so that two of them never become one stored event", async () => {
    const world = await createWorld();
    try {
      const answers = [];
      for (const escaped of ["\\ud800", "\\udbff"]) {
        const response = await world.post(
          `{"type":"subscriber.created","eventId":"evt-${escaped}"}`,
        );
        answers.push({
          status: response.status,
          body: (await response.json()) as { status?: string; error?: string },
        });
      }

      for (const { status, body } of answers) {
        expect(status).toBe(400);
        expect(body.error).toBe("invalid_payload");
      }
      expect(world.rows("SELECT event_id FROM events")).toHaveLength(0);
    } finally {
      await world.close();
    }
  });
});
