/**
 * The program: the command line (src/cli/program.ts) runs `serve` below
 * unless told another command. `serve` wires configuration → database
 * (with the worker in the writer thread) → HTTP, and handles signals.
 *
 * Exit codes: 0 after a clean stop, 64 for a wrong command line, 78 for a
 * configuration error (systemd can be told not to restart on it), 1 for a
 * failure to start (e.g. the port is taken).
 */
import type { Env } from "./cli/command.ts";
import { runCli } from "./cli/program.ts";
import { type Config, loadConfig } from "./config.ts";
import { createApp } from "./http/app.ts";
import { type ClientAddressResolver, createClientAddressResolver } from "./http/client-address.ts";
import { createLogger, type Logger } from "./log.ts";
import { createSqliteStore, type SqliteStore } from "./store/sqlite-store.ts";
import { createVerifierChain, type VerifierChain } from "./verify/chain.ts";

/**
 * The writer thread's entry point. `bun build --compile` is given it as a
 * second entry, and resolves this URL to it inside the binary.
 */
const WRITER_THREAD = new URL("./writer-thread.ts", import.meta.url);

/** Headroom over MAX_BODY_BYTES for Bun's own limit, so that ours answers first. */
const BUN_BODY_LIMIT_HEADROOM_BYTES = 1024 * 1024;

/**
 * Starts the service and resolves to the exit code once it has stopped. A
 * wrong setting throws a `ConfigError` (exit code 78, from the CLI).
 */
async function startService(env: Env): Promise<number> {
  const config = loadConfig(env);
  const log = createLogger(config.log);
  const chain = createVerifierChain(config, log);
  const clientAddress = createClientAddressResolver(config.trustedProxies);

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

process.exitCode = await runCli(process.argv.slice(2), process.env, startService);
process.exit();
