import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import {
  BUSY_TRANSACTION_BUDGET_MS,
  INGEST_ACTIVE_WINDOW_MS,
} from "../../src/worker/batch-size.ts";
import {
  type DatabaseHandler,
  type HandlerOutcome,
  type IoHandler,
  permanent,
  retryable,
  type StoredEvent,
  success,
} from "../../src/worker/handler.ts";
import { createSubscribersHandler } from "../../src/worker/handlers/subscribers.ts";
import { prepareOutboxStatements } from "../../src/worker/outbox-statements.ts";
import { createWorkerWorld, turns, until, type WorkerWorld } from "../support/worker-world.ts";

let world: WorkerWorld;

beforeEach(() => {
  world = createWorkerWorld();
});

afterEach(() => {
  world.close();
});

function created(eventId: string, id = `c-${eventId}`) {
  return { type: "subscriber.created", eventId, id, email: `${id}@example.com`, status: "active" };
}

/** A database handler that fails on the events named, and applies the rest for real. */
function failingOn(eventIds: readonly string[], outcome?: HandlerOutcome): DatabaseHandler {
  const real = createSubscribersHandler(world.sqlite);
  return {
    kind: "database",
    name: "subscribers",
    apply(event, at) {
      const result = real.apply(event, at);
      if (!eventIds.includes(event.eventId)) return result;
      if (outcome) return outcome;
      throw new Error(`cannot apply ${event.eventId}`);
    },
  };
}

/** An I/O handler whose attempts wait until the test settles them. */
function heldIoHandler(maxInFlight = 16) {
  const attempts: { event: StoredEvent; signal: AbortSignal; settle(o: HandlerOutcome): void }[] =
    [];
  const handler: IoHandler = {
    kind: "io",
    name: "forward",
    maxInFlight,
    run: (event, signal) =>
      new Promise((resolve) => attempts.push({ event, signal, settle: resolve })),
  };
  return { handler, attempts };
}

/** An I/O handler that answers every attempt at once with `outcome`. */
function answeringIoHandler(outcome: HandlerOutcome): IoHandler {
  return { kind: "io", name: "forward", maxInFlight: 16, run: async () => outcome };
}

/** The real subscribers handler, taking `msPerRow` of the manual clock for each row. */
function slowSubscribers(msPerRow: number): DatabaseHandler {
  const real = createSubscribersHandler(world.sqlite);
  return {
    ...real,
    apply(event, at) {
      world.clock.advance(msPerRow);
      return real.apply(event, at);
    },
  };
}

describe("one iteration", () => {
  it("claims the due rows, applies them and marks them done", async () => {
    world.store([created("e1"), created("e2"), created("e3")]);
    const worker = world.worker();

    expect(await worker.runOnce()).toBe(3);

    expect(world.outbox().map((r) => [r.state, r.attempts, r.result])).toEqual([
      ["done", 1, "applied"],
      ["done", 1, "applied"],
      ["done", 1, "applied"],
    ]);
    expect(world.rows("SELECT key FROM subscribers ORDER BY key")).toHaveLength(3);
    expect(worker.status()).toMatchObject({ attempts: 3, done: 3, failures: 0 });
  });

  it("claims at most WORKER_BATCH_SIZE rows per handler", async () => {
    world.store(["a", "b", "c", "d", "e"].map((id) => created(id)));
    const worker = world.worker({ env: { WORKER_BATCH_SIZE: "2" } });

    await worker.runOnce();

    expect(world.outbox().map((r) => r.state)).toEqual([
      "done",
      "done",
      "pending",
      "pending",
      "pending",
    ]);
  });

  it("leaves rows that are not due yet", async () => {
    world.store([created("e1")]);
    world.sqlite.run("UPDATE outbox SET run_at = ?", [world.clock.now() + 1]);
    const worker = world.worker();

    expect(await worker.runOnce()).toBe(0);
    world.clock.advance(1);
    expect(await worker.runOnce()).toBe(1);
  });

  it("never claims the rows of a handler that is off", async () => {
    world.store([created("e1")], ["subscribers", "forward"]);

    await world.worker().runOnce();

    expect(world.outbox().map((r) => [r.handler, r.state])).toEqual([
      ["subscribers", "done"],
      ["forward", "pending"],
    ]);
  });
});

