import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

let world: World;

beforeEach(async () => {
  world = await createWorld();
});

afterEach(async () => {
  await world.close();
});

interface EventRow {
  seq: number;
  event_id: string;
  type: string;
  contact_id: string | null;
  email: string | null;
  status: string | null;
  created_at_raw: string | null;
  created_at: number | null;
  received_at: number;
  source_ip: string | null;
  request_id: string;
  raw_body: Uint8Array;
}

interface DeliveryRow {
  status: number;
  outcome: string;
  reason: string | null;
  event_id: string | null;
  path: string;
  source_ip: string | null;
  body_bytes: number | null;
  latency_ms: number;
  request_id: string;
}

const events = () => world.rows<EventRow>("SELECT * FROM events ORDER BY seq");
const outboxRows = () =>
  world.rows<{ event_seq: number; handler: string; state: string }>("SELECT * FROM outbox");

async function deliveries(): Promise<DeliveryRow[]> {
  await world.flush();
  return world.rows<DeliveryRow>("SELECT * FROM deliveries ORDER BY id");
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(0);
  return body;
}

describe("a new event", () => {
  it("is stored with its extracted columns and one outbox row, then answered accepted", async () => {
    const body = sampleEvent({ eventId: "01JDQ7ZK8Y6V3N2M4P5R7S9T1W", status: "confirmed" });
    const response = await world.post(body);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "accepted",
      eventId: "01JDQ7ZK8Y6V3N2M4P5R7S9T1W",
    });
    const [row] = events();
    expect(row).toMatchObject({
      event_id: "01JDQ7ZK8Y6V3N2M4P5R7S9T1W",
      type: "subscriber.created",
      contact_id: "contact-1",
      email: "ada@example.com",
      status: "confirmed",
      created_at_raw: "2026-12-01T10:00:00Z",
      created_at: Date.parse("2026-12-01T10:00:00Z"),
      source_ip: "127.0.0.1",
      content_type: "application/json",
    });
    expect(row?.request_id).toBe(response.headers.get("x-request-id") as string);
    expect(outboxRows()).toEqual([
      expect.objectContaining({ event_seq: row?.seq, handler: "subscribers", state: "pending" }),
    ]);
  });

  it("keeps the raw body byte for byte: unicode, escapes, key order and whitespace", async () => {
    const body =
      '{ "eventId" : "raw-1",\n\t"type":"subscriber.updated", "firstName": "Zoë \\u0000 🦄",' +
      ' "z": 1, "a": [ 1 , 2 ], "note": "\\ud83d\\ude00 \u00e9\u4e2d" }  ';
    const bytes = new TextEncoder().encode(body);

    expect((await world.post(bytes)).status).toBe(200);
    expect(Buffer.from(events()[0]?.raw_body as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
  });

  it("accepts a body with a byte-order mark and keeps the mark", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(sampleEvent())]);

    expect((await world.post(bytes)).status).toBe(200);
    expect(Buffer.from(events()[0]?.raw_body as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
  });

  it("accepts an unknown type and keeps unknown fields", async () => {
    const body = sampleEvent({ type: "subscriber.merged", tags: ["vip"], nested: { deep: true } });

    const response = await world.post(body);

    expect(response.status).toBe(200);
    expect(events()[0]?.type).toBe("subscriber.merged");
    expect(new TextDecoder().decode(events()[0]?.raw_body)).toBe(body);
  });

  it("accepts the +json media types and a UTF-8 charset", async () => {
    for (const contentType of [
      "application/vnd.maildesk+json",
      "application/json; charset=utf-8",
      'Application/JSON;charset="UTF-8"',
    ]) {
      const response = await world.post(sampleEvent(), {
        headers: { "content-type": contentType },
      });
      expect(response.status).toBe(200);
    }
    expect(events()).toHaveLength(3);
  });

  it("stores a numeric contact id as text and leaves an unparseable date unparsed", async () => {
    await world.post(sampleEvent({ id: 42, createdAt: "sometime last week", email: ["x"] }));

    expect(events()[0]).toMatchObject({
      contact_id: "42",
      created_at_raw: "sometime last week",
      created_at: null,
      email: null,
    });
  });

  it("accepts a body of exactly MAX_BODY_BYTES", async () => {
    const small = await createWorld({ MAX_BODY_BYTES: "1024" });
    const filler = "x".repeat(1024 - sampleEvent({ eventId: "e-max", pad: "" }).length);
    const body = sampleEvent({ eventId: "e-max", pad: filler });
    expect(body.length).toBe(1024);

    expect((await small.post(body)).status).toBe(200);
    await small.close();
  });
});

