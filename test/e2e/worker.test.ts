import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import type { Server } from "bun";
import { ulid } from "ulid";
import { postEvent, runProgram, startService, tempDir } from "../support/process.ts";
import { eventually, sampleEvent } from "../support/world.ts";

const BASE_ENV = { WEBHOOK_VERIFIERS: "none", LOG_LEVEL: "warn" };

/** Rows of a query on a database file, through a connection of its own. */
function query<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.query(sql).all() as T[];
  } finally {
    db.close();
  }
}

const count = (path: string, where: string) =>
  query<{ n: number }>(path, `SELECT count(*) AS n FROM outbox WHERE ${where}`)[0]?.n ?? 0;

/** A downstream that answers every forward after `delayMs`, and remembers the webhook-ids. */
function startDownstream(delayMs: number) {
  const ids = new Set<string>();
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      await request.arrayBuffer();
      await Bun.sleep(delayMs);
      ids.add(request.headers.get("webhook-id") ?? "");
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${server.port}/`, ids, stop: () => server.stop(true) };
}

describe("the outbox commands of the CLI", () => {
  it("explains each command with --help", async () => {
    for (const command of ["replay", "retry", "retry-dead"]) {
      const { exitCode, stdout } = await runProgram([command, "--help"], {});
      expect(exitCode).toBe(0);
      expect(stdout).toStartWith(`Usage: maildesk-receiver ${command}`);
    }
  });

  it("refuses a malformed command line", async () => {
    const dir = tempDir();
    const env = { ...BASE_ENV, DATABASE_URL: join(dir, "maildesk.db") };

    expect((await runProgram(["retry", "twelve"], env)).exitCode).toBe(64);
    expect((await runProgram(["replay"], env)).exitCode).toBe(64);
    expect((await runProgram(["retry-dead", "--handlers", "x"], env)).exitCode).toBe(64);
  });

  it("replays and retries beside a running server on the same file", async () => {
    const dir = tempDir();
    const env = { ...BASE_ENV, DATABASE_URL: join(dir, "maildesk.db"), WORKER_POLL_MS: "100" };
    const service = await startService(env);
    const result = () =>
      query<{ result: string }>(env.DATABASE_URL, "SELECT result FROM outbox")[0]?.result;
    try {
      expect((await postEvent(service.url, sampleEvent({ eventId: "cli-1" }))).status).toBe(200);
      await eventually(() => result() === "applied");

      const replay = await runProgram(["replay", "cli-1"], env);
      expect(replay).toMatchObject({ exitCode: 0 });
      expect(replay.stdout).toContain('event "cli-1" replayed: 1 row(s) reset, 0 added');
      // The server's worker finds the row at its next poll.
      await eventually(() => result() === "already applied");

      const unknown = await runProgram(["replay", "cli-unknown"], env);
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toContain('no stored event has the eventId "cli-unknown"');

      const notDead = await runProgram(["retry", "1"], env);
      expect(notDead.exitCode).toBe(1);
      expect(notDead.stderr).toContain("outbox row 1 is done, not dead: left alone");

      const retryDead = await runProgram(["retry-dead", "--handler", "forward"], env);
      expect(retryDead).toMatchObject({ exitCode: 0 });
      expect(retryDead.stdout).toContain('0 dead rows of handler "forward" moved back to pending');
    } finally {
      await service.stop();
    }
  });
});

describe("the worker in the running program", () => {
  it("reports itself alive on /readyz", async () => {
    const service = await startService({ ...BASE_ENV, DATABASE_URL: join(tempDir(), "m.db") });
    try {
      // The worker's first report travels with the writer's first heartbeat.
      let body: { worker?: { ok: boolean } } = {};
      for (let i = 0; i < 100 && body.worker?.ok !== true; i++) {
        if (i > 0) await Bun.sleep(50);
        body = (await (await fetch(`${service.url}/readyz`)).json()) as typeof body;
      }
      expect(body).toMatchObject({ status: "ready", worker: { ok: true, running: true } });
    } finally {
      await service.stop();
    }
  });

  it("on SIGTERM gives a forward in flight back to the outbox, attempt not counted", async () => {
    const downstream = startDownstream(60_000);
    const path = join(tempDir(), "maildesk.db");
    const service = await startService({
      ...BASE_ENV,
      DATABASE_URL: path,
      FORWARD_URL: downstream.url,
      WORKER_SHUTDOWN_TIMEOUT_MS: "200",
    });
    try {
      expect((await postEvent(service.url, sampleEvent({ eventId: "term-1" }))).status).toBe(200);
      await eventually(() => count(path, "handler = 'forward' AND state = 'processing'") === 1);

      expect(await service.stop("SIGTERM")).toBe(0);

      expect(query(path, "SELECT handler, state, attempts FROM outbox ORDER BY handler")).toEqual([
        { handler: "forward", state: "pending", attempts: 0 },
        { handler: "subscribers", state: "done", attempts: 1 },
      ]);
    } finally {
      await downstream.stop();
    }
  });
});

/** A few hundred contacts, several events each, every type; ULID ids so that times are the event's. */
function buildEvents(contacts: number): string[] {
  const base = Date.now() - 3_600_000;
  const events: string[] = [];
  for (let c = 0; c < contacts; c++) {
    // Every tenth contact has no id: it is keyed by its address.
    const who = c % 10 === 0 ? { email: `Only.${c}@Example.com` } : { id: `contact-${c}` };
    const at = (step: number) => ulid(base + c * 1000 + step * 10);
    events.push(
      JSON.stringify({
        type: "subscriber.created",
        eventId: at(0),
        email: `person.${c}@example.com`,
        ...who,
        firstName: `First${c}`,
        lastName: `Last${c}`,
        status: "pending",
        createdAt: new Date(base + c * 1000).toISOString(),
      }),
      JSON.stringify({
        type: "subscriber.updated",
        eventId: at(1),
        ...who,
        lastName: `Renamed${c}`,
      }),
      JSON.stringify({ type: "subscriber.confirmed", eventId: at(2), ...who, status: "active" }),
    );
    if (c % 3 === 0) {
      events.push(JSON.stringify({ type: "subscriber.unsubscribed", eventId: at(3), ...who }));
    }
    if (c % 4 === 0) {
      events.push(
        JSON.stringify({ type: "subscriber.updated", eventId: at(4), ...who, firstName: null }),
      );
    }
    if (c % 50 === 0) {
      events.push(JSON.stringify({ type: "subscriber.merged", eventId: at(5), ...who }));
      events.push(
        JSON.stringify({ type: "subscriber.updated", eventId: at(6), firstName: "Nobody" }),
      );
    }
  }
  return events;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** The mirror, without the time the worker wrote each row or the row's number. */
function mirror(path: string) {
  return {
    subscribers: query<Record<string, unknown>>(path, "SELECT * FROM subscribers ORDER BY key").map(
      ({ updated_at: _, id: __, ...row }) => row,
    ),
    history: query<{ key: string; event_id: string }>(
      path,
      `SELECT s.key, h.event_id FROM subscriber_events h JOIN subscribers s ON s.id = h.subscriber_id
        ORDER BY s.key, h.event_id`,
    ),
  };
}

describe("a crash mid-processing", () => {
  it("after SIGKILL under load and a restart, ends where a clean run over the same events ends", async () => {
    const downstream = startDownstream(20);
    const killedPath = join(tempDir(), "maildesk.db");
    const env = {
      ...BASE_ENV,
      WORKER_BATCH_SIZE: "32",
      WORKER_POLL_MS: "100",
      WORKER_LEASE_MS: "1500",
      WORKER_HANDLER_TIMEOUT_MS: "1000",
      FORWARD_URL: downstream.url,
    };
    const service = await startService({ ...env, DATABASE_URL: killedPath });
    const queue = shuffle(buildEvents(300));
    const total = queue.length;
    let accepted = 0;
    let sending = true;

    const senders = Array.from({ length: 24 }, async () => {
      while (sending) {
        const body = queue.pop();
        if (!body) return;
        const response = await postEvent(service.url, body).catch(() => null);
        if (response?.status === 200) accepted++;
      }
    });
    await eventually(() => accepted >= total * 0.6, 15_000);
    const inFlight = count(killedPath, "state = 'processing'");
    await service.stop("SIGKILL");
    sending = false;
    await Promise.all(senders);

    // Claimed rows were left behind: their leases must run out before anyone takes them.
    expect(inFlight).toBeGreaterThan(0);
    const restarted = await startService({ ...env, DATABASE_URL: killedPath });
    await eventually(() => count(killedPath, "state <> 'done'") === 0, 15_000);
    await restarted.stop();
    await downstream.stop();

    const stored = query<{ event_id: string; raw_body: Uint8Array; content_type: string }>(
      killedPath,
      "SELECT event_id, raw_body, content_type FROM events ORDER BY seq",
    );
    expect(stored.length).toBeGreaterThanOrEqual(accepted);
    expect(count(killedPath, "attempts >= 2")).toBeGreaterThan(0);
    expect(stored.filter((e) => !downstream.ids.has(e.event_id))).toEqual([]);

    // A clean run: the same events, in receipt order, into a fresh database.
    const cleanPath = join(tempDir(), "maildesk.db");
    const clean = await startService({ ...BASE_ENV, DATABASE_URL: cleanPath });
    for (const event of stored) {
      const response = await fetch(`${clean.url}/webhooks/maildesk`, {
        method: "POST",
        headers: { "content-type": event.content_type },
        body: event.raw_body,
      });
      expect(response.status).toBe(200);
    }
    await eventually(() => count(cleanPath, "state <> 'done'") === 0, 10_000);
    await clean.stop();

    const killed = mirror(killedPath);
    expect(killed.subscribers.length).toBeGreaterThan(100);
    expect(killed).toEqual(mirror(cleanPath));
  }, 40_000);
});
