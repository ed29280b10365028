/** `replay <eventId>`: runs every handler of a stored event again. */
import {
  type CliCommand,
  complain,
  EXIT_FAILURE,
  EXIT_OK,
  loadCommandConfig,
  parseCommandLine,
  say,
} from "./command.ts";
import { withInlineStore } from "./inline-store.ts";

export const replayCommand: CliCommand = {
  usage: `Usage: maildesk-receiver replay <eventId>

Runs every handler of a stored event again: its outbox rows go back to
pending, due now, with no attempts (rows being processed right now are left
to finish), and handlers that are on but have no row for it get one. A
server running on the same database picks them up at its next poll.

Exit code 1 when no stored event has that eventId.`,

  async run(args, env) {
    const [eventId] = parseCommandLine(args, {}, { min: 1, max: 1 }).positionals as [string];
    const config = loadCommandConfig(env);

    const result = await withInlineStore(config, (store) => store.outbox.replayEvent(eventId));
    if (!result.found) {
      complain(`no stored event has the eventId "${eventId}"`);
      return EXIT_FAILURE;
    }
    say(
      `event "${eventId}" replayed: ${result.reset} row(s) reset, ${result.added} added, ` +
        `${result.processing} left to the attempt under way`,
    );
    return EXIT_OK;
  },
};