describe("odd but valid JSON", () => {
  it("stores deeply nested JSON without a 5xx", async () => {
    const depth = 50_000;
    const body = `{"type":"subscriber.updated","eventId":"deep-1","x":${"[".repeat(depth)}${"]".repeat(depth)}}`;

    const response = await world.post(body);

    expect(response.status).toBe(200);
    expect(events()[0]?.raw_body.byteLength).toBe(body.length);
  });

  it("keeps __proto__ keys as data and does not read required fields through them", async () => {
    const polluted = '{"type":"subscriber.created","eventId":"proto-1","__proto__":{"admin":true}}';
    const inherited = '{"__proto__":{"type":"subscriber.created","eventId":"proto-2"}}';

    expect((await world.post(polluted)).status).toBe(200);
    await expectError(await world.post(inherited), 400, "invalid_payload");
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(new TextDecoder().decode(events()[0]?.raw_body)).toBe(polluted);
    expect(events()).toHaveLength(1);
  });
});

describe("a known eventId", () => {
  it("is answered duplicate and enqueues nothing again", async () => {
    const body = sampleEvent({ eventId: "dup-1" });
    await world.post(body);

    const response = await world.post(body);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "duplicate", eventId: "dup-1" });
    expect(events()).toHaveLength(1);
    expect(outboxRows()).toHaveLength(1);
    expect((await deliveries()).map((d) => d.outcome)).toEqual(["accepted", "duplicate"]);
  });

  it("with a different body keeps the first, warns and counts it", async () => {
    const first = sampleEvent({ eventId: "dup-2", firstName: "Ada" });
    await world.post(first);

    const response = await world.post(sampleEvent({ eventId: "dup-2", firstName: "Grace" }));

    expect(await response.json()).toEqual({ status: "duplicate", eventId: "dup-2" });
    expect(new TextDecoder().decode(events()[0]?.raw_body)).toBe(first);
    expect(world.store.ingest.stats.duplicateBodyMismatches).toBe(1);
    expect(world.logs.some((line) => line.level === "warn" && line.eventId === "dup-2")).toBe(true);
    expect((await deliveries())[1]?.reason).toBe("duplicate_body_differs");
  });

  it("arriving 50 times at once is accepted exactly once", async () => {
    const body = sampleEvent({ eventId: "race-1" });

    const responses = await Promise.all(Array.from({ length: 50 }, () => world.post(body)));
    const statuses = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { status: string }).status),
    );

    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(statuses.filter((s) => s === "accepted")).toHaveLength(1);
    expect(statuses.filter((s) => s === "duplicate")).toHaveLength(49);
    expect(events()).toHaveLength(1);
    expect(outboxRows()).toHaveLength(1);
  });
});