describe("retries", () => {
  it("schedules a retry after a failure, at the back-off with its jitter", async () => {
    world.store([created("e1")]);
    const start = world.clock.now();
    const worker = world.worker({ handlers: [failingOn(["e1"])], random: () => 0.5 });

    await worker.runOnce();

    const [row] = world.outbox();
    expect(row).toMatchObject({
      state: "pending",
      attempts: 1,
      run_at: start + 500,
      last_error: "Error: cannot apply e1",
      result: "retry scheduled",
    });
    expect(world.logs.find((l) => l.msg === "attempt failed; retry scheduled")).toMatchObject({
      level: "warn",
      attempt: 1,
      retryInMs: 500,
    });
  });

  it("does not try again before the back-off has passed, and does after", async () => {
    world.store([created("e1")]);
    const worker = world.worker({ handlers: [failingOn(["e1"])], random: () => 0.5 });
    await worker.runOnce();

    world.clock.advance(499);
    expect(await worker.runOnce()).toBe(0);
    world.clock.advance(1);
    expect(await worker.runOnce()).toBe(1);
    expect(world.outbox()[0]).toMatchObject({ attempts: 2, run_at: world.clock.now() + 1000 });
  });

  it("moves a row to the dead letter after WORKER_MAX_ATTEMPTS attempts", async () => {
    world.store([created("e1")]);
    const worker = world.worker({
      handlers: [failingOn(["e1"])],
      env: { WORKER_MAX_ATTEMPTS: "3" },
      random: () => 0.999,
    });

    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await worker.runOnce()).toBe(1);
      world.clock.advance(60_000);
    }
    expect(await worker.runOnce()).toBe(0);

    expect(world.outbox()[0]).toMatchObject({
      state: "dead",
      attempts: 3,
      last_error: "Error: cannot apply e1",
      result: "dead: 3 attempts failed",
    });
    expect(worker.status()).toMatchObject({ attempts: 3, failures: 3, deadLetters: 1 });
    expect(world.logs.find((l) => l.msg === "row moved to the dead letter")?.level).toBe("error");
  });

  it("sends a permanent failure to the dead letter at once", async () => {
    world.store([created("e1")]);
    const worker = world.worker({ handlers: [failingOn(["e1"], permanent("refused for good"))] });

    await worker.runOnce();

    expect(world.outbox()[0]).toMatchObject({
      state: "dead",
      attempts: 1,
      last_error: "refused for good",
      result: "dead: permanent failure",
    });
  });

  it("rolls back what a failing row wrote, and keeps what the others wrote", async () => {
    world.store([created("e1"), created("e2"), created("e3")]);

    await world.worker({ handlers: [failingOn(["e2"])] }).runOnce();

    expect(world.outbox().map((r) => r.state)).toEqual(["done", "pending", "done"]);
    expect(world.rows("SELECT key FROM subscribers ORDER BY key")).toEqual([
      { key: "id:c-e1" },
      { key: "id:c-e3" },
    ]);
    expect(world.rows("SELECT event_seq FROM subscriber_events")).toHaveLength(2);
  });

  it("keeps the rows after a failing one moving (no head-of-line blocking)", async () => {
    world.store([created("stuck", "c-1"), created("next", "c-1"), created("other", "c-2")]);
    const worker = world.worker({ handlers: [failingOn(["stuck"])], random: () => 0.999 });

    await worker.runOnce();
    world.store([created("later", "c-2")]);
    await worker.runOnce();

    expect(world.outbox().map((r) => [r.state, r.attempts])).toEqual([
      ["pending", 1],
      ["done", 1],
      ["done", 1],
      ["done", 1],
    ]);
  });

  it("lets one handler complete an event while another handler fails on it", async () => {
    world.store([created("e1")], ["subscribers", "forward"]);
    const worker = world.worker({
      handlers: [
        createSubscribersHandler(world.sqlite),
        answeringIoHandler(retryable("downstream answered HTTP 500")),
      ],
    });

    await worker.runOnce();

    expect(world.outbox().map((r) => [r.handler, r.state, r.last_error])).toEqual([
      ["subscribers", "done", null],
      ["forward", "pending", "downstream answered HTTP 500"],
    ]);
  });

  it("honours the earliest next attempt a handler asks for", async () => {
    world.store([created("e1")], ["forward"]);
    const notBefore = world.clock.now() + 120_000;
    const worker = world.worker({
      handlers: [answeringIoHandler(retryable("HTTP 429", notBefore))],
      random: () => 0,
    });

    await worker.runOnce();

    expect(world.outbox()[0]?.run_at).toBe(notBefore);
  });
});

