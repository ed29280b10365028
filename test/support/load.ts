/**
 * Concurrent load of unique events against a running service, for the fault
 * tests: N senders in a loop, each request with its own eventId, each answer
 * tallied by eventId so that a test can later check the database against
 * exactly what was acknowledged. Bounded: every request times out, and the
 * load stops when asked or after `maxRequests`.
 */
import { sampleEvent } from "./world.ts";

/** One answer seen by a sender. */
export interface SeenAnswer {
  readonly eventId: string;
  readonly body: string;
  readonly status: number;
  readonly error: string | null;
  readonly retryAfter: string | null;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Goes before every eventId, e.g. the cycle of a crash test. */
  readonly prefix: string;
  /** The body for an eventId; a small sample event by default. */
  readonly body?: (eventId: string) => string;
  /** Stops after this many requests in all. */
  readonly maxRequests?: number;
  readonly requestTimeoutMs?: number;
}

export interface RunningLoad {
  /** eventIds that got a 2xx, in order of answer. */
  readonly acknowledged: string[];
  /** Every answer, 2xx or not. */
  readonly answers: SeenAnswer[];
  /** Requests that got no answer (refused connection, reset, time-out). */
  readonly failures: { readonly eventId: string; readonly body: string }[];
  /** Resolves once at least `count` events are acknowledged, or after `timeoutMs`. */
  acknowledgedAtLeast(count: number, timeoutMs?: number): Promise<boolean>;
  /** Resolves once `predicate` holds for the answers so far, or after `timeoutMs`. */
  until(
    predicate: (answers: readonly SeenAnswer[]) => boolean,
    timeoutMs: number,
  ): Promise<boolean>;
  /** Waits until `maxRequests` have been answered (or have failed). */
  finished(): Promise<void>;
  /** Stops sending and waits for the senders to finish. */
  stop(): Promise<void>;
}

/** Starts the load against `url`'s webhook endpoint. */
export function startLoad(url: string, options: LoadOptions): RunningLoad {
  const makeBody = options.body ?? ((eventId: string) => sampleEvent({ eventId }));
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const acknowledged: string[] = [];
  const answers: SeenAnswer[] = [];
  const failures: { eventId: string; body: string }[] = [];
  let stopped = false;
  let sent = 0;

  const senders = Array.from({ length: options.concurrency }, async (_, sender) => {
    for (let i = 0; !stopped && sent < (options.maxRequests ?? Number.POSITIVE_INFINITY); i++) {
      sent++;
      const eventId = `${options.prefix}-${sender}-${i}`;
      const body = makeBody(eventId);
      try {
        const response = await fetch(`${url}/webhooks/maildesk`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        const ok = response.status >= 200 && response.status < 300;
        if (ok) acknowledged.push(eventId);
        answers.push({
          eventId,
          body,
          status: response.status,
          error: ok ? null : parseError(text),
          retryAfter: response.headers.get("retry-after"),
        });
      } catch {
        failures.push({ eventId, body });
        // A dead or restarting server refuses at once; do not spin.
        await Bun.sleep(5);
      }
    }
  });

  const until = async (predicate: (seen: readonly SeenAnswer[]) => boolean, limitMs: number) => {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      if (predicate(answers)) return true;
      await Bun.sleep(10);
    }
    return predicate(answers);
  };

  return {
    acknowledged,
    answers,
    failures,
    until,
    acknowledgedAtLeast: (count, limitMs = 10_000) =>
      until(() => acknowledged.length >= count, limitMs),
    async finished() {
      if (options.maxRequests === undefined) throw new Error("finished() needs maxRequests");
      await Promise.all(senders);
    },
    async stop() {
      stopped = true;
      await Promise.all(senders);
    },
  };
}

function parseError(text: string): string | null {
  try {
    return (JSON.parse(text) as { error?: string }).error ?? null;
  } catch {
    return null;
  }
}
