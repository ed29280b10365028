import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import type { Server } from "bun";
import { Webhook } from "standardwebhooks";
import { createForwardHandler } from "../../../src/worker/handlers/forward.ts";
import type { OutboxWorker } from "../../../src/worker/outbox-worker.ts";
import { freePort } from "../../support/process.ts";
import { createWorkerWorld, type WorkerWorld } from "../../support/worker-world.ts";

/** A request as the downstream received it. */
interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

let world: WorkerWorld;
let server: Server<undefined>;
let received: Received[];
/** The downstream's answers, one per request; the last one repeats. */
let answers: (() => Response | Promise<Response>)[];

const SECRET = `whsec_${Buffer.from("a forwarding key of 32 bytes!!!!").toString("base64")}`;
const ok = () => new Response("ok");

beforeEach(() => {
  world = createWorkerWorld();
  received = [];
  answers = [ok];
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      received.push({
        method: request.method,
        path: new URL(request.url).pathname,
        headers: Object.fromEntries(request.headers),
        body: new Uint8Array(await request.arrayBuffer()),
      });
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      return (answer as () => Response)();
    },
  });
});

afterEach(async () => {
  await server.stop(true);
  world.close();
});

function forwardingWorker(env: Record<string, string> = {}): OutboxWorker {
  const fullEnv = { FORWARD_URL: `http://127.0.0.1:${server.port}/hooks/maildesk`, ...env };
  const config = world.config(fullEnv);
  if (!config.forward) throw new Error("FORWARD_URL did not turn forwarding on");
  return world.worker({
    handlers: [createForwardHandler(config.forward, world.clock)],
    env: fullEnv,
    random: () => 0,
  });
}

const event = (eventId = "01JDQ7ZK8Y6V3N2M4P5R7S9T1W") =>
  `{ "type" : "subscriber.created",\n "eventId":"${eventId}", "firstName":"Zoë 🦄", "z":[1 , 2] }`;

describe("forwarding", () => {
  it("POSTs the raw body byte for byte, with its original content type", async () => {
    const body = event();
    world.store([body], ["forward"], "application/vnd.maildesk+json; charset=utf-8");

    await forwardingWorker().runOnce();

    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/hooks/maildesk");
    expect(request?.headers["content-type"]).toBe("application/vnd.maildesk+json; charset=utf-8");
    expect(Buffer.from(request?.body ?? []).equals(Buffer.from(body))).toBe(true);
    expect(world.outbox()[0]).toMatchObject({ state: "done", result: "forwarded: HTTP 200" });
  });

  it("signs with Standard Webhooks, verified by the official library", async () => {
    world.store([event()], ["forward"]);

    await forwardingWorker({ FORWARD_SECRET: SECRET }).runOnce();

    const [request] = received;
    if (!request) throw new Error("nothing was forwarded");
    expect(request.headers["webhook-id"]).toBe("01JDQ7ZK8Y6V3N2M4P5R7S9T1W");
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(SECRET).verify(request.body, request.headers);
    expect(verified).toMatchObject({ eventId: "01JDQ7ZK8Y6V3N2M4P5R7S9T1W" });
  });

  it("signs with a raw secret that the library verifies in its raw format", async () => {
    const raw = "a raw forwarding secret, not base64";
    world.store([event()], ["forward"]);

    await forwardingWorker({ FORWARD_SECRET: raw }).runOnce();

    const [request] = received;
    if (!request) throw new Error("nothing was forwarded");
    expect(() =>
      new Webhook(raw, { format: "raw" }).verify(request.body, request.headers),
    ).not.toThrow();
    expect(() => new Webhook(SECRET).verify(request.body, request.headers)).toThrow();
  });

  it("is refused by the library when the body was changed on the way", async () => {
    world.store([event()], ["forward"]);

    await forwardingWorker({ FORWARD_SECRET: SECRET }).runOnce();

    const [request] = received;
    if (!request) throw new Error("nothing was forwarded");
    const tampered = Buffer.from(request.body).toString().replace("Zoë", "Zoe");
    expect(() => new Webhook(SECRET).verify(tampered, request.headers)).toThrow();
  });

  it("sends the eventId and a timestamp but no signature without FORWARD_SECRET", async () => {
    world.store([event("evt-plain")], ["forward"]);

    await forwardingWorker().runOnce();

    expect(received[0]?.headers).toMatchObject({
      "webhook-id": "evt-plain",
      "webhook-timestamp": String(Math.floor(world.clock.now() / 1000)),
    });
    expect(received[0]?.headers["webhook-signature"]).toBeUndefined();
  });

  it("percent-encodes an eventId a header cannot carry, and signs what it sent", async () => {
    world.store([event("évènement 1")], ["forward"]);

    await forwardingWorker({ FORWARD_SECRET: SECRET }).runOnce();

    const [request] = received;
    if (!request) throw new Error("nothing was forwarded");
    expect(request.headers["webhook-id"]).toBe(encodeURIComponent("évènement 1"));
    expect(() => new Webhook(SECRET).verify(request.body, request.headers)).not.toThrow();
  });
});

