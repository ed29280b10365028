import { describe, expect, it } from "bun:test";
import { decodeTime } from "ulid";
import { retryDelayMs, sampleEvents } from "../../src/cli/send.ts";

describe("send's retry schedule", () => {
  it("doubles the delay after each failed attempt, up to a minute", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(1000, attempt))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
    expect(retryDelayMs(1000, 10)).toBe(60_000);
    expect(retryDelayMs(90_000, 3)).toBe(90_000);
  });
});

describe("send's sample events", () => {
  it("are the four event types of one contact, with eventIds in sending order", () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const events = sampleEvents("c-42", now).map((event) => JSON.parse(event.body as string));

    expect(events.map((event) => event.type)).toEqual([
      "subscriber.created",
      "subscriber.updated",
      "subscriber.confirmed",
      "subscriber.unsubscribed",
    ]);
    expect(new Set(events.map((event) => event.id))).toEqual(new Set(["c-42"]));
    expect(events.map((event) => decodeTime(event.eventId))).toEqual([
      now,
      now + 1,
      now + 2,
      now + 3,
    ]);
    expect(events[0]).toMatchObject({ firstName: "Ada", createdAt: new Date(now).toISOString() });
    expect(events[1]).not.toHaveProperty("firstName");
  });
});
