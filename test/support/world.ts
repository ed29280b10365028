/**
 * A fresh, isolated world per test: a temporary folder with a real SQLite
 * file (migrated), the configuration built from a test's own environment, a
 * logger whose lines are captured, the store and the HTTP app. Requests go
 * through `app.handle`; the peer address is injected because there is no
 * socket.
 */
import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig } from "../../src/config.ts";
import { type App, createApp } from "../../src/http/app.ts";
import { createClientAddressResolver } from "../../src/http/client-address.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { createSqliteStore, type SqliteStore } from "../../src/store/sqlite-store.ts";
import type { WriterPlacement } from "../../src/store/writer-link.ts";
import { createVerifierChain } from "../../src/verify/chain.ts";
import { createWriterComponents } from "../../src/writer-components.ts";

/** A captured log line. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface World {
  readonly dir: string;
  readonly config: Config;
  readonly log: Logger;
  readonly logs: LogLine[];
  readonly store: SqliteStore;
  /** A reading connection, for assertions. */
  readonly sqlite: Database;
  /**
   * The writing connection, when the world's writer runs inline: for tests
   * that break storage on purpose (a full disk, a read-only database).
   */
  readonly writerSqlite: Database;
  readonly app: App;
  /** The peer address the next requests come from. */
  peer: string | null;
  /** The clock of timestamp checks, in milliseconds since the epoch; settable. */
  nowMs: number;
  /** POSTs `body` to the webhook endpoint (or `path`) through `app.handle`. */
  post(body: string | Uint8Array, init?: PostInit): Promise<Response>;
  /** Rows of `SELECT … FROM table`, for assertions. */
  rows<T = Record<string, unknown>>(sql: string, ...params: (string | number | null)[]): T[];
  /** Writes the delivery-log rows queued so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface PostInit {
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** Stream the body without a Content-Length (chunked). */
  readonly chunked?: boolean;
}

/** The environment every world starts from; a test's `env` overrides it. */
export const BASE_TEST_ENV = { WEBHOOK_VERIFIERS: "none", LOG_LEVEL: "debug" } as const;

/** The writer thread's entry point, as the program starts it. */
export const WRITER_THREAD: WriterPlacement = {
  kind: "thread",
  entry: new URL("../../src/writer-thread.ts", import.meta.url),
};

export interface WorldOptions {
  /** Run the writer inline instead of in its thread (to reach its connection). */
  readonly inlineWriter?: boolean;
  /**
   * Run the outbox worker beside the writer, as the program does. Off by
   * default, so that tests of ingest see the rows they wrote as written.
   */
  readonly worker?: boolean;
}

/** Creates a world; `env` is the environment as the program would read it. */
export async function createWorld(
  env: Record<string, string | undefined> = {},
  options: WorldOptions = {},
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "maildesk-test-"));
  const config = loadConfig({ ...BASE_TEST_ENV, DATABASE_URL: join(dir, "maildesk.db"), ...env });
  const logs: LogLine[] = [];
  const log = createLogger(config.log, { write: (line: string) => logs.push(JSON.parse(line)) });
  const store = await createSqliteStore(
    config,
    log,
    options.inlineWriter ? { kind: "inline", components: createWriterComponents } : WRITER_THREAD,
    { runWorker: options.worker ?? false },
  );
  const chain = createVerifierChain(config, log, { now: () => world.nowMs });
  const clientAddress = createClientAddressResolver(config.trustedProxies);
  const world: World = {
    dir,
    config,
    log,
    logs,
    store,
    sqlite: store.reader.sqlite,
    get writerSqlite() {
      const connection = store.writer.inlineConnection;
      if (!connection) throw new Error("the writer's connection is only reachable inline");
      return connection;
    },
    peer: "127.0.0.1",
    nowMs: Date.now(),
    app: createApp({
      config,
      store,
      chain,
      clientAddress,
      log,
      peerAddress: () => world.peer,
    }),

    post(body, init = {}) {
      const headers = { "content-type": "application/json", ...init.headers };
      const payload = typeof body === "string" ? new TextEncoder().encode(body) : body;
      const requestBody = init.chunked
        ? new ReadableStream({
            start(controller) {
              controller.enqueue(payload);
              controller.close();
            },
          })
        : payload;
      return world.app.handle(
        new Request(`http://localhost${init.path ?? "/webhooks/maildesk"}`, {
          method: "POST",
          headers,
          body: requestBody,
        }),
      );
    },

    rows(sql, ...params) {
      return world.sqlite.query(sql).all(...params) as never[];
    },

    async flush() {
      await store.ingest.drain();
    },

    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** A small valid event; `fields` add to or replace its fields. */
export function sampleEvent(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "subscriber.created",
    eventId: `evt-${crypto.randomUUID()}`,
    id: "contact-1",
    email: "ada@example.com",
    firstName: "Ada",
    lastName: "Lovelace",
    status: "active",
    createdAt: "2026-12-01T10:00:00Z",
    ...fields,
  });
}

/**
 * Polls `condition` until it holds, for tests of real threads and processes
 * (worker unit tests use a manual clock instead); fails after `timeoutMs`.
 */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`the condition did not hold within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}
