/**
 * `admin-token [--rotate]`: prints the API token kept in the database (made
 * at first start when `ADMIN_TOKEN` is unset, or now), or replaces it.
 */
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

export const adminTokenCommand: CliCommand = {
  usage: `Usage: maildesk-receiver admin-token [--rotate]

Prints the bearer token of /api that is kept in the database when ADMIN_TOKEN
is unset (made at the first start, or now if there is none yet), alone on
stdout, e.g. TOKEN=$(maildesk-receiver admin-token).

Options:
  --rotate   Replace it with a new one, and print that. The old token stops
             working at once, in a running server too.

Exit code 1 when ADMIN_TOKEN is set: the API then takes that token, and none
is kept in the database.`,

  async run(args, env) {
    const { values } = parseCommandLine(args, { rotate: { type: "boolean" } });
    const config = loadCommandConfig(env);
    if (config.adminToken !== null) {
      complain(
        "maildesk-receiver: ADMIN_TOKEN is set; the API accepts that token, not a stored one. " +
          "Unset it to use the stored token.",
      );
      return EXIT_FAILURE;
    }

    const token = await withInlineStore(config, async (store) =>
      values.rotate ? store.adminToken.rotate() : (await store.adminToken.ensure()).token,
    );
    say(token);
    if (values.rotate)
      complain("maildesk-receiver: new token stored; the old one no longer works.");
    return EXIT_OK;
  },
};
