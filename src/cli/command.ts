/**
 * What a command of the command line is, and the pieces every command
 * shares: the exit codes, the usage error, the argument parser, the
 * configuration and the logger of a short-lived command.
 *
 * Exit codes: 0 done, 1 a runtime failure (or nothing could be done), 64 a
 * wrong command line, 78 a configuration error (systemd is told not to
 * restart on it: `RestartPreventExitStatus=78`).
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { type Config, loadConfig } from "../config.ts";
import { createLogger, type Logger } from "../log.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;

/** The process environment, or a test's own. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One command: its help text and what it does. */
export interface CliCommand {
  /** What `<command> --help` prints; it starts with `Usage: maildesk-receiver <command>`. */
  readonly usage: string;
  /**
   * Runs the command and resolves to its exit code. Throws a `UsageError`
   * for a wrong command line and a `ConfigError` for a wrong setting; the
   * dispatcher turns them into exit codes 64 and 78.
   */
  run(args: string[], env: Env): Promise<number>;
}

/** A wrong command line: the message says what is wrong, the usage follows it. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses a command's options with `node:util`'s `parseArgs` (strict: an
 * unknown option is an error) and checks the number of positional
 * arguments; every mistake is a `UsageError`.
 */
export function parseCommandLine<const T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  positionals: { readonly min: number; readonly max: number } = { min: 0, max: 0 },
) {
  let parsed: ReturnType<typeof parseStrict<T>>;
  try {
    parsed = parseStrict(args, options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = parsed.positionals.length;
  if (count > positionals.max) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[positionals.max]}".`);
  }
  if (count < positionals.min) {
    throw new UsageError(
      positionals.min === 1 ? "An argument is missing." : "Arguments are missing.",
    );
  }
  return parsed;
}

function parseStrict<const T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/**
 * The configuration of a command that receives no webhooks: an unset
 * `WEBHOOK_VERIFIERS` is not an error for it (see `loadConfig`).
 */
export function loadCommandConfig(env: Env): Config {
  return loadConfig(env, { requireVerifiers: false });
}

/**
 * The logger of a command: JSON lines on stderr, so that stdout carries
 * the command's answer alone (e.g. for `$(maildesk-receiver admin-token)`).
 * The default level, info, becomes warn: a command's own lifecycle (the
 * database opened, the writer started) is noise on a terminal.
 */
export function createCommandLogger(config: Config): Logger {
  const level = config.log.level === "info" ? "warn" : config.log.level;
  return createLogger(
    { ...config.log, level },
    { write: (line: string) => process.stderr.write(line) },
  );
}

/** Writes a line to stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes a line to stderr. */
export function complain(line: string): void {
  process.stderr.write(`${line}\n`);
}
