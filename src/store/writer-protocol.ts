/**
 * The messages between the HTTP thread and the writer thread.
 *
 * Batches of events go as one JSON text and one transferred buffer each (see
 * ingest-codec.ts)
 * and are answered, in order, with one outcome per event. Everything else is
 * a call: a named command with structured-clonable arguments, answered once.
 */
import type { EncodedBatch } from "./ingest-codec.ts";
import type { WriterStartOptions } from "./writer-service.ts";

/** The writer commands of the outbox, registered by the worker's component. */
export const OUTBOX_COMMANDS = {
  replay: "outbox.replay",
  retry: "outbox.retry",
  retryDead: "outbox.retry-dead",
} as const;

/** One event's outcome in a batch reply. */
export const OUTCOME = { accepted: 0, duplicate: 1, duplicateBodyDiffers: 2 } as const;

/** From the HTTP thread to the writer thread. */
export type ToWriter =
  | { readonly type: "start"; readonly options: WriterStartOptions }
  | { readonly type: "batch"; readonly batchId: number; readonly batch: EncodedBatch }
  | {
      readonly type: "call";
      readonly callId: number;
      readonly command: string;
      readonly args: unknown;
    }
  | { readonly type: "close" };

/** From the writer thread to the HTTP thread. */
export type FromWriter =
  | { readonly type: "ready" }
  | { readonly type: "start-failed"; readonly message: string; readonly storageCode?: string }
  | { readonly type: "committed"; readonly batchId: number; readonly outcomes: Uint8Array }
  | { readonly type: "batch-failed"; readonly batchId: number; readonly storageCode: string }
  | {
      readonly type: "call-result";
      readonly callId: number;
      readonly ok: boolean;
      readonly value?: unknown;
      readonly error?: { readonly name: string; readonly message: string; readonly code?: string };
    }
  | { readonly type: "heartbeat"; readonly status: WriterStatus }
  | { readonly type: "log"; readonly line: string }
  | { readonly type: "closed" };

/** What the writer thread reports about itself with every heartbeat. */
export interface WriterStatus {
  readonly at: number;
  readonly commits: number;
  readonly deliveriesWritten: number;
  readonly deliveriesDropped: number;
  readonly deliveriesQueued: number;
  /** Components hosted by the writer thread report here (the outbox worker). */
  readonly components: Readonly<Record<string, unknown>>;
}
