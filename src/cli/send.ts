/**
 * `send [event.json ...]`: a Maildesk simulator for trying an installation.
 * It signs requests for the verifiers configured in the same environment as
 * the service (`WEBHOOK_VERIFIERS` and their settings; unset or `none`:
 * unsigned) and delivers them as Maildesk does: one event after the other,
 * each retried with growing delays until it is accepted (200, 201 or 202)
 * or its attempts run out. Every other answer, a time-out and a refused
 * connection count as failures to retry. Without files, it sends the four
 * sample events of one new contact (created, updated, confirmed,
 * unsubscribed); a file is sent byte for byte.
 *
 * Each retry keeps the event's Standard Webhooks `webhook-id` and signs
 * again with the current time, as a sender does.
 *
 * Exit codes: 0 when every event was accepted, 1 when one was never
 * accepted (Maildesk would give it up) or a file cannot be read.
 */
import { readFileSync } from "node:fs";
import { ulid } from "ulid";
import type { Config } from "../config.ts";
import { assertVerifierSettings } from "../verify/chain.ts";
import {
  type CliCommand,
  complain,
  EXIT_FAILURE,
  EXIT_OK,
  loadCommandConfig,
  parseCommandLine,
  say,
  UsageError,
} from "./command.ts";
import { createRequestSigner, newMessageId, type RequestSigner } from "./request-signer.ts";

/** Answers Maildesk takes as delivered; it retries on anything else. */
const ACCEPTED_STATUSES: ReadonlySet<number> = new Set([200, 201, 202]);

const DEFAULT_ATTEMPTS = 5;
const DEFAULT_RETRY_DELAY_MS = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
/** The delays double from the first one up to this. */
const MAX_RETRY_DELAY_MS = 60_000;
/** How much of an answer's body is printed. */
const MAX_SHOWN_BODY_CHARS = 300;

/** How each event is delivered. */
export interface DeliveryPolicy {
  readonly attempts: number;
  /** The wait before the second attempt; each later wait doubles it. */
  readonly retryDelayMs: number;
  /** How long an attempt may wait for its answer. */
  readonly timeoutMs: number;
}

/** One event to deliver: its bytes, and its type and eventId for display. */
export interface OutgoingEvent {
  readonly label: string;
  readonly body: Uint8Array | string;
}

export const sendCommand: CliCommand = {
  usage: `Usage: maildesk-receiver send [event.json ...] [options]

A Maildesk simulator. Signs requests for WEBHOOK_VERIFIERS and their
settings, read from the environment (and .env) as the service reads them
(unset or none: unsigned), and delivers events the way Maildesk does: one
after the other, each retried with growing delays (1 s, 2 s, 4 s, ...) until
it is answered 200, 201 or 202, or its attempts run out. Any other answer, a
time-out and a refused connection are failures to retry. Every attempt is
printed.

Without files: the sample events of one new contact, in order
(subscriber.created, .updated, .confirmed, .unsubscribed), which the worker
applies to the subscriber mirror. With files: each file's bytes as they are.

Options:
  --url <url>             The receiver (default http://127.0.0.1:$PORT)
  --attempts <n>          Attempts per event (default ${DEFAULT_ATTEMPTS})
  --no-retry              One attempt per event (the same as --attempts 1)
  --retry-delay-ms <ms>   The first wait between attempts (default ${DEFAULT_RETRY_DELAY_MS})
  --timeout-ms <ms>       How long an attempt waits for its answer (default ${DEFAULT_TIMEOUT_MS})
  --contact <id>          The sample contact's id (default: a new one each run)

Exit code 0 when every event was accepted, 1 when one was not.`,

  async run(args, env) {
    const { values, positionals } = parseCommandLine(
      args,
      {
        url: { type: "string" },
        attempts: { type: "string" },
        "no-retry": { type: "boolean" },
        "retry-delay-ms": { type: "string" },
        "timeout-ms": { type: "string" },
        contact: { type: "string" },
      },
      { min: 0, max: Number.POSITIVE_INFINITY },
    );
    if (values.contact !== undefined && positionals.length > 0) {
      throw new UsageError("--contact names the sample contact; it does not go with files.");
    }
    const policy: DeliveryPolicy = {
      attempts: values["no-retry"] ? 1 : readCount("--attempts", values.attempts, DEFAULT_ATTEMPTS),
      retryDelayMs: readCount("--retry-delay-ms", values["retry-delay-ms"], DEFAULT_RETRY_DELAY_MS),
      timeoutMs: readCount("--timeout-ms", values["timeout-ms"], DEFAULT_TIMEOUT_MS),
    };
    const config = loadCommandConfig(env);
    // The checks the service makes at start, so that what is sent is signed
    // with settings the service would accept.
    assertVerifierSettings(config);
    const baseUrl = values.url ?? defaultUrl(config);
    if (!URL.canParse(baseUrl)) throw new UsageError(`--url must be a URL; got "${baseUrl}".`);

    let events: OutgoingEvent[];
    const contactId = values.contact ?? `sample-${ulid().slice(-10).toLowerCase()}`;
    try {
      events = positionals.length > 0 ? positionals.map(readEventFile) : sampleEvents(contactId);
    } catch (error) {
      complain(`send: ${(error as Error).message}`);
      return EXIT_FAILURE;
    }

    const signer = createRequestSigner(config);
    const signedFor = config.verifiers.filter((name) => name !== "none");
    const signing = signedFor.length > 0 ? `signed for ${signedFor.join(",")}` : "unsigned";
    say(`sending ${events.length} event(s), ${signing}`);
    let accepted = 0;
    for (const event of events) {
      if (await deliverEvent(event, signer, baseUrl, policy)) accepted++;
    }

    say(`${accepted} of ${events.length} event(s) accepted`);
    if (positionals.length === 0) {
      say(`the sample contact: GET /api/subscribers/${contactId} (with the admin token)`);
    }
    return accepted === events.length ? EXIT_OK : EXIT_FAILURE;
  },
};

