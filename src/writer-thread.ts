/**
 * The writer thread's entry point: it wires the writing connection to what
 * needs it (the ingest writer, the outbox worker), as `main.ts` wires the
 * HTTP thread.
 *
 * Holding the only writing connection in a thread of its own keeps SQLite
 * work and the fsync of every commit off the thread that serves HTTP: while
 * one commit waits for the disk, the HTTP thread goes on verifying and
 * parsing the next requests. The thread's log lines are handed to the HTTP
 * thread, which writes them to the one log stream of the process.
 */
import { createLogger } from "./log.ts";
import type { FromWriter, ToWriter } from "./store/writer-protocol.ts";
import { createWriterService, type WriterService } from "./store/writer-service.ts";
import { createWriterComponents } from "./writer-components.ts";

declare const self: Worker;

function send(message: FromWriter, transfer?: Bun.Transferable[]): void {
  self.postMessage(message, transfer ?? []);
}

let service: WriterService | undefined;

self.onmessage = (event: MessageEvent<ToWriter>) => {
  const message = event.data;
  if (message.type === "start") {
    const log = createLogger(message.options.config.log, {
      write: (line: string) => send({ type: "log", line }),
    });
    service = createWriterService(send, log, createWriterComponents);
  }
  service?.handle(message);
};
