/**
 * The worker as a component of the writer thread: it builds the handlers
 * that are on, registers the outbox commands, wakes the worker when events
 * were committed, and reports its status with the writer's heartbeat.
 *
 * With `runWorker: false` (the CLI, beside a server that runs its own) only
 * the commands are registered; no row is claimed.
 */
import type { Database } from "bun:sqlite";
import type { Config } from "../config.ts";
import { OUTBOX_COMMANDS } from "../store/writer-protocol.ts";
import type { WriterComponent, WriterContext } from "../store/writer-service.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Handler } from "./handler.ts";
import { createForwardHandler } from "./handlers/forward.ts";
import { FORWARD_HANDLER, SUBSCRIBERS_HANDLER } from "./handlers/names.ts";
import { createSubscribersHandler } from "./handlers/subscribers.ts";
import { createOutboxCommands } from "./outbox-commands.ts";
import { createOutboxWorker } from "./outbox-worker.ts";

/** Creates the component; the loop starts at once unless `runWorker` is false. */
export function createWorkerComponent(
  context: WriterContext,
  clock: Clock = systemClock,
): WriterComponent {
  const { sqlite, log, options } = context;
  const commands = createOutboxCommands(sqlite, options.handlers, clock);
  const worker =
    options.runWorker === false
      ? null
      : createOutboxWorker({
          sqlite,
          handlers: createHandlers(sqlite, options.config, options.handlers, clock),
          settings: options.config.worker,
          log,
          clock,
        });
  worker?.start();

  return {
    name: "worker",
    commands: {
      [OUTBOX_COMMANDS.replay]: (args: { eventId: string }) => {
        const result = commands.replayEvent(args.eventId);
        worker?.wake();
        return result;
      },
      [OUTBOX_COMMANDS.retry]: (args: { outboxId: number }) => {
        const result = commands.retryRow(args.outboxId);
        worker?.wake();
        return result;
      },
      [OUTBOX_COMMANDS.retryDead]: (args: { handler?: string }) => {
        const result = commands.retryDead(args.handler);
        worker?.wake();
        return result;
      },
    },
    ready: worker?.started,
    status: () => worker?.status(),
    onEventsCommitted: (count) => worker?.eventsCommitted(count),
    stop: async () => worker?.stop(),
  };
}

/** The handlers named in `names`, built over the writing connection. */
export function createHandlers(
  sqlite: Database,
  config: Config,
  names: readonly string[],
  clock: Clock,
): Handler[] {
  return names.map((name) => {
    if (name === SUBSCRIBERS_HANDLER) return createSubscribersHandler(sqlite);
    if (name === FORWARD_HANDLER && config.forward)
      return createForwardHandler(config.forward, clock);
    throw new Error(`no handler "${name}" can be built from this configuration`);
  });
}