describe("leases", () => {
  it("claims a row again once the lease of an attempt that died has run out", async () => {
    world.store([created("e1")]);
    const now = world.clock.now();
    const leaseMs = world.settings().leaseMs;
    // A process claimed the row and died before recording anything.
    const [dead] = prepareOutboxStatements(world.sqlite).claim(
      "subscribers",
      now,
      now + leaseMs,
      10,
    );
    const worker = world.worker();

    expect(await worker.runOnce()).toBe(0);
    expect(world.outbox()[0]).toMatchObject({ state: "processing", attempts: 1 });

    world.clock.advance(leaseMs);
    expect(await worker.runOnce()).toBe(1);
    expect(world.outbox()[0]).toMatchObject({ state: "done", attempts: 2 });

    // The dead attempt's late outcome changes nothing.
    const statements = prepareOutboxStatements(world.sqlite);
    expect(statements.markRetry(dead as never, "late", now, now)).toBe(false);
    expect(world.outbox()[0]).toMatchObject({ state: "done", attempts: 2, last_error: null });
  });

  it("cuts off a handler that hangs, aborts it and retries the row", async () => {
    world.store([created("e1")], ["forward"]);
    const { handler, attempts } = heldIoHandler();
    const worker = world.worker({
      handlers: [handler],
      env: { WORKER_HANDLER_TIMEOUT_MS: "5000" },
      random: () => 0,
    });

    const iteration = worker.runOnce();
    await until(() => attempts.length === 1);
    world.clock.advance(4999);
    expect(world.outbox()[0]?.state).toBe("processing");
    world.clock.advance(1);
    await iteration;

    expect(attempts[0]?.signal.aborted).toBe(true);
    expect(world.outbox()[0]).toMatchObject({
      state: "pending",
      attempts: 1,
      last_error: "timed out after 5000 ms",
    });
    attempts[0]?.settle(success("too late"));
    await turns(3);
    expect(world.outbox()[0]?.state).toBe("pending");
  });

  it("keeps at most its maxInFlight attempts of an I/O handler under way", async () => {
    world.store(
      ["a", "b", "c"].map((id) => created(id)),
      ["forward"],
    );
    const { handler, attempts } = heldIoHandler(2);
    const worker = world.worker({ handlers: [handler] });

    worker.start();
    await until(() => attempts.length === 2);
    await turns(5);
    expect(attempts).toHaveLength(2);

    attempts[0]?.settle(success("ok"));
    await until(() => attempts.length === 3);
    for (const attempt of attempts.slice(1)) attempt.settle(success("ok"));
    await until(() => world.outbox().every((r) => r.state === "done"));
    await worker.stop();
  });
});

describe("batch size", () => {
  const events = (count: number) =>
    Array.from({ length: count }, (_, i) => created(`e${i}`, `c-${i % 7}`));

  it("cuts database batches to the busy budget while events are arriving", async () => {
    world.store(events(200));
    const worker = world.worker({
      handlers: [slowSubscribers(0.025)],
      env: { WORKER_BATCH_SIZE: "80" },
    });
    // Quiet: a whole batch, which also measures the cost per row.
    expect(await worker.runOnce()).toBe(80);

    worker.eventsCommitted();
    expect(await worker.runOnce()).toBe(Math.floor(BUSY_TRANSACTION_BUDGET_MS / 0.025));

    world.clock.advance(INGEST_ACTIVE_WINDOW_MS);
    expect(await worker.runOnce()).toBe(80);
  });

  it("rests four times as long as a batch took while events are arriving", async () => {
    world.store(events(200));
    const worker = world.worker({
      handlers: [slowSubscribers(0.25)],
      env: { WORKER_BATCH_SIZE: "16" },
    });
    const doneRows = () => world.outbox().filter((row) => row.state === "done").length;
    worker.eventsCommitted();
    worker.start();

    // 16 rows at 0.25 ms: a 4 ms batch, so a 16 ms rest (a fifth of the thread).
    await until(() => doneRows() === 16);
    worker.wake();
    await turns(20);
    expect(doneRows()).toBe(16);
    world.clock.advance(15);
    await turns(20);
    expect(doneRows()).toBe(16);

    world.clock.advance(1);
    await until(() => doneRows() === 32);
    await worker.stop();
  });

  it("rests nineteen times as long as a batch took while ingest is saturated", async () => {
    world.store(events(200));
    const worker = world.worker({
      handlers: [slowSubscribers(0.25)],
      env: { WORKER_BATCH_SIZE: "16" },
    });
    const doneRows = () => world.outbox().filter((row) => row.state === "done").length;
    // Commits of 50 events each: requests pile up behind every commit.
    for (let i = 0; i < 20; i++) worker.eventsCommitted(50);
    worker.start();

    // 16 rows at 0.25 ms: a 4 ms batch, so a 76 ms rest (a twentieth of the thread).
    await until(() => doneRows() === 16);
    world.clock.advance(75);
    worker.wake();
    await turns(20);
    expect(doneRows()).toBe(16);

    world.clock.advance(1);
    await until(() => doneRows() === 32);
    await worker.stop();
  });

  it("does not rest between batches when ingest is quiet", async () => {
    world.store(events(60));
    const worker = world.worker({
      handlers: [slowSubscribers(0.25)],
      env: { WORKER_BATCH_SIZE: "20" },
    });
    worker.start();

    await until(() => world.outbox().every((row) => row.state === "done"));
    await worker.stop();
  });

  it("never cuts a busy batch below 16 rows", async () => {
    world.store(events(100));
    const worker = world.worker({
      handlers: [slowSubscribers(5)],
      env: { WORKER_BATCH_SIZE: "40" },
    });
    await worker.runOnce();

    worker.eventsCommitted();
    expect(await worker.runOnce()).toBe(16);
  });
});

