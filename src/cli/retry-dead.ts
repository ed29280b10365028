/** `retry-dead [--handler <name>]`: moves every dead outbox row back to pending. */
import { type CliCommand, EXIT_OK, loadCommandConfig, parseCommandLine, say } from "./command.ts";
import { withInlineStore } from "./inline-store.ts";

export const retryDeadCommand: CliCommand = {
  usage: `Usage: maildesk-receiver retry-dead [--handler <name>]

Moves every dead outbox row (of one handler, e.g. forward or subscribers,
with --handler) back to pending, due now, with no attempts. Finding none is
not an error.`,

  async run(args, env) {
    const { values } = parseCommandLine(args, { handler: { type: "string" } });
    const config = loadCommandConfig(env);

    const { retried } = await withInlineStore(config, (store) =>
      store.outbox.retryDead({ handler: values.handler }),
    );
    const which = values.handler ? ` of handler "${values.handler}"` : "";
    say(`${retried} dead row${retried === 1 ? "" : "s"}${which} moved back to pending`);
    return EXIT_OK;
  },
};
