/**
 * `config [--json]`: the configuration in effect (the environment, the
 * `.env` file and the defaults), with every secret masked, and whether
 * `serve` would start with it.
 *
 * Masking is done where the variables are declared (`describeSettings` in
 * src/config.ts): secret values never reach this module.
 */
import { resolve } from "node:path";
import { ConfigError, describeSettings, loadConfig, type SettingView } from "../config.ts";
import { assertVerifierSettings } from "../verify/chain.ts";
import {
  type CliCommand,
  complain,
  type Env,
  EXIT_CONFIG,
  EXIT_OK,
  loadCommandConfig,
  parseCommandLine,
} from "./command.ts";

export const configCommand: CliCommand = {
  usage: `Usage: maildesk-receiver config [--json]

Prints every setting in effect, from the environment (and a .env file in the
working directory) or its default, as an aligned table or as JSON. Tokens,
passwords and secrets are masked (how many values are set is shown), and so
are the user, password, query values and fragment of FORWARD_URL.

Then checks what serve checks at start (WEBHOOK_VERIFIERS is set, each
listed verifier has its settings): exit code 0 if serve would start, 78 if
not, with the reason on stderr. A malformed value is reported the same way,
without the table.

Options:
  --json     One JSON object: {"variables": {NAME: {value, source, masked}},
             "databaseFile": "/absolute/path"}.`,

  async run(args, env) {
    const { values } = parseCommandLine(args, { json: { type: "boolean" } });
    const config = loadCommandConfig(env);
    const settings = describeSettings(env);
    const databaseFile = resolve(config.databasePath);

    process.stdout.write(
      values.json ? formatJson(settings, databaseFile) : formatTable(settings, databaseFile),
    );
    const problem = findServeProblem(env);
    if (problem) {
      complain(`maildesk-receiver: serve would not start: ${problem}`);
      return EXIT_CONFIG;
    }
    return EXIT_OK;
  },
};

function formatJson(settings: readonly SettingView[], databaseFile: string): string {
  const variables = Object.fromEntries(
    settings.map(({ name, value, source, masked }) => [name, { value, source, masked }]),
  );
  return `${JSON.stringify({ variables, databaseFile }, null, 2)}\n`;
}

function formatTable(settings: readonly SettingView[], databaseFile: string): string {
  const rows = [
    ["VARIABLE", "VALUE", "SOURCE"],
    ...settings.map(({ name, value, source }) => [
      name,
      value === null ? "-" : String(value),
      source,
    ]),
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const lines = rows.map(([name, value, source]) =>
    `${name?.padEnd(widths[0] ?? 0)}  ${value?.padEnd(widths[1] ?? 0)}  ${source}`.trimEnd(),
  );
  return `${lines.join("\n")}\n\ndatabase file: ${databaseFile}\n`;
}

/** What would stop `serve`, beyond the values' own rules; `null` if nothing. */
function findServeProblem(env: Env): string | null {
  try {
    const strict = loadConfig(env);
    assertVerifierSettings(strict);
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}
