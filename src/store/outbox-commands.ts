/**
 * The operator's outbox commands (replay, retry, retry dead letters) as the
 * SQLite backend carries them out: by a named command in the writer thread,
 * where the one writing connection is, offered by the outbox worker.
 *
 * Known shortcoming: until the worker registers these commands, the writer
 * answers "unknown command" and each method throws `CommandUnavailableError`
 * (the API answers 501). Wiring them is the names below, and the results
 * the worker's commands resolve to, read in `expectCount`.
 */
import { CommandUnavailableError } from "./errors.ts";
import type { OutboxCommands, RetryOutcome } from "./types.ts";
import { WriterCallError, type WriterLink } from "./writer-link.ts";

/** The writer commands behind each method, and the arguments they take. */
export const OUTBOX_COMMAND_NAMES = {
  /** `{ eventId }` → how many rows were made due, or `null` for no such event. */
  replay: "outbox.replay",
  /** `{ outboxId }` → a `RetryOutcome`. */
  retry: "outbox.retry",
  /** `{ handler? }` → how many dead rows were made due. */
  retryDead: "outbox.retryDead",
} as const;

/** Outbox commands through `writer`. */
export function createOutboxCommands(writer: Pick<WriterLink, "call">): OutboxCommands {
  async function call<T>(command: string, args: unknown): Promise<T> {
    try {
      return await writer.call<T>(command, args);
    } catch (error) {
      if (error instanceof WriterCallError && error.name === "UnknownWriterCommandError") {
        throw new CommandUnavailableError(command);
      }
      throw error;
    }
  }

  return {
    async replay(eventId) {
      const made = await call<number | null>(OUTBOX_COMMAND_NAMES.replay, { eventId });
      return made !== null;
    },
    retry(outboxId) {
      return call<RetryOutcome>(OUTBOX_COMMAND_NAMES.retry, { outboxId });
    },
    async retryDead(filter) {
      return expectCount(await call<unknown>(OUTBOX_COMMAND_NAMES.retryDead, filter));
    },
  };
}

function expectCount(value: unknown): number {
  if (typeof value === "number") return value;
  throw new TypeError(`the writer answered ${typeof value} where a count was expected`);
}
