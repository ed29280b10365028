/**
 * `bun run bench:worker`: how fast the outbox worker drains stored events
 * through the `subscribers` handler, as the program runs it.
 *
 * 1. Builds a database of stored events (default 100,000 over 20,000
 *    contacts: creates, partial updates, confirmations, unsubscribes, a few
 *    unknown types and events naming no contact; ULID ids mostly, some
 *    delivered out of order, some plain ids), inserted directly with SQL in
 *    big transactions, each with its `subscribers` outbox row.
 * 2. Starts the real program (`serve`) on it: the writer thread opens the
 *    file and its worker drains the outbox while this script watches.
 * 3. Reports events/s from the outbox's own timestamps (first claim to
 *    last commit: the worker's time, not the program's start-up), the wall
 *    time from start to drained, and the program's peak RSS (VmHWM).
 * 4. Baselines, in the same run: the same worker with WORKER_BATCH_SIZE=1,
 *    i.e. the same projection in one transaction (one fsync) per row, on a
 *    smaller database; and the bulk INSERT of step 1 (writing the rows at
 *    all, in big transactions).
 * 5. What draining costs ingest: the latency of webhook POSTs (one at a
 *    time, 5 ms apart) while the worker drains the same backlog, against
 *    the same POSTs to a program with nothing to drain.
 *
 * Options: --events N (100000), --contacts N (20000), --baseline-events N
 * (2000), --batch N (WORKER_BATCH_SIZE; default: the program's), --json FILE,
 * --build-only PATH (write the database of step 1 to PATH and stop there,
 * e.g. to profile the worker on it).
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { monotonicFactory } from "ulid";
import { openDatabase } from "../src/store/database.ts";
import { freePort } from "./lib/servers.ts";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    contacts: { type: "string", default: "20000" },
    "baseline-events": { type: "string", default: "2000" },
    batch: { type: "string" },
    json: { type: "string" },
    "build-only": { type: "string" },
  },
});

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const INSERT_CHUNK = 10_000;
const POLL_MS = 100;

interface Drain {
  readonly events: number;
  readonly workerSeconds: number;
  readonly wallSeconds: number;
  readonly eventsPerSecond: number;
  readonly peakRssMiB: number;
  readonly results: Record<string, number>;
}

/** A small deterministic generator, so that runs are comparable. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

interface GeneratedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly contactId: string | null;
  readonly email: string | null;
  readonly status: string | null;
  readonly createdAt: string | null;
  readonly receivedAt: number;
  readonly body: string;
}

function generateEvents(count: number, contacts: number): GeneratedEvent[] {
  const random = createRandom(20_261_201);
  const nextUlid = monotonicFactory(random);
  const seen = new Uint8Array(contacts);
  const start = Date.now() - count * 10;
  const events: GeneratedEvent[] = [];

  for (let i = 0; i < count; i++) {
    const c = Math.floor(random() * contacts);
    const receivedAt = start + i * 10;
    // 5% arrive late: their ULID time is up to 2 s before their receipt.
    const late = random() < 0.05 ? Math.floor(random() * 2000) : 0;
    const eventId = random() < 0.9 ? nextUlid(receivedAt - late) : `evt-${i}`;
    const who: Record<string, unknown> =
      c % 20 === 0 ? { email: `only.${c}@example.com` } : { id: `contact-${c}` };

    let payload: Record<string, unknown>;
    const roll = random();
    if (!seen[c]) {
      seen[c] = 1;
      payload = {
        type: "subscriber.created",
        email: `person.${c}@example.com`,
        ...who,
        firstName: `First${c}`,
        lastName: `Last${c}`,
        status: "pending",
        createdAt: new Date(receivedAt).toISOString(),
      };
    } else if (roll < 0.62) {
      payload = { type: "subscriber.updated", ...who };
      if (random() < 0.5) payload.firstName = `Renamed${i}`;
      if (random() < 0.3) payload.lastName = `Family${i}`;
      if (random() < 0.2) payload.status = random() < 0.5 ? "active" : "bounced";
    } else if (roll < 0.82) {
      payload = { type: "subscriber.confirmed", ...who, status: "active" };
    } else if (roll < 0.97) {
      payload = { type: "subscriber.unsubscribed", ...who };
    } else if (roll < 0.99) {
      payload = { type: "subscriber.tagged", ...who, tag: "vip" };
    } else {
      payload = { type: "subscriber.updated", firstName: "Nobody" };
    }

    const body = JSON.stringify({ eventId, ...payload, source: "bench" });
    events.push({
      eventId,
      type: String(payload.type),
      contactId: typeof payload.id === "string" ? payload.id : null,
      email: typeof payload.email === "string" ? payload.email : null,
      status: typeof payload.status === "string" ? payload.status : null,
      createdAt: typeof payload.createdAt === "string" ? payload.createdAt : null,
      receivedAt,
      body,
    });
  }
  return events;
}

/** Writes the events and their outbox rows in big transactions; returns rows per second. */
function buildDatabase(path: string, events: readonly GeneratedEvent[]): number {
  const { sqlite } = openDatabase(path, { busyTimeoutMs: 5000 });
  const insertEvent = sqlite.prepare(
    `INSERT INTO events (event_id, type, contact_id, email, status, created_at_raw, created_at,
       received_at, source_ip, request_id, content_type, raw_body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, '127.0.0.1', ?, 'application/json', ?) RETURNING seq`,
  );
  const insertOutbox = sqlite.prepare(
    `INSERT INTO outbox (event_seq, handler, run_at, created_at, updated_at)
     VALUES (?, 'subscribers', ?, ?, ?)`,
  );
  const encoder = new TextEncoder();

  const started = performance.now();
  for (let offset = 0; offset < events.length; offset += INSERT_CHUNK) {
    sqlite.exec("BEGIN IMMEDIATE");
    for (const event of events.slice(offset, offset + INSERT_CHUNK)) {
      const createdAt = event.createdAt === null ? null : Date.parse(event.createdAt);
      const { seq } = insertEvent.get(
        event.eventId,
        event.type,
        event.contactId,
        event.email,
        event.status,
        event.createdAt,
        createdAt,
        event.receivedAt,
        `bench-${event.eventId}`,
        encoder.encode(event.body),
      ) as { seq: number };
      insertOutbox.run(seq, event.receivedAt, event.receivedAt, event.receivedAt);
    }
    sqlite.exec("COMMIT");
  }
  const seconds = (performance.now() - started) / 1000;
  sqlite.close(true);
  return events.length / seconds;
}

