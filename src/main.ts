/**
 * The command line: `serve` (the default), `migrate`, and the outbox
 * commands `replay`, `retry`, `retry-dead` (src/cli/outbox.ts). `serve`
 * wires configuration → database (with the worker in the writer thread) →
 * HTTP, and handles signals.
 *
 * Exit codes: 0 after a clean stop, 64 for a wrong command line, 78 for a
 * configuration error (systemd can be told not to restart on it), 1 for a
 * failure to start (e.g. the port is taken).
 */
import { OUTBOX_COMMANDS, OUTBOX_USAGE, runOutboxCommand, wantsHelp } from "./cli/outbox.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { createApp } from "./http/app.ts";
import { createLogger, type Logger } from "./log.ts";
import { openDatabase } from "./store/database.ts";
import { createSqliteStore, type SqliteStore } from "./store/sqlite-store.ts";
import { createVerifierChain, type VerifierChain } from "./verify/chain.ts";
import { checkWorkerAlive } from "./worker/readiness.ts";

const USAGE = `Usage: maildesk-receiver [command]

Commands:
  serve                        Receive webhooks and process them (the default)
  migrate                      Apply the database migrations and exit
  replay <eventId>             Run every handler of a stored event again
  retry <outboxId>             Move one dead outbox row back to pending
  retry-dead [--handler name]  Move every dead outbox row back to pending
  help                         Show this text

"<command> --help" explains a command.

Settings come from the environment (and a .env file); see the README.`;

/** The writer thread's entry point; `bun build --compile` is given it as a second entry. */
const WRITER_THREAD = new URL("./writer-thread.ts", import.meta.url);

const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;

/** Headroom over MAX_BODY_BYTES for Bun's own limit, so that ours answers first. */
const BUN_BODY_LIMIT_HEADROOM_BYTES = 1024 * 1024;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? "serve";
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const outboxCommand = OUTBOX_COMMANDS.find((name) => name === command);
  if (outboxCommand && wantsHelp(argv)) {
    process.stdout.write(`${OUTBOX_USAGE[outboxCommand]}\n`);
    return 0;
  }
  if (command !== "serve" && command !== "migrate" && !outboxCommand) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let config: Config;
  let log: Logger;
  let chain: VerifierChain;
  try {
    config = loadConfig(process.env);
    log = createLogger(config.log);
    chain = createVerifierChain(config, log);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`maildesk-receiver: cannot start: ${error.message}\n`);
    return EXIT_CONFIG;
  }

  if (outboxCommand) {
    // stdout carries the command's answer; the logs go to stderr.
    const cliLog = createLogger(config.log, {
      write: (line: string) => process.stderr.write(line),
    });
    return runOutboxCommand(outboxCommand, argv.slice(1), config, cliLog);
  }

  if (command === "migrate") {
    const { sqlite, migrationsApplied } = openDatabase(config.databasePath, {
      busyTimeoutMs: config.sqliteBusyTimeoutMs,
    });
    sqlite.close();
    log.info({ component: "main", migrations: migrationsApplied }, "migrations applied");
    return 0;
  }

  let store: SqliteStore;
  try {
    store = await createSqliteStore(config, log, { kind: "thread", entry: WRITER_THREAD });
  } catch (error) {
    log.fatal(
      { component: "main", err: error, path: config.databasePath },
      "cannot open the database",
    );
    return 1;
  }
  return serve(config, log, chain, store);
}

async function serve(config: Config, log: Logger, chain: VerifierChain, store: SqliteStore) {
  const app = createApp({
    config,
    store,
    chain,
    log,
    readinessChecks: {
      worker: () => checkWorkerAlive(store.workerStatus(), Date.now(), config.worker.pollMs),
    },
  });
  try {
    app.listen({
      port: config.port,
      hostname: config.host,
      // Elysia turns reusePort on by default; a second instance on the same
      // port must fail rather than silently share it.
      reusePort: false,
      maxRequestBodySize: config.maxBodyBytes + BUN_BODY_LIMIT_HEADROOM_BYTES,
    });
  } catch (error) {
    log.fatal(
      { component: "main", err: error, host: config.host, port: config.port },
      "cannot listen",
    );
    await store.close();
    return 1;
  }
  log.info(
    { component: "main", host: config.host, port: app.server?.port, verifiers: chain.names },
    "listening",
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        log.warn({ component: "main", signal }, "second signal: exiting now");
        resolve(1);
        return;
      }
      stopping = true;
      log.info(
        { component: "main", signal, timeoutMs: config.shutdownTimeoutMs },
        "shutting down: refusing new connections, answering requests in flight",
      );
      const timedOut = await Promise.race([
        Promise.resolve(app.server?.stop(false)).then(() => false),
        Bun.sleep(config.shutdownTimeoutMs).then(() => true),
      ]);
      if (timedOut) {
        log.warn({ component: "main" }, "requests still in flight after the timeout; closing them");
        await app.server?.stop(true);
      }
      log.info({ component: "main" }, "writing what is queued, then closing the database");
      await store.close();
      log.info({ component: "main" }, "stopped");
      resolve(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  });
}

process.exitCode = await main(process.argv.slice(2));
process.exit();