describe("failed forwards", () => {
  it("retries after a 500 and is done after the 200 that follows", async () => {
    answers = [() => new Response("boom", { status: 500 }), ok];
    world.store([event()], ["forward"]);
    const worker = forwardingWorker();

    await worker.runOnce();
    expect(world.outbox()[0]).toMatchObject({
      state: "pending",
      attempts: 1,
      last_error: "downstream answered HTTP 500",
    });

    await worker.runOnce();
    expect(world.outbox()[0]).toMatchObject({
      state: "done",
      attempts: 2,
      result: "forwarded: HTTP 200",
    });
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([
      "01JDQ7ZK8Y6V3N2M4P5R7S9T1W",
      "01JDQ7ZK8Y6V3N2M4P5R7S9T1W",
    ]);
  });

  it("waits at least the Retry-After of a 429 before the next attempt", async () => {
    answers = [
      () => new Response("slow down", { status: 429, headers: { "retry-after": "120" } }),
      ok,
    ];
    world.store([event()], ["forward"]);
    const worker = forwardingWorker();

    await worker.runOnce();
    expect(world.outbox()[0]).toMatchObject({
      state: "pending",
      run_at: world.clock.now() + 120_000,
    });

    world.clock.advance(119_999);
    expect(await worker.runOnce()).toBe(0);
    world.clock.advance(1);
    await worker.runOnce();
    expect(world.outbox()[0]?.state).toBe("done");
  });

  it("reads a Retry-After date on a 503, capped by WORKER_BACKOFF_MAX_MS", async () => {
    const inAnHour = new Date(world.clock.now() + 3_600_000).toUTCString();
    answers = [() => new Response("", { status: 503, headers: { "retry-after": inAnHour } })];
    world.store([event()], ["forward"]);

    await forwardingWorker({ WORKER_BACKOFF_MAX_MS: "600000" }).runOnce();

    expect(world.outbox()[0]?.run_at).toBe(world.clock.now() + 600_000);
  });

  it("sends a 422 to the dead letter at once: the downstream refuses the request itself", async () => {
    answers = [() => new Response("bad", { status: 422 })];
    world.store([event()], ["forward"]);

    await forwardingWorker().runOnce();

    expect(world.outbox()[0]).toMatchObject({
      state: "dead",
      attempts: 1,
      last_error: "downstream answered HTTP 422",
      result: "dead: permanent failure",
    });
  });

  it("retries a 404, which usually means a deployment being fixed", async () => {
    answers = [() => new Response("", { status: 404 })];
    world.store([event()], ["forward"]);

    await forwardingWorker().runOnce();

    expect(world.outbox()[0]).toMatchObject({ state: "pending", attempts: 1 });
  });

  it("does not follow a redirect, and retries it", async () => {
    answers = [() => new Response("", { status: 302, headers: { location: "/elsewhere" } })];
    world.store([event()], ["forward"]);

    await forwardingWorker().runOnce();

    expect(received.map((r) => r.path)).toEqual(["/hooks/maildesk"]);
    expect(world.outbox()[0]).toMatchObject({
      state: "pending",
      last_error: "downstream answered HTTP 302",
    });
  });

  it("retries an unreachable downstream, then gives it up to the dead letter", async () => {
    const config = world.config({
      FORWARD_URL: `http://127.0.0.1:${await freePort()}/`,
      WORKER_MAX_ATTEMPTS: "2",
    });
    world.store([event()], ["forward"]);
    const worker = world.worker({
      handlers: [
        createForwardHandler(config.forward as NonNullable<typeof config.forward>, world.clock),
      ],
      env: { WORKER_MAX_ATTEMPTS: "2" },
      random: () => 0,
    });

    await worker.runOnce();
    expect(world.outbox()[0]).toMatchObject({ state: "pending", attempts: 1 });
    expect(world.outbox()[0]?.last_error).toStartWith("request failed:");

    await worker.runOnce();
    expect(world.outbox()[0]).toMatchObject({
      state: "dead",
      attempts: 2,
      result: "dead: 2 attempts failed",
    });
  });

  it("gives up on a downstream that does not answer within FORWARD_TIMEOUT_MS", async () => {
    answers = [() => new Promise<Response>(() => {})];
    world.store([event()], ["forward"]);

    await forwardingWorker({ FORWARD_TIMEOUT_MS: "200" }).runOnce();

    expect(world.outbox()[0]).toMatchObject({ state: "pending", attempts: 1 });
    expect(world.outbox()[0]?.last_error).toContain("request failed: TimeoutError");
  });
});
