/**
 * `serve`, the default command: receives webhooks and processes them until
 * SIGTERM or SIGINT. Its wiring (configuration → database and worker →
 * HTTP, and the signals) is `serve` in src/main.ts; this is its command
 * line.
 */
import { type CliCommand, type Env, parseCommandLine } from "./command.ts";

/** Runs the service with the environment; resolves to the exit code once it has stopped. */
export type ServeFunction = (env: Env) => Promise<number>;

/** The `serve` command over the wiring `serve`. */
export function createServeCommand(serve: ServeFunction): CliCommand {
  return {
    usage: `Usage: maildesk-receiver [serve]

Receives Maildesk webhooks on POST /webhooks/maildesk, stores each event
once, processes it in the background, and serves the query API (/api), its
docs (/docs), /healthz, /readyz and /metrics on HOST:PORT. Applies the
database migrations first. Needs WEBHOOK_VERIFIERS.

Stops on SIGTERM or SIGINT: refuses new connections, answers the requests in
flight (up to SHUTDOWN_TIMEOUT_MS), lets the worker finish its batch, closes
the database (exit code 0). A second signal exits at once (exit code 1).

Exit code 78 for a configuration error (the message names the variable), 1
when it cannot start (the port is taken, the database cannot be opened).`,

    async run(args, env) {
      parseCommandLine(args, {});
      return serve(env);
    },
  };
}
