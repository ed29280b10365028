import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { permanent } from "../../src/worker/handler.ts";
import { createSubscribersHandler } from "../../src/worker/handlers/subscribers.ts";
import { createOutboxCommands, type OutboxCommands } from "../../src/worker/outbox-commands.ts";
import { prepareOutboxStatements } from "../../src/worker/outbox-statements.ts";
import { createWorkerWorld, type WorkerWorld } from "../support/worker-world.ts";
import { createWorld, eventually, sampleEvent, type World } from "../support/world.ts";

let world: WorkerWorld;
let commands: OutboxCommands;

beforeEach(() => {
  world = createWorkerWorld();
  commands = createOutboxCommands(world.sqlite, ["subscribers", "forward"], world.clock);
});

afterEach(() => {
  world.close();
});

const created = (eventId: string) => ({
  type: "subscriber.created",
  eventId,
  id: `c-${eventId}`,
  email: `${eventId}@example.com`,
});

/** A worker whose subscribers handler sends the named events to the dead letter. */
function deadLettering(eventIds: readonly string[]) {
  const real = createSubscribersHandler(world.sqlite);
  return world.worker({
    handlers: [
      {
        ...real,
        apply: (event, at) =>
          eventIds.includes(event.eventId) ? permanent("refused") : real.apply(event, at),
      },
    ],
  });
}

describe("replay", () => {
  it("resets the event's rows to pending, due now, with no attempts", async () => {
    world.store([created("e1")], ["subscribers", "forward"]);
    world.sqlite.run(
      "UPDATE outbox SET state = 'done', attempts = 3, last_error = 'old', result = 'applied'",
    );
    world.clock.advance(1000);

    expect(commands.replayEvent("e1")).toEqual({ found: true, reset: 2, added: 0, processing: 0 });

    expect(
      world.outbox().map((r) => [r.state, r.attempts, r.run_at, r.result, r.last_error]),
    ).toEqual([
      ["pending", 0, world.clock.now(), null, "old"],
      ["pending", 0, world.clock.now(), null, "old"],
    ]);
  });

  it("adds a row for a handler that is on but had none for the event", () => {
    world.store([created("e1")], ["subscribers"]);

    expect(commands.replayEvent("e1")).toEqual({ found: true, reset: 1, added: 1, processing: 0 });
    expect(world.outbox().map((r) => [r.handler, r.state])).toEqual([
      ["subscribers", "pending"],
      ["forward", "pending"],
    ]);
  });

  it("leaves a row an attempt holds right now", () => {
    world.store([created("e1")], ["subscribers", "forward"]);
    const now = world.clock.now();
    prepareOutboxStatements(world.sqlite).claim("forward", now, now + 30_000, 10);

    expect(commands.replayEvent("e1")).toEqual({ found: true, reset: 1, added: 0, processing: 1 });
    expect(world.outbox("forward")[0]).toMatchObject({ state: "processing", attempts: 1 });
  });

  it("says so when the event is not known", () => {
    expect(commands.replayEvent("nope")).toEqual({ found: false });
  });

  it("runs the subscribers handler again, which finds the event already applied", async () => {
    world.store([created("e1")]);
    const worker = world.worker();
    await worker.runOnce();
    const mirror = world.rows("SELECT * FROM subscribers");

    commands.replayEvent("e1");
    await worker.runOnce();

    expect(world.outbox("subscribers")[0]).toMatchObject({
      state: "done",
      attempts: 1,
      result: "already applied",
    });
    expect(world.rows("SELECT * FROM subscribers")).toEqual(mirror);
  });
});

describe("retries of dead rows", () => {
  it("retries one dead row with the full schedule again", async () => {
    world.store([created("e1"), created("e2")]);
    await deadLettering(["e1", "e2"]).runOnce();
    const [first] = world.outbox();

    expect(commands.retryRow(first?.id as number)).toEqual({
      found: true,
      retried: true,
      state: "pending",
    });
    expect(world.outbox().map((r) => [r.state, r.attempts])).toEqual([
      ["pending", 0],
      ["dead", 1],
    ]);

    await world.worker().runOnce();
    expect(world.outbox().map((r) => r.state)).toEqual(["done", "dead"]);
  });

  it("leaves a row that is not dead, and says what it is", async () => {
    world.store([created("e1")]);
    const [row] = world.outbox();

    expect(commands.retryRow(row?.id as number)).toEqual({
      found: true,
      retried: false,
      state: "pending",
    });
    expect(commands.retryRow(9999)).toEqual({ found: false });
  });

  it("retries every dead row, or those of one handler", async () => {
    world.store([created("e1"), created("e2"), created("e3")], ["subscribers", "forward"]);
    await deadLettering(["e1", "e2"]).runOnce();
    world.sqlite.run("UPDATE outbox SET state = 'dead' WHERE handler = 'forward'");

    expect(commands.retryDead("forward")).toEqual({ retried: 3 });
    expect(world.outbox("forward").every((r) => r.state === "pending")).toBe(true);
    expect(commands.retryDead()).toEqual({ retried: 2 });
    expect(commands.retryDead()).toEqual({ retried: 0 });
  });
});

describe("through the store, with the worker in the writer thread", () => {
  let service: World;

  beforeEach(async () => {
    service = await createWorld({}, { worker: true });
  });

  afterEach(async () => {
    await service.close();
  });

  const outboxState = () =>
    service.rows<{ state: string; attempts: number; result: string }>(
      "SELECT state, attempts, result FROM outbox",
    );

  it("processes a new event within milliseconds, then replays it on request", async () => {
    const started = performance.now();
    expect((await service.post(sampleEvent({ eventId: "evt-1" }))).status).toBe(200);
    await eventually(() => outboxState()[0]?.state === "done");
    expect(performance.now() - started).toBeLessThan(500);

    expect(await service.store.outbox.replayEvent("evt-1")).toEqual({
      found: true,
      reset: 1,
      added: 0,
      processing: 0,
    });
    await eventually(() => outboxState()[0]?.result === "already applied");
    expect(await service.store.outbox.replayEvent("evt-unknown")).toEqual({ found: false });
  });

  it("answers retry and retry-dead", async () => {
    expect(await service.store.outbox.retryRow(12345)).toEqual({ found: false });
    expect(await service.store.outbox.retryDead({ handler: "subscribers" })).toEqual({
      retried: 0,
    });
  });

  it("reports the worker's status with the writer's heartbeat", async () => {
    await eventually(() => service.store.workerStatus()?.running === true);

    expect((await service.post(sampleEvent())).status).toBe(200);
    await eventually(() => service.store.workerStatus()?.done === 1, 3000);
    expect(service.store.workerStatus()).toMatchObject({ attempts: 1, failures: 0, inFlight: 0 });
  });
});
