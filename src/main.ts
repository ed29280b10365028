/**
 * The command line: `serve` (the default) and `migrate`. `serve` wires
 * configuration → database → HTTP, and handles signals.
 *
 * Exit codes: 0 after a clean stop, 64 for a wrong command line, 78 for a
 * configuration error (systemd can be told not to restart on it), 1 for a
 * failure to start (e.g. the port is taken).
 */
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { createApp } from "./http/app.ts";
import { type ClientAddressResolver, createClientAddressResolver } from "./http/client-address.ts";
import { createLogger, type Logger } from "./log.ts";
import { createSqliteStore, type SqliteStore } from "./store/sqlite-store.ts";
import { createVerifierChain, type VerifierChain } from "./verify/chain.ts";

const USAGE = `Usage: maildesk-receiver [command]

Commands:
  serve      Receive webhooks (the default)
  migrate    Apply the database migrations and exit
  help       Show this text

Settings come from the environment (and a .env file); see the README.`;

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
  if (command !== "serve" && command !== "migrate") {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let config: Config;
  let log: Logger;
  let chain: VerifierChain;
  let clientAddress: ClientAddressResolver;
  try {
    config = loadConfig(process.env);
    log = createLogger(config.log);
    chain = createVerifierChain(config, log);
    clientAddress = createClientAddressResolver(config.trustedProxies);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`maildesk-receiver: cannot start: ${error.message}\n`);
    return EXIT_CONFIG;
  }

  const store = createSqliteStore(config, log);
  if (command === "migrate") {
    await store.close();
    log.info({ component: "main" }, "migrations applied");
    return 0;
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

process.exitCode = await main(process.argv.slice(2));
process.exit();