/** The peak resident set of a process so far, in MiB (Linux). */
function peakRssMiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Starts the program on `path` and waits until its worker has drained the outbox. */
async function drain(path: string, batchSize: number | undefined): Promise<Drain> {
  const reader = new Database(path, { readonly: true });
  const total =
    reader
      .query<{ n: number }, []>("SELECT count(*) AS n FROM outbox WHERE state = 'pending'")
      .get()?.n ?? 0;
  // Cheap, and not too often: the look must not slow down what it measures.
  const unfinished = reader.query<{ found: number }, []>(
    "SELECT EXISTS (SELECT 1 FROM outbox WHERE state IN ('pending', 'processing')) AS found",
  );

  const started = performance.now();
  const child = Bun.spawn([process.execPath, MAIN, "serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      WEBHOOK_VERIFIERS: "none",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: String(freePort()),
      DATABASE_URL: path,
      ...(batchSize === undefined ? {} : { WORKER_BATCH_SIZE: String(batchSize) }),
    },
    stdout: "inherit",
    stderr: "inherit",
  });
  let peak = 0;
  while (unfinished.get()?.found) {
    if (child.exitCode !== null) throw new Error(`the program exited with ${child.exitCode}`);
    peak = Math.max(peak, peakRssMiB(child.pid));
    await Bun.sleep(POLL_MS);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, peakRssMiB(child.pid));
  child.kill("SIGTERM");
  await child.exited;

  const span = reader
    .query<{ first: number; last: number; n: number }, []>(
      "SELECT min(updated_at) AS first, max(updated_at) AS last, count(*) AS n FROM outbox WHERE state = 'done'",
    )
    .get();
  const results = Object.fromEntries(
    reader
      .query<{ result: string; n: number }, []>(
        "SELECT result, count(*) AS n FROM outbox GROUP BY result ORDER BY n DESC",
      )
      .all()
      .map((row) => [row.result, row.n]),
  );
  reader.close();
  if (!span || span.n !== total) throw new Error(`only ${span?.n} of ${total} rows are done`);

  const workerSeconds = Math.max(0.001, (span.last - span.first) / 1000);
  return {
    events: total,
    workerSeconds,
    wallSeconds,
    eventsPerSecond: total / workerSeconds,
    peakRssMiB: peak,
    results,
  };
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const LATENCY_REQUESTS = 300;

