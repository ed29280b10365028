import { afterEach, describe, expect, it } from "bun:test";
import { API_TEST_ENV, api } from "../support/api.ts";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

let world: World;

afterEach(async () => {
  await world.close();
});

/** The value of a sample line, e.g. `name{a="b"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("GET /metrics", () => {
  it("is open by default and counts webhook requests, latency, outbox depth and the writer", async () => {
    world = await createWorld(API_TEST_ENV);
    for (let i = 0; i < 3; i++) await world.post(sampleEvent({ eventId: `evt-${i}` }));
    await world.post(sampleEvent({ eventId: "evt-0" }));
    await world.post("not json");

    const response = await api(world, "/metrics", { token: null });
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(sample(text, 'maildesk_webhook_requests_total{outcome="accepted",status="200"}')).toBe(
      3,
    );
    expect(sample(text, 'maildesk_webhook_requests_total{outcome="duplicate",status="200"}')).toBe(
      1,
    );
    expect(sample(text, 'maildesk_webhook_requests_total{outcome="rejected",status="400"}')).toBe(
      1,
    );
    expect(
      sample(text, 'maildesk_webhook_request_duration_seconds_count{outcome="accepted"}'),
    ).toBe(3);
    expect(
      sample(
        text,
        'maildesk_webhook_request_duration_seconds_bucket{outcome="accepted",le="+Inf"}',
      ),
    ).toBe(3);
    expect(sample(text, 'maildesk_outbox_rows{state="pending"}')).toBe(3);
    expect(sample(text, 'maildesk_outbox_rows{state="dead"}')).toBe(0);
    expect(sample(text, "maildesk_writer_up")).toBe(1);
    expect(text).toContain("# TYPE maildesk_webhook_request_duration_seconds histogram");
    // No worker reports yet: its series are left out rather than shown as zero.
    expect(text).not.toContain("maildesk_worker_attempts_total");
  });

  it("asks for METRICS_TOKEN when it is set, and refuses the admin token there", async () => {
    const metricsToken = "metrics-token-0123456789";
    world = await createWorld({ ...API_TEST_ENV, METRICS_TOKEN: metricsToken });

    expect((await api(world, "/metrics", { token: null })).status).toBe(401);
    expect((await api(world, "/metrics")).status).toBe(401);
    expect((await api(world, "/metrics", { token: metricsToken })).status).toBe(200);
    expect((await api(world, "/api/events", { token: metricsToken })).status).toBe(401);
  });
});
