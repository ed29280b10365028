/**
 * What runs beside the writing connection: the ingest writer, the commands
 * that write (replay, retries, settings), and the components that need the
 * connection for themselves (the outbox worker). It speaks the messages of
 * writer-protocol.ts, whether it runs in its own thread (writer-thread.ts) or
 * inline in the caller's (the CLI, some tests).
 */
import type { Database } from "bun:sqlite";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { openDatabase } from "./database.ts";
import { StorageUnavailableError, toStorageUnavailable } from "./errors.ts";
import { decodeBatch, type EncodedBatch } from "./ingest-codec.ts";
import { createIngestWriter, type IngestWriter } from "./ingest-writer.ts";
import type { FromWriter, ToWriter, WriterStatus } from "./writer-protocol.ts";

/** How often the writer reports that it is alive, with its counters. */
const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * The writing connection's page cache, in KiB (SQLite's default is 2 MiB).
 * The worker writes the mirror and the event keys at random places; with
 * 16 MiB, fewer of those pages are read again, and the same worker drained
 * the bench:worker database 10-15% faster in-process, for about 18 MiB more
 * RSS once the cache has filled. The reading connection keeps the default.
 */
const WRITER_CACHE_KIB = 16 * 1024;

/** What the writer needs to start; structured-clonable, for the thread. */
export interface WriterStartOptions {
  readonly config: Config;
  /** The handlers that get an outbox row for every new event. */
  readonly handlers: readonly string[];
  /** Run the outbox worker's loop (default); `false` hosts its commands only (the CLI). */
  readonly runWorker?: boolean;
}

/** A command run on the writing connection; its result goes back to the caller. */
export type WriterCommand = (args: never) => unknown;

/** What a component hosted by the writer gets, and gives back. */
export interface WriterContext {
  readonly sqlite: Database;
  readonly log: Logger;
  readonly options: WriterStartOptions;
}

/**
 * A component that lives beside the writing connection: it may add commands
 * and report status, is told when events were committed, and is stopped
 * before the connection closes.
 */
export interface WriterComponent {
  readonly name: string;
  /** Resolves once the component runs (the writer answers "ready" after every one). */
  readonly ready?: Promise<unknown>;
  readonly commands?: Readonly<Record<string, WriterCommand>>;
  status?(): unknown;
  onEventsCommitted?(count: number): void;
  stop?(): Promise<void>;
}

/** A call named a command that no component registered; its `name` travels to the caller. */
export class UnknownWriterCommandError extends Error {
  override name = "UnknownWriterCommandError";
}

/** Builds the hosted components once the connection is open. */
export type ComponentFactory = (context: WriterContext) => WriterComponent[];

/** The writer side of the channel: feed it messages, it answers through `send`. */
export interface WriterService {
  handle(message: ToWriter): void;
  /** The writing connection, once started (for inline use). */
  readonly sqlite: Database | null;
}

/** Creates the writer; nothing is opened before the `start` message. */
export function createWriterService(
  send: (message: FromWriter, transfer?: Bun.Transferable[]) => void,
  log: Logger,
  createComponents: ComponentFactory = () => [],
): WriterService {
  let sqlite: Database | null = null;
  let ingest: IngestWriter | null = null;
  let components: WriterComponent[] = [];
  const commands = new Map<string, WriterCommand>();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let closing = false;

  async function start(options: WriterStartOptions): Promise<void> {
    try {
      sqlite = openDatabase(options.config.databasePath, {
        busyTimeoutMs: options.config.sqliteBusyTimeoutMs,
        migrate: false,
      }).sqlite;
      sqlite.exec(`PRAGMA cache_size = -${WRITER_CACHE_KIB}`);
    } catch (error) {
      log.error({ err: error }, "writer could not open the database");
      send({
        type: "start-failed",
        message: String(error),
        storageCode: toStorageUnavailable(error).storageCode,
      });
      return;
    }

    components = createComponents({ sqlite, log, options });
    for (const component of components) {
      for (const [name, command] of Object.entries(component.commands ?? {})) {
        commands.set(name, command);
      }
    }
    ingest = createIngestWriter(sqlite, {
      handlers: options.handlers,
      log,
      onEventsCommitted: (count) => {
        for (const component of components) component.onEventsCommitted?.(count);
      },
    });
    commands.set("flush", () => ingest?.flushNow());
    heartbeat = setInterval(sendHeartbeat, HEARTBEAT_INTERVAL_MS);
    heartbeat.unref?.();
    await Promise.all(components.map((component) => component.ready));
    send({ type: "ready" });
    sendHeartbeat();
  }

  function sendHeartbeat(): void {
    if (!ingest) return;
    const componentStatus: Record<string, unknown> = {};
    for (const component of components) {
      if (component.status) componentStatus[component.name] = component.status();
    }
    const status: WriterStatus = { at: Date.now(), ...ingest.stats, components: componentStatus };
    send({ type: "heartbeat", status });
  }

  function acceptBatch(batchId: number, batch: EncodedBatch): void {
    if (!ingest || closing) {
      send({ type: "batch-failed", batchId, storageCode: "CLOSED" });
      return;
    }
    ingest.enqueue({
      ...decodeBatch(batch),
      reply(result) {
        if (result instanceof StorageUnavailableError) {
          send({ type: "batch-failed", batchId, storageCode: result.storageCode });
        } else {
          send({ type: "committed", batchId, outcomes: result });
        }
      },
    });
  }

  async function runCommand(callId: number, name: string, args: unknown): Promise<void> {
    const command = commands.get(name);
    try {
      if (!command) throw new UnknownWriterCommandError(`unknown writer command "${name}"`);
      const value = await command(args as never);
      send({ type: "call-result", callId, ok: true, value });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const storageCode = (failure as { storageCode?: string }).storageCode;
      send({
        type: "call-result",
        callId,
        ok: false,
        error: { name: failure.name, message: failure.message, code: storageCode },
      });
    }
  }

  async function close(): Promise<void> {
    closing = true;
    clearInterval(heartbeat);
    for (const component of components) await component.stop?.();
    ingest?.close();
    // `close(true)` finalizes the prepared statements first; without it the
    // connection lingers until they are collected, and the WAL is neither
    // checkpointed nor removed.
    sqlite?.close(true);
    sqlite = null;
    send({ type: "closed" });
  }

  return {
    get sqlite() {
      return sqlite;
    },
    handle(message) {
      switch (message.type) {
        case "start":
          void start(message.options);
          return;
        case "batch":
          acceptBatch(message.batchId, message.batch);
          return;
        case "call":
          void runCommand(message.callId, message.command, message.args);
          return;
        case "close":
          void close();
          return;
      }
    },
  };
}
