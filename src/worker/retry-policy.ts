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
 * With the defaults (base 1 s, maximum 1 h, 15 attempts):
 *
 * | failed attempt | next attempt within | last attempt at the latest |
 * | --- | --- | --- |
 * | 1 | 1 s | 1 s after the first |
 * | 2 | 2 s | 3 s |
 * | 3 | 4 s | 7 s |
 * | 4 | 8 s | 15 s |
 * | 5 | 16 s | 31 s |
 * | 6 | 32 s | 63 s |
 * | 7 | 64 s | 2 min 7 s |
 * | 8 | 128 s | 4 min 15 s |
 * | 9 | 256 s | 8 min 31 s |
 * | 10 | 512 s | 17 min |
 * | 11 | 1024 s | 34 min |
 * | 12 | 2048 s | 68 min |
 * | 13 | 1 h (capped) | 2 h 8 min |
 * | 14 | 1 h | 3 h 8 min |
 * | 15 | dead letter | |
 *
 * The waits average half their bound, so a row that keeps failing reaches
 * the dead letter about 1 h 34 min after its first attempt: a downstream
 * outage of about an hour is ridden out.
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
