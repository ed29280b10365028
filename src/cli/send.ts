/**
 * `bun run send [event.json] [--url URL]`: delivers one event to a running
 * receiver the way Maildesk would, signed for the verifiers configured in the
 * same environment as the service (`WEBHOOK_VERIFIERS` and their settings),
 * and prints the answer. Without a file, a sample `subscriber.created` event
 * with a new ULID eventId is sent; a file is sent byte for byte.
 *
 * Exit codes: 0 for a 2xx answer, 1 for any other answer or no answer, 64
 * for a wrong command line, 78 for a configuration error.
 *
 * Known shortcoming: one attempt only; Maildesk itself retries with growing
 * delays. Retries would be a loop around `sendEvent` with a backoff.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { createVerifierChain } from "../verify/chain.ts";
import { createRequestSigner } from "./request-signer.ts";

const USAGE = `Usage: send [event.json] [--url URL]

Sends one event (a sample one, or the file's bytes) to the receiver at URL
(default http://localhost:$PORT), signed for WEBHOOK_VERIFIERS, and prints
the answer. Settings come from the environment, as for the service.`;

const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;

/** What the receiver answered. */
export interface SendResult {
  readonly status: number;
  readonly body: string;
  /** The URL posted to, with a URL secret masked. */
  readonly maskedUrl: string;
}

/** Signs `body` for `config`'s verifiers and POSTs it to `baseUrl`. */
export async function sendEvent(
  config: Pick<Config, "verifiers" | "verify">,
  baseUrl: string,
  body: Uint8Array | string,
): Promise<SendResult> {
  const { path, headers } = createRequestSigner(config)(body);
  const url = new URL(path, baseUrl);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const maskedPath = path.replace(/^(\/webhooks\/maildesk)\/.+$/, "$1/***");
  return {
    status: response.status,
    body: await response.text(),
    maskedUrl: new URL(maskedPath, baseUrl).href,
  };
}

/** A sample `subscriber.created` event with a new ULID eventId. */
export function sampleEvent(now = Date.now()): string {
  return JSON.stringify({
    type: "subscriber.created",
    eventId: createUlid(now),
    id: "contact-sample-1",
    email: "ada@example.com",
    firstName: "Ada",
    lastName: "Lovelace",
    status: "active",
    createdAt: new Date(now).toISOString(),
  });
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 48 bits of milliseconds and 80 random bits, in Crockford base32. */
function createUlid(now: number): string {
  let time = "";
  for (let rest = now, i = 0; i < 10; i++, rest = Math.floor(rest / 32)) {
    time = CROCKFORD[rest % 32] + time;
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  return time + Array.from(random, (byte) => CROCKFORD[byte % 32]).join("");
}

/** The command: parses `argv`, sends, prints, and returns the exit code. */
export async function runSend(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let args: ReturnType<typeof parseSendArgs>;
  try {
    args = parseSendArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig(env);
    // The same checks as at the service's start, so that what is sent is
    // signed with settings the service would accept.
    createVerifierChain(config, createLogger({ level: "silent", format: "json" }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`send: ${error.message}\n`);
    return EXIT_CONFIG;
  }

  const file = args.positionals[0];
  let body: Uint8Array | string;
  try {
    body = file ? readFileSync(file) : sampleEvent();
  } catch (error) {
    process.stderr.write(`send: cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  const baseUrl = args.values.url ?? `http://localhost:${config.port}`;
  try {
    const result = await sendEvent(config, baseUrl, body);
    process.stdout.write(`POST ${result.maskedUrl}\nHTTP ${result.status}\n${result.body}\n`);
    return result.status >= 200 && result.status < 300 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`send: no answer from ${baseUrl}: ${(error as Error).message}\n`);
    return 1;
  }
}

function parseSendArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { url: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
}

if (import.meta.main) {
  process.exitCode = await runSend(process.argv.slice(2), process.env);
}
