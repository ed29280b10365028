/**
 * The `forward` handler (on when `FORWARD_URL` is set): POSTs each stored
 * event to an internal URL, byte for byte with its original `Content-Type`,
 * signed with Standard Webhooks headers when `FORWARD_SECRET` is set. An I/O
 * handler: it runs outside transactions, cut off by the worker's time-out
 * and by its own (`FORWARD_TIMEOUT_MS`), whichever comes first.
 *
 * Headers: `webhook-id` is the eventId, the same on every attempt, so that
 * the downstream can drop repeats (delivery is at least once; an eventId
 * that is not printable ASCII is sent percent-encoded); `webhook-timestamp`
 * is the time of this attempt in Unix seconds. Both are sent always; with
 * `FORWARD_SECRET`, `webhook-signature` is added:
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`.
 *
 * What an answer means:
 * - 2xx: done.
 * - 400, 410, 413, 415, 422: permanent (dead letter at once). The downstream
 *   says this very request can never succeed; sending it again only repeats
 *   the answer. `retry` can revive the row once the downstream is fixed.
 * - Any other answer, 401/403/404 included, is retried with back-off: those
 *   usually mean a deployment or a secret being fixed, which a retry rides
 *   out. 3xx is not followed (a redirected POST may turn into a GET) and is
 *   retried like a failure.
 * - `Retry-After` (seconds or an HTTP date) on 429 and 503 sets the earliest
 *   next attempt, still capped by `WORKER_BACKOFF_MAX_MS`.
 * - A refused connection, a time-out or any other network error: retried.
 */
import type { KeyObject } from "node:crypto";
import type { ForwardConfig } from "../../config.ts";
import { createHmacKey } from "../../verify/hmac/core.ts";
import { standardWebhooksScheme } from "../../verify/hmac/standard-webhooks.ts";
import type { Clock } from "../clock.ts";
import {
  describeError,
  type IoHandler,
  permanent,
  retryable,
  type StoredEvent,
  success,
} from "../handler.ts";
import { FORWARD_HANDLER } from "./names.ts";

/** Answers that say the request itself is refused for good. */
const PERMANENT_STATUSES: ReadonlySet<number> = new Set([400, 410, 413, 415, 422]);

/** Answers whose `Retry-After` is honoured. */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

const DEFAULT_CONTENT_TYPE = "application/json";

/** What a header value can carry as it is. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** Creates the handler. */
export function createForwardHandler(config: ForwardConfig, clock: Clock): IoHandler {
  const key =
    config.signingKeyBase64 === null
      ? null
      : createHmacKey(Buffer.from(config.signingKeyBase64, "base64"));

  return {
    kind: "io",
    name: FORWARD_HANDLER,
    maxInFlight: config.concurrency,
    async run(event, signal) {
      const headers: Record<string, string> = {
        "content-type": event.contentType ?? DEFAULT_CONTENT_TYPE,
        "user-agent": "maildesk-receiver",
        ...webhookHeaders(key, event, clock.now()),
      };

      let response: Response;
      try {
        response = await fetch(config.url, {
          method: "POST",
          headers,
          body: event.rawBody,
          redirect: "manual",
          signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        });
      } catch (error) {
        return retryable(`request failed: ${describeError(error)}`);
      }
      // The body is not needed; reading it frees the connection for reuse.
      await response.arrayBuffer().catch(() => undefined);

      const status = response.status;
      if (status >= 200 && status < 300) return success(`forwarded: HTTP ${status}`);
      const error = `downstream answered HTTP ${status}`;
      if (PERMANENT_STATUSES.has(status)) return permanent(error);
      if (RETRY_AFTER_STATUSES.has(status)) {
        return retryable(error, parseRetryAfter(response.headers.get("retry-after"), clock.now()));
      }
      return retryable(error);
    },
  };
}

/** The Standard Webhooks headers for `event` at `now`; signed when there is a key. */
function webhookHeaders(
  key: KeyObject | null,
  event: StoredEvent,
  now: number,
): Record<string, string> {
  const id = PRINTABLE_ASCII.test(event.eventId)
    ? event.eventId
    : encodeURIComponent(event.eventId);
  const timestampSeconds = Math.floor(now / 1000);
  if (key) return standardWebhooksScheme.sign(key, event.rawBody, { id, timestampSeconds });
  return { "webhook-id": id, "webhook-timestamp": String(timestampSeconds) };
}

/** The earliest next attempt a `Retry-After` value asks for, or `undefined`. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : date;
}
