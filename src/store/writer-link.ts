/**
 * The HTTP thread's end of the writer: starts the writer (in its own thread,
 * or inline for the CLI and some tests), sends it batches and calls, and
 * routes its answers.
 *
 * If the writer thread dies (a bug, or the runtime killing it), every batch
 * and call in flight is failed as "storage unavailable" (none of them was
 * acknowledged, so Maildesk retries them) and a new thread is started.
 */
import type { Logger } from "../log.ts";
import { writeLogLine } from "../log.ts";
import { StorageUnavailableError } from "./errors.ts";
import type { EncodedBatch } from "./ingest-codec.ts";
import type { FromWriter, ToWriter, WriterStatus } from "./writer-protocol.ts";
import {
  type ComponentFactory,
  createWriterService,
  type WriterService,
  type WriterStartOptions,
} from "./writer-service.ts";

/** Wait before starting a new writer thread after one died. */
const RESTART_DELAY_MS = 500;

/** Where the writer runs. */
export type WriterPlacement =
  | { readonly kind: "thread"; readonly entry: URL }
  | { readonly kind: "inline"; readonly components?: ComponentFactory };

/** What the link does with batch answers; the ingest client implements it. */
export interface BatchListener {
  committed(batchId: number, outcomes: Uint8Array): void;
  failed(batchId: number, error: StorageUnavailableError): void;
  /** The writer went away: every batch in flight has failed. */
  lost(error: StorageUnavailableError): void;
}

/** A call failed in the writer; `name` is the original error's name. */
export class WriterCallError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface WriterLink {
  /** Resolves once the writer has opened the database; rejects if it cannot. */
  readonly ready: Promise<void>;
  sendBatch(batchId: number, batch: EncodedBatch): void;
  /** Runs a named command on the writing connection. */
  call<T = unknown>(command: string, args?: unknown): Promise<T>;
  /** The last status the writer reported, or `null` before the first. */
  status(): WriterStatus | null;
  /** Whether the writer is up (started, and not lost since). */
  isUp(): boolean;
  /** The inline writer's connection (tests that break storage on purpose). */
  readonly inlineConnection: WriterService["sqlite"];
  close(): Promise<void>;
}

interface Transport {
  post(message: ToWriter, transfer?: Bun.Transferable[]): void;
  terminate(): void;
}

/** Starts the writer and links it to `listener`. */
export function createWriterLink(
  placement: WriterPlacement,
  options: WriterStartOptions,
  listener: BatchListener,
  log: Logger,
): WriterLink {
  const calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextCallId = 1;
  let lastStatus: WriterStatus | null = null;
  let up = false;
  let closing = false;
  let inlineService: WriterService | null = null;
  let onClosed: (() => void) | null = null;
  let settleReady: { resolve(): void; reject(error: Error): void } | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = { resolve, reject };
  });
  let transport = start();

  function receive(message: FromWriter): void {
    switch (message.type) {
      case "ready":
        up = true;
        settleReady?.resolve();
        settleReady = null;
        return;
      case "start-failed": {
        const error = new StorageUnavailableError(message.storageCode ?? "UNKNOWN");
        settleReady?.reject(
          new Error(`the writer could not open the database: ${message.message}`),
        );
        settleReady = null;
        listener.lost(error);
        return;
      }
      case "committed":
        listener.committed(message.batchId, message.outcomes);
        return;
      case "batch-failed":
        listener.failed(message.batchId, new StorageUnavailableError(message.storageCode));
        return;
      case "call-result": {
        const call = calls.get(message.callId);
        calls.delete(message.callId);
        if (message.ok) call?.resolve(message.value);
        else {
          const { name = "Error", message: text = "", code } = message.error ?? {};
          call?.reject(new WriterCallError(name, text, code));
        }
        return;
      }
      case "heartbeat":
        lastStatus = message.status;
        return;
      case "log":
        writeLogLine(log, message.line);
        return;
      case "closed":
        up = false;
        onClosed?.();
        return;
    }
  }

  function start(): Transport {
    if (placement.kind === "inline") {
      // Deliver asynchronously both ways, as a thread would.
      inlineService = createWriterService(
        (message) => queueMicrotask(() => receive(message)),
        log.child({ component: "writer" }),
        placement.components,
      );
      const service = inlineService;
      const transport: Transport = {
        post: (message) => queueMicrotask(() => service.handle(message)),
        terminate: () => {},
      };
      transport.post({ type: "start", options });
      return transport;
    }

    const worker = new Worker(placement.entry);
    worker.onmessage = (event: MessageEvent<FromWriter>) => receive(event.data);
    worker.onerror = (event) => {
      log.error({ component: "store", err: event.message }, "writer thread failed");
      lose();
    };
    worker.addEventListener("close", () => {
      if (!closing) lose();
    });
    worker.postMessage({ type: "start", options } satisfies ToWriter);
    return {
      post: (message, transfer) => worker.postMessage(message, transfer ?? []),
      terminate: () => worker.terminate(),
    };
  }

  function lose(): void {
    const wasUp = up;
    up = false;
    const error = new StorageUnavailableError("WRITER_DOWN");
    listener.lost(error);
    for (const call of calls.values()) call.reject(error);
    calls.clear();
    settleReady?.reject(new Error("the writer thread stopped while starting"));
    settleReady = null;
    if (closing || !wasUp) return;
    transport.terminate();
    setTimeout(() => {
      if (closing) return;
      log.warn({ component: "store" }, "starting a new writer thread");
      transport = start();
    }, RESTART_DELAY_MS);
  }

  return {
    ready,
    sendBatch(batchId, batch) {
      transport.post({ type: "batch", batchId, batch }, [batch.bodies]);
    },
    call<T>(command: string, args?: unknown) {
      if (!up)
        return Promise.reject(new StorageUnavailableError(closing ? "CLOSED" : "WRITER_DOWN"));
      const callId = nextCallId++;
      return new Promise<T>((resolve, reject) => {
        calls.set(callId, { resolve: resolve as (value: unknown) => void, reject });
        transport.post({ type: "call", callId, command, args });
      });
    },
    status: () => lastStatus,
    isUp: () => up,
    get inlineConnection() {
      return inlineService?.sqlite ?? null;
    },
    async close() {
      if (closing) return;
      closing = true;
      if (!up) {
        transport.terminate();
        return;
      }
      await new Promise<void>((resolve) => {
        onClosed = resolve;
        transport.post({ type: "close" });
      });
      transport.terminate();
    },
  };
}
