/**
 * When a failed row is tried again: exponential back-off with full jitter,
 * capped, then the dead letter.
 *
 * After the n-th failed attempt, the next one waits a time drawn uniformly
 * from [0, min(WORKER_BACKOFF_MAX_MS, WORKER_BACKOFF_BASE_MS × 2^(n−1))).
 * The jitter is "full" (from zero, not around the exponential value) so that
 * rows that failed together, say every event of a downstream outage, spread
 * out instead of coming back in waves. A downstream that names its own wait
 * (`Retry-After`) gets at least that wait, still capped by the maximum.
 * After WORKER_MAX_ATTEMPTS attempts a retryable failure is final too: the
 * row goes to the dead letter, where `retry` and `retry-dead` can revive it.
 *
 * The schedule this gives with the defaults is written out in the header of
 * outbox-worker.ts, beside the row state machine.
 */
import type { WorkerConfig } from "../config.ts";

/** What follows a failed attempt. */
export type RetryDecision =
  | { readonly action: "retry"; readonly runAt: number; readonly delayMs: number }
  | { readonly action: "dead" };

export interface RetryPolicy {
  /**
   * Decides after failed attempt number `attempt` (1 for the first), at
   * `now`; `notBefore` is the earliest time the failure itself allows.
   */
  afterFailure(attempt: number, now: number, notBefore?: number): RetryDecision;
  /** The upper bound of the wait after failed attempt number `attempt`. */
  maxDelayMs(attempt: number): number;
}

type RetrySettings = Pick<WorkerConfig, "maxAttempts" | "backoffBaseMs" | "backoffMaxMs">;

/** Creates the policy; `random` returns a number in [0, 1) (injected by tests). */
export function createRetryPolicy(
  settings: RetrySettings,
  random: () => number = Math.random,
): RetryPolicy {
  const { maxAttempts, backoffBaseMs, backoffMaxMs } = settings;

  function maxDelayMs(attempt: number): number {
    return Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  }

  return {
    maxDelayMs,
    afterFailure(attempt, now, notBefore) {
      if (attempt >= maxAttempts) return { action: "dead" };

      const jittered = Math.floor(random() * maxDelayMs(attempt));
      const asked = notBefore === undefined ? 0 : notBefore - now;
      const delayMs = Math.min(backoffMaxMs, Math.max(jittered, asked));
      return { action: "retry", runAt: now + delayMs, delayMs };
    },
  };
}
