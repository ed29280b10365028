/**
 * The command line: `serve` (the default), `migrate`, `admin-token`, and the
 * outbox commands `replay`, `retry`, `retry-dead` (src/cli/outbox.ts). `serve`
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
import { type ClientAddressResolver, createClientAddressResolver } from "./http/client-address.ts";
import { createLogger, type Logger } from "./log.ts";
import { openDatabase } from "./store/database.ts";
import { createSqliteStore, type SqliteStore } from "./store/sqlite-store.ts";
import { createVerifierChain, type VerifierChain } from "./verify/chain.ts";
import { createWriterComponents } from "./writer-components.ts";

const USAGE = `Usage: maildesk-receiver [command]

Commands:
  serve                        Receive webhooks and process them (the default)
  migrate                      Apply the database migrations and exit
  admin-token [--rotate]       Print the API token kept in the database (made at
                               first start when ADMIN_TOKEN is unset); --rotate
                               replaces it (the old one stops working)
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
  if (command !== "serve" && command !== "migrate" && command !== "admin-token" && !outboxCommand) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let config: Config;
  let log: Logger;
  let chain: VerifierChain;
  let clientAddress: ClientAddressResolver;
  try {
    config = loadConfig(process.env);
    if (command === "admin-token") return printAdminToken(config, argv.slice(1));
    log = createLogger(config.log);
    chain = createVerifierChain(config, log);
    clientAddress = createClientAddressResolver(config.trustedProxies);
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
  return serve(config, log, store, chain, clientAddress);
}

async function serve(
  config: Config,
  log: Logger,
  store: SqliteStore,
  chain: VerifierChain,
  clientAddress: ClientAddressResolver,
) {
  if (config.adminToken === null) await announceGeneratedToken(store, log);
  const app = createApp({ config, store, chain, clientAddress, log });
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
    {
      component: "main",
      host: config.host,
      port: app.server?.port,
      verifiers: chain.names,
      trustedProxies: config.trustedProxies.length,
    },
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

/**
 * Makes the admin token on the first start without `ADMIN_TOKEN`, and prints
 * it that once, on stderr rather than in the JSON log, which may be shipped
 * elsewhere.
 */
async function announceGeneratedToken(store: SqliteStore, log: Logger): Promise<void> {
  const { token, created } = await store.adminToken.ensure();
  if (!created) {
    log.info({ component: "main" }, "API token: the one kept in the database (ADMIN_TOKEN unset)");
    return;
  }
  process.stderr.write(
    `maildesk-receiver: generated the API bearer token (ADMIN_TOKEN is unset): ${token}\n` +
      "  It is not shown again at later starts; `maildesk-receiver admin-token` prints it, " +
      "`admin-token --rotate` replaces it.\n",
  );
  log.info({ component: "main" }, "API token generated and printed once on stderr");
}

/** `admin-token [--rotate]`: prints (or replaces, then prints) the stored token. */
async function printAdminToken(config: Config, args: string[]): Promise<number> {
  const rotate = args.includes("--rotate");
  if (args.some((arg) => arg !== "--rotate")) {
    process.stderr.write(`Unknown option for admin-token.\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (config.adminToken !== null) {
    process.stderr.write(
      "maildesk-receiver: ADMIN_TOKEN is set; the API accepts that token, not a stored one. " +
        "Unset it to use the stored token.\n",
    );
    return 1;
  }

  // stdout carries the token alone (for `$(…)`); warnings go to stderr.
  const log = createLogger(
    { ...config.log, level: "warn" },
    { write: (line: string) => process.stderr.write(line) },
  );
  // The writer runs inline: this command is its own short-lived process.
  const store = await createSqliteStore(config, log, {
    kind: "inline",
    components: createWriterComponents,
  });
  try {
    const token = rotate
      ? await store.adminToken.rotate()
      : (await store.adminToken.ensure()).token;
    process.stdout.write(`${token}\n`);
    if (rotate)
      process.stderr.write("maildesk-receiver: new token stored; the old one no longer works.\n");
    return 0;
  } finally {
    await store.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
process.exit();
