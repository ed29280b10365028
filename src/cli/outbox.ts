/**
 * The outbox commands of the command line: `replay <eventId>`,
 * `retry <outboxId>` and `retry-dead [--handler name]`.
 *
 * They run the writer inline in this process, with the worker's commands
 * but without its loop: a server may be running on the same file at the
 * same time (its worker picks the rows up at its next poll), and each
 * command holds the write lock for one short transaction, which the
 * server's busy timeout covers.
 *
 * Exit codes: 0 when something changed (or `retry-dead` found nothing to
 * do), 1 when nothing could be done (unknown event or row, a row that is
 * not dead), 64 for a wrong command line.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { createSqliteStore } from "../store/sqlite-store.ts";
import type { OutboxControl } from "../store/types.ts";
import { createWriterComponents } from "../writer-components.ts";

export const OUTBOX_COMMANDS = ["replay", "retry", "retry-dead"] as const;

export type OutboxCommandName = (typeof OUTBOX_COMMANDS)[number];

const EXIT_NOTHING_DONE = 1;
const EXIT_USAGE = 64;

/** Each command's help text. */
export const OUTBOX_USAGE: Record<OutboxCommandName, string> = {
  replay: `Usage: maildesk-receiver replay <eventId>

Runs every handler of a stored event again: its outbox rows go back to
pending, due now, with no attempts (rows being processed right now are left
to finish), and handlers that are on but have no row for it get one.`,
  retry: `Usage: maildesk-receiver retry <outboxId>

Moves one dead outbox row back to pending, due now, with no attempts, so
that it gets the whole retry schedule again. A row that is not dead is left
alone (exit code 1).`,
  "retry-dead": `Usage: maildesk-receiver retry-dead [--handler <name>]

Moves every dead outbox row (of one handler, e.g. forward) back to pending,
due now, with no attempts.`,
};

/** Whether `argv` asks for a command's help. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Runs `command` with its arguments; returns the exit code. */
export async function runOutboxCommand(
  command: OutboxCommandName,
  argv: string[],
  config: Config,
  log: Logger,
): Promise<number> {
  let run: (outbox: OutboxControl) => Promise<number>;
  try {
    run = parseCommand(command, argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${OUTBOX_USAGE[command]}\n`);
    return EXIT_USAGE;
  }

  const store = await createSqliteStore(
    config,
    log,
    { kind: "inline", components: createWriterComponents },
    { runWorker: false },
  );
  try {
    return await run(store.outbox);
  } finally {
    await store.close();
  }
}

function parseCommand(command: OutboxCommandName, argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { handler: { type: "string" } },
    allowPositionals: true,
  });

  if (command === "retry-dead") {
    if (positionals.length > 0) throw new Error(`Unexpected argument "${positionals[0]}".`);
    return async (outbox: OutboxControl) => {
      const { retried } = await outbox.retryDead({ handler: values.handler });
      const which = values.handler ? ` of handler "${values.handler}"` : "";
      say(`${retried} dead row${retried === 1 ? "" : "s"}${which} moved back to pending`);
      return 0;
    };
  }

  if (values.handler !== undefined) throw new Error("--handler belongs to retry-dead.");
  const [target, extra] = positionals;
  if (!target || extra !== undefined) throw new Error("Give exactly one argument.");

  if (command === "replay") {
    return async (outbox: OutboxControl) => {
      const result = await outbox.replayEvent(target);
      if (!result.found) return fail(`no stored event has the eventId "${target}"`);
      say(
        `event "${target}" replayed: ${result.reset} row(s) reset, ${result.added} added, ` +
          `${result.processing} left to the attempt under way`,
      );
      return 0;
    };
  }

  if (!/^\d+$/.test(target)) throw new Error(`The outbox id must be a number; got "${target}".`);
  const outboxId = Number(target);
  return async (outbox: OutboxControl) => {
    const result = await outbox.retryRow(outboxId);
    if (!result.found) return fail(`no outbox row has the id ${outboxId}`);
    if (!result.retried)
      return fail(`outbox row ${outboxId} is ${result.state}, not dead: left alone`);
    say(`outbox row ${outboxId} moved back to pending`);
    return 0;
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(line: string): number {
  process.stderr.write(`${line}\n`);
  return EXIT_NOTHING_DONE;
}