/** Starts the program on `path` and times webhook POSTs sent one at a time. */
async function ingestLatency(path: string, batchSize: number | undefined): Promise<Latency> {
  const port = freePort();
  const child = Bun.spawn([process.execPath, MAIN, "serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      WEBHOOK_VERIFIERS: "none",
      LOG_LEVEL: "error",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: path,
      ...(batchSize === undefined ? {} : { WORKER_BATCH_SIZE: String(batchSize) }),
    },
    stdout: "inherit",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  )
    await Bun.sleep(10);

  const times: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) {
    const body = JSON.stringify({
      type: "subscriber.updated",
      eventId: `latency-${i}`,
      id: `c-${i}`,
    });
    const started = performance.now();
    const response = await fetch(`${url}/webhooks/maildesk`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await response.arrayBuffer();
    times.push(performance.now() - started);
    await Bun.sleep(5);
  }
  child.kill("SIGTERM");
  await child.exited;

  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.floor(q * (times.length - 1))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

const eventCount = Number(args.events);
const contactCount = Number(args.contacts);
const baselineCount = Math.min(eventCount, Number(args["baseline-events"]));
const batchSize = args.batch === undefined ? undefined : Number(args.batch);
const batchName =
  batchSize === undefined ? "the default WORKER_BATCH_SIZE" : `WORKER_BATCH_SIZE=${batchSize}`;
console.log(`generating ${eventCount} events over ${contactCount} contacts`);
const events = generateEvents(eventCount, contactCount);
if (args["build-only"]) {
  buildDatabase(args["build-only"], events);
  console.log(`database written to ${args["build-only"]}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "maildesk-bench-worker-"));
try {
  const mainPath = join(dir, "worker.db");
  const insertPerSecond = buildDatabase(mainPath, events);
  console.log(`bulk INSERT of the events and outbox rows: ${Math.round(insertPerSecond)} rows/s`);

  console.log(`draining ${eventCount} events with ${batchName}`);
  const worker = await drain(mainPath, batchSize);

  console.log(
    `baseline: ${baselineCount} events with WORKER_BATCH_SIZE=1 (one transaction per row)`,
  );
  const baselinePath = join(dir, "baseline.db");
  buildDatabase(baselinePath, events.slice(0, baselineCount));
  const baseline = await drain(baselinePath, 1);

  console.log("ingest latency while draining the same backlog, and with nothing to drain");
  const backlogPath = join(dir, "latency-backlog.db");
  buildDatabase(backlogPath, events);
  const whileDraining = await ingestLatency(backlogPath, batchSize);
  const emptyPath = join(dir, "latency-empty.db");
  buildDatabase(emptyPath, []);
  const idle = await ingestLatency(emptyPath, batchSize);

  const row = (name: string, d: Drain) =>
    `| ${name} | ${d.events} | ${Math.round(d.eventsPerSecond).toLocaleString("en")} | ` +
    `${d.workerSeconds.toFixed(2)} | ${d.wallSeconds.toFixed(2)} | ${Math.round(d.peakRssMiB)} |`;
  console.log("");
  console.log("| run | events | events/s | worker s | wall s | peak RSS MiB |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(row(`worker, ${batchName}`, worker));
  console.log(row("baseline: one transaction per row", baseline));
  console.log("");
  console.log(
    `worker / one transaction per row: ${(worker.eventsPerSecond / baseline.eventsPerSecond).toFixed(1)}x; ` +
      `worker / bulk INSERT of the same rows: ${(worker.eventsPerSecond / insertPerSecond).toFixed(2)}x`,
  );
  console.log(`outcomes: ${JSON.stringify(worker.results)}`);
  const ms = (value: number) => value.toFixed(1);
  console.log("");
  console.log("| ingest, one POST at a time | p50 ms | p99 ms | max ms |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, l] of [
    ["while the worker drains", whileDraining],
    ["nothing to drain", idle],
  ] as const) {
    console.log(`| ${name} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} |`);
  }

  if (args.json) {
    writeFileSync(
      args.json,
      JSON.stringify(
        {
          events: eventCount,
          contacts: contactCount,
          batchSize,
          insertPerSecond,
          worker,
          baseline,
          ingestLatency: { whileDraining, idle },
        },
        null,
        2,
      ),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