describe("a malformed request", () => {
  const invalid: [string, string, string][] = [
    ["malformed JSON", '{"type": "subscriber.created", "eventId": ', "invalid_json"],
    ["an empty body", "", "invalid_json"],
    ["an array", "[1, 2]", "invalid_payload"],
    ["a string", '"hello"', "invalid_payload"],
    ["null", "null", "invalid_payload"],
    ["a missing type", '{"eventId":"x-1"}', "invalid_payload"],
    ["an empty type", '{"type":"","eventId":"x-1"}', "invalid_payload"],
    ["a numeric type", '{"type":7,"eventId":"x-1"}', "invalid_payload"],
    ["a missing eventId", '{"type":"subscriber.created"}', "invalid_payload"],
    ["an empty eventId", '{"type":"subscriber.created","eventId":""}', "invalid_payload"],
    ["a numeric eventId", '{"type":"subscriber.created","eventId":12}', "invalid_payload"],
    [
      "an eventId over 200 characters",
      sampleEvent({ eventId: "e".repeat(201) }),
      "invalid_payload",
    ],
  ];

  for (const [what, body, code] of invalid) {
    it(`with ${what} is refused with 400 ${code} and nothing stored`, async () => {
      await expectError(await world.post(body), 400, code);
      expect(events()).toHaveLength(0);
    });
  }

  it("accepts an eventId of exactly 200 characters", async () => {
    expect((await world.post(sampleEvent({ eventId: "e".repeat(200) }))).status).toBe(200);
  });

  it("refuses a body that is not UTF-8 with 400", async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"type":"a","eventId":"'),
      0xff,
      0xfe,
      0x22,
      0x7d,
    ]);
    await expectError(await world.post(bytes), 400, "invalid_json");
  });

  it("refuses a content type that is not JSON with 415", async () => {
    for (const contentType of [
      "text/plain",
      "application/xml",
      "application/json; charset=iso-8859-1",
      "application/jsonx",
    ]) {
      await expectError(
        await world.post(sampleEvent(), { headers: { "content-type": contentType } }),
        415,
        "unsupported_media_type",
      );
    }
    const noType = await world.app.handle(
      new Request("http://localhost/webhooks/maildesk", {
        method: "POST",
        body: new Blob([sampleEvent()]),
      }),
    );
    await expectError(noType, 415, "unsupported_media_type");
    expect(events()).toHaveLength(0);
  });

  it("refuses a body over MAX_BODY_BYTES with 413, declared or chunked", async () => {
    const small = await createWorld({ MAX_BODY_BYTES: "1024" });
    const body = sampleEvent({ pad: "x".repeat(2000) });

    await expectError(await small.post(body), 413, "payload_too_large");
    await expectError(await small.post(body, { chunked: true }), 413, "payload_too_large");
    expect(small.rows("SELECT * FROM events")).toHaveLength(0);
    await small.flush();
    expect(
      small.rows<{ status: number }>("SELECT status FROM deliveries").map((r) => r.status),
    ).toEqual([413, 413]);
    await small.close();
  });

  it("with a secret path segment is 404 while the URL-secret verifier is off", async () => {
    await expectError(
      await world.post(sampleEvent(), { path: "/webhooks/maildesk/some-secret-value" }),
      404,
      "not_found",
    );
    expect((await deliveries())[0]?.path).toBe("/webhooks/maildesk/***");
  });
});

describe("the delivery log", () => {
  it("records every request with its outcome, masked path, address and latency", async () => {
    world.peer = "::ffff:203.0.113.9";
    await world.post(sampleEvent({ eventId: "log-1" }));
    await world.post("{", { headers: { "x-request-id": "req-abc" } });

    const [accepted, rejected] = await deliveries();

    expect(accepted).toMatchObject({
      status: 200,
      outcome: "accepted",
      event_id: "log-1",
      path: "/webhooks/maildesk",
      source_ip: "203.0.113.9",
      reason: null,
    });
    expect(accepted?.latency_ms).toBeGreaterThan(0);
    expect(rejected).toMatchObject({
      status: 400,
      outcome: "rejected",
      event_id: null,
      request_id: "req-abc",
    });
    expect(rejected?.reason).toStartWith("invalid_json");
    expect(rejected?.body_bytes).toBe(1);
  });

  it("never puts a body in the logs", async () => {
    const marker = "do-not-log-this-body-8c1f";
    await world.post(sampleEvent({ eventId: "quiet-1", firstName: marker }));
    await world.post(`{"eventId": "${marker}"`);
    await world.flush();

    expect(JSON.stringify(world.logs)).not.toContain(marker);
  });
});

describe("the answer", () => {
  it("carries a request id, the caller's when it is well-formed", async () => {
    const given = await world.post(sampleEvent(), { headers: { "x-request-id": "abc-123" } });
    const generated = await world.post(sampleEvent(), {
      headers: { "x-request-id": "bad id with spaces" },
    });

    expect(given.headers.get("x-request-id")).toBe("abc-123");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is JSON 404 for an unknown route and a wrong method", async () => {
    await expectError(
      await world.app.handle(new Request("http://localhost/nope")),
      404,
      "not_found",
    );
    await expectError(
      await world.app.handle(new Request("http://localhost/webhooks/maildesk")),
      404,
      "not_found",
    );
  });
});