describe("the loop", () => {
  it("picks up new rows as soon as it is woken, without waiting for the poll", async () => {
    const worker = world.worker();
    worker.start();
    await turns(3);

    world.store([created("e1")]);
    worker.wake();
    await until(() => world.outbox()[0]?.state === "done");

    await worker.stop();
  });

  it("looks again after WORKER_POLL_MS when nothing wakes it", async () => {
    const worker = world.worker({ env: { WORKER_POLL_MS: "1000" } });
    worker.start();
    await turns(3);

    world.store([created("e1")]);
    await turns(20);
    expect(world.outbox()[0]?.state).toBe("pending");

    world.clock.advance(1000);
    await until(() => world.outbox()[0]?.state === "done");
    await worker.stop();
  });

  it("wakes for a retry when it falls due, before the next poll", async () => {
    world.store([created("e1")]);
    let failures = 1;
    const real = createSubscribersHandler(world.sqlite);
    const flaky: DatabaseHandler = {
      ...real,
      apply: (event, at) => (failures-- > 0 ? retryable("not yet") : real.apply(event, at)),
    };
    const worker = world.worker({
      handlers: [flaky],
      env: { WORKER_POLL_MS: "60000" },
      random: () => 0.5,
    });
    worker.start();
    await until(() => world.outbox()[0]?.attempts === 1);
    await turns(5);

    world.clock.advance(500);
    await until(() => world.outbox()[0]?.state === "done");
    await worker.stop();
  });

  it("reports that it runs and when it last looked", async () => {
    const worker = world.worker();
    expect(worker.status()).toMatchObject({ running: false, lastIterationAt: null });

    worker.start();
    await turns(2);
    expect(worker.status()).toMatchObject({ running: true, lastIterationAt: world.clock.now() });

    await worker.stop();
    expect(worker.status().running).toBe(false);
  });
});

describe("shutdown", () => {
  it("lets attempts in flight finish within the bound, then releases the rest", async () => {
    world.store([created("quick"), created("hung")], ["forward"]);
    const { handler, attempts } = heldIoHandler();
    const worker = world.worker({
      handlers: [handler],
      env: { WORKER_SHUTDOWN_TIMEOUT_MS: "2000", WORKER_HANDLER_TIMEOUT_MS: "10000" },
    });
    worker.start();
    await until(() => attempts.length === 2);

    const stopped = worker.stop();
    await turns(3);
    attempts.find((a) => a.event.eventId === "quick")?.settle(success("forwarded: HTTP 200"));
    await turns(3);
    world.clock.advance(2000);
    await stopped;

    const [quick, hung] = world.outbox();
    expect(quick).toMatchObject({ state: "done", attempts: 1, result: "forwarded: HTTP 200" });
    expect(hung).toMatchObject({ state: "pending", attempts: 0, run_at: world.clock.now() });
    expect(attempts.find((a) => a.event.eventId === "hung")?.signal.aborted).toBe(true);
    expect(worker.status()).toMatchObject({ running: false, released: 1, done: 1 });
  });

  it("claims nothing more once stopping", async () => {
    const worker = world.worker();
    worker.start();
    await turns(2);
    await worker.stop();

    world.store([created("e1")]);
    worker.wake();
    await turns(5);

    expect(world.outbox()[0]?.state).toBe("pending");
  });
});
