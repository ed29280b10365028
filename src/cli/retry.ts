/** `retry <outboxId>`: moves one dead outbox row back to pending. */
import {
  type CliCommand,
  complain,
  EXIT_FAILURE,
  EXIT_OK,
  loadCommandConfig,
  parseCommandLine,
  say,
  UsageError,
} from "./command.ts";
import { withInlineStore } from "./inline-store.ts";

export const retryCommand: CliCommand = {
  usage: `Usage: maildesk-receiver retry <outboxId>

Moves one dead outbox row back to pending, due now, with no attempts, so
that it gets the whole retry schedule again. A row that is not dead is left
alone (exit code 1). The ids are in GET /api/outbox?state=dead.`,

  async run(args, env) {
    const [target] = parseCommandLine(args, {}, { min: 1, max: 1 }).positionals as [string];
    if (!/^\d+$/.test(target)) {
      throw new UsageError(`The outbox id must be a number; got "${target}".`);
    }
    const outboxId = Number(target);
    const config = loadCommandConfig(env);

    const result = await withInlineStore(config, (store) => store.outbox.retryRow(outboxId));
    if (!result.found) {
      complain(`no outbox row has the id ${outboxId}`);
      return EXIT_FAILURE;
    }
    if (!result.retried) {
      complain(`outbox row ${outboxId} is ${result.state}, not dead: left alone`);
      return EXIT_FAILURE;
    }
    say(`outbox row ${outboxId} moved back to pending`);
    return EXIT_OK;
  },
};
