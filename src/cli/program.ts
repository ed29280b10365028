/**
 * The command line: finds the command, prints help, runs it, and turns its
 * errors into exit codes. Each command lives in a module of its own,
 * loaded only when it runs, so that e.g. `config` does not load what
 * `backup` needs.
 */
import packageJson from "../../package.json" with { type: "json" };
import { ConfigError } from "../config.ts";
import {
  type CliCommand,
  complain,
  type Env,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  say,
  UsageError,
} from "./command.ts";
import { createServeCommand, type ServeFunction } from "./serve.ts";

/** The commit a binary was built from (`--define` in scripts/build.ts); absent from source. */
declare const BUILD_COMMIT: string | undefined;

interface CommandEntry {
  readonly name: string;
  /** The command and its arguments, as the program's help lists them. */
  readonly synopsis: string;
  readonly summary: string;
  /** Loads the command's module; `serve` is built from the wiring instead. */
  readonly load?: () => Promise<CliCommand>;
}

const COMMANDS: readonly CommandEntry[] = [
  { name: "serve", synopsis: "serve", summary: "Receive webhooks and process them (the default)" },
  {
    name: "migrate",
    synopsis: "migrate",
    summary: "Apply the database migrations and exit",
    load: () => import("./migrate.ts").then((m) => m.migrateCommand),
  },
  {
    name: "config",
    synopsis: "config [--json]",
    summary: "Print the settings in effect, secrets masked; check them",
    load: () => import("./config.ts").then((m) => m.configCommand),
  },
  {
    name: "admin-token",
    synopsis: "admin-token [--rotate]",
    summary: "Print (or replace) the API token kept in the database",
    load: () => import("./admin-token.ts").then((m) => m.adminTokenCommand),
  },
  {
    name: "send",
    synopsis: "send [file ...] [options]",
    summary: "Sign and deliver sample events like Maildesk, with retries",
    load: () => import("./send.ts").then((m) => m.sendCommand),
  },
  {
    name: "replay",
    synopsis: "replay <eventId>",
    summary: "Run every handler of a stored event again",
    load: () => import("./replay.ts").then((m) => m.replayCommand),
  },
  {
    name: "retry",
    synopsis: "retry <outboxId>",
    summary: "Move one dead outbox row back to pending",
    load: () => import("./retry.ts").then((m) => m.retryCommand),
  },
  {
    name: "retry-dead",
    synopsis: "retry-dead [--handler <name>]",
    summary: "Move every dead outbox row back to pending",
    load: () => import("./retry-dead.ts").then((m) => m.retryDeadCommand),
  },
  {
    name: "backup",
    synopsis: "backup <file> [--force]",
    summary: "Copy the database consistently, also while it serves",
    load: () => import("./backup.ts").then((m) => m.backupCommand),
  },
];

const width = Math.max(...COMMANDS.map((command) => command.synopsis.length), 14) + 2;

const PROGRAM_USAGE = `Usage: maildesk-receiver [command] [arguments]

Receives Maildesk webhooks, stores each event exactly once, and processes it.

Commands:
${COMMANDS.map((c) => `  ${c.synopsis.padEnd(width)}${c.summary}`).join("\n")}
  ${"help [command]".padEnd(width)}Show this text, or a command's
  ${"version".padEnd(width)}Print the version

"maildesk-receiver <command> --help" explains a command and its options.
Settings come from the environment (and a .env file in the working
directory); "maildesk-receiver config" shows them. See the README.

Exit codes: 0 done, 1 failed, 64 wrong command line, 78 configuration error.`;

/**
 * Runs the command line `argv` (without the program's own name) with
 * `env`; `serve` is the wiring of the service. Resolves to the exit code.
 */
export async function runCli(argv: string[], env: Env, serve: ServeFunction): Promise<number> {
  const [first = "serve", ...args] = argv;
  if (first === "help" || first === "--help" || first === "-h") return showHelp(args[0], serve);
  if (first === "version" || first === "--version" || first === "-V") {
    const commit = typeof BUILD_COMMIT === "string" ? `commit ${BUILD_COMMIT}` : "from source";
    say(`maildesk-receiver ${packageJson.version} (${commit}, Bun ${Bun.version})`);
    return EXIT_OK;
  }

  const command = await findCommand(first, serve);
  if (!command) return refuseUnknown(first);
  if (args.includes("--help") || args.includes("-h")) {
    say(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(args, env);
  } catch (error) {
    return reportFailure(first, command, error);
  }
}

async function showHelp(name: string | undefined, serve: ServeFunction): Promise<number> {
  if (name === undefined) {
    say(PROGRAM_USAGE);
    return EXIT_OK;
  }
  const command = await findCommand(name, serve);
  if (!command) return refuseUnknown(name);
  say(command.usage);
  return EXIT_OK;
}

async function findCommand(name: string, serve: ServeFunction): Promise<CliCommand | null> {
  const entry = COMMANDS.find((command) => command.name === name);
  if (!entry) return null;
  return entry.load ? entry.load() : createServeCommand(serve);
}

function refuseUnknown(name: string): number {
  complain(`Unknown command "${name}"; "maildesk-receiver help" lists the commands.`);
  return EXIT_USAGE;
}

function reportFailure(name: string, command: CliCommand, error: unknown): number {
  if (error instanceof UsageError) {
    complain(`${error.message}\n\n${command.usage}`);
    return EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    const what = name === "serve" ? "cannot start" : `${name}: configuration error`;
    complain(`maildesk-receiver: ${what}: ${error.message}`);
    return EXIT_CONFIG;
  }
  complain(`maildesk-receiver ${name}: failed: ${(error as Error)?.stack ?? String(error)}`);
  return EXIT_FAILURE;
}