/**
 * Delivers one event with Maildesk's retries, printing each attempt;
 * resolves to whether it was accepted.
 */
async function deliverEvent(
  event: OutgoingEvent,
  sign: RequestSigner,
  baseUrl: string,
  policy: DeliveryPolicy,
): Promise<boolean> {
  // One message id for every attempt: the receiver (or a Standard Webhooks
  // library) may use it to spot a retry.
  const messageId = newMessageId();
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    const { path, headers } = sign(event.body, { id: messageId });
    const url = new URL(path, baseUrl);
    const prefix =
      `${event.label}: attempt ${attempt} of ${policy.attempts}: ` + `POST ${maskPath(url)}`;

    const outcome = await postOnce(url, headers, event.body, policy.timeoutMs);
    const isAccepted = outcome.status !== null && ACCEPTED_STATUSES.has(outcome.status);
    if (isAccepted || attempt === policy.attempts) {
      say(`${prefix}: ${outcome.text}${isAccepted ? "" : "; giving the event up"}`);
      return isAccepted;
    }
    const delayMs = retryDelayMs(policy.retryDelayMs, attempt);
    say(`${prefix}: ${outcome.text}; next attempt in ${formatSeconds(delayMs)}`);
    await Bun.sleep(delayMs);
  }
  return false;
}

/** The wait after failed attempt number `attempt` (1 is the first): doubling, capped. */
export function retryDelayMs(firstDelayMs: number, attempt: number): number {
  return Math.min(firstDelayMs * 2 ** (attempt - 1), Math.max(firstDelayMs, MAX_RETRY_DELAY_MS));
}

async function postOnce(
  url: URL,
  headers: Record<string, string>,
  body: Uint8Array | string,
  timeoutMs: number,
): Promise<{ status: number | null; text: string }> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = (await response.text()).trim().slice(0, MAX_SHOWN_BODY_CHARS);
    return { status: response.status, text: `HTTP ${response.status} ${answer}`.trimEnd() };
  } catch (error) {
    const { name, message } = error as Error;
    const why = name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : message;
    return { status: null, text: `no answer (${why})` };
  }
}

/**
 * The four sample events of one contact, with ULID eventIds a millisecond
 * apart, so that the mirror orders them as they are sent.
 */
export function sampleEvents(contactId: string, now = Date.now()): OutgoingEvent[] {
  const contact = { id: contactId, email: `ada.lovelace+${contactId}@example.com` };
  const payloads = [
    {
      type: "subscriber.created",
      ...contact,
      firstName: "Ada",
      lastName: "Lovelace",
      status: "unconfirmed",
      createdAt: new Date(now).toISOString(),
    },
    // Only the field that changed: the others stay as they were.
    { type: "subscriber.updated", ...contact, lastName: "King" },
    { type: "subscriber.confirmed", ...contact, status: "confirmed" },
    { type: "subscriber.unsubscribed", ...contact, status: "unsubscribed" },
  ];
  return payloads.map(({ type, ...fields }, index) => {
    const eventId = ulid(now + index);
    return { label: `${type} ${eventId}`, body: JSON.stringify({ type, eventId, ...fields }) };
  });
}

function readEventFile(path: string): OutgoingEvent {
  let body: Uint8Array;
  try {
    body = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  let label = path;
  try {
    const { type, eventId } = JSON.parse(new TextDecoder().decode(body));
    if (typeof type === "string" && typeof eventId === "string") label = `${type} ${eventId}`;
  } catch {
    // Not JSON: sent all the same, the receiver says what it thinks of it.
  }
  return { label, body };
}

/** `http://<HOST>:<PORT>`, with a listen-on-everything HOST replaced by the loopback address. */
function defaultUrl(config: Pick<Config, "host" | "port">): string {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

/** The URL as printed: a URL secret in the path is masked. */
function maskPath(url: URL): string {
  return url.href.replace(/(\/webhooks\/maildesk)\/[^/?#]+/, "$1/***");
}

function readCount(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${option} must be a whole number of at least 1; got "${text}".`);
  }
  return Number(text);
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
