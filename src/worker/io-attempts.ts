/**
 * The I/O attempts under way: each runs its handler outside any
 * transaction, is cut off (aborted, and counted as a retryable failure)
 * after WORKER_HANDLER_TIMEOUT_MS, and hands its outcome to `onFinished`
 * exactly once, however the handler behaves afterwards. At shutdown the
 * attempts still under way are abandoned: their outcomes are dropped and
 * their rows given back.
 */
import type { Clock } from "./clock.ts";
import {
  describeError,
  type HandlerOutcome,
  type IoHandler,
  permanent,
  retryable,
  type StoredEvent,
} from "./handler.ts";
import type { ClaimedRow } from "./outbox-statements.ts";

interface Attempt {
  readonly row: ClaimedRow;
  /** Resolves once the attempt finished, failed, was cut off or abandoned. */
  readonly finished: Promise<void>;
  settle(outcome: HandlerOutcome | null): void;
  abort(reason: string): void;
}

export interface IoAttempts {
  /** Starts an attempt of `handler` on `row` (`event` is `null` if it is gone). */
  start(row: ClaimedRow, handler: IoHandler, event: StoredEvent | null): void;
  /** Attempts of `handler` under way. */
  count(handler: string): number;
  readonly size: number;
  /** Resolves once every attempt under way now has finished. */
  allFinished(): Promise<void>;
  /** Drops the outcomes of the attempts under way, aborts them, and returns their rows. */
  abandonAll(reason: string): ClaimedRow[];
}

export function createIoAttempts(
  clock: Clock,
  timeoutMs: number,
  onFinished: (row: ClaimedRow, outcome: HandlerOutcome) => void,
): IoAttempts {
  const attempts = new Map<number, Attempt>();

  return {
    start(row, handler, event) {
      const controller = new AbortController();
      let settled = false;
      let resolveFinished = () => {};
      const finished = new Promise<void>((resolve) => {
        resolveFinished = resolve;
      });
      const cancelTimer = clock.setTimer(() => {
        const error = `timed out after ${timeoutMs} ms`;
        controller.abort(new Error(error));
        attempt.settle(retryable(error));
      }, timeoutMs);

      const attempt: Attempt = {
        row,
        finished,
        settle(outcome) {
          if (settled) return;
          settled = true;
          cancelTimer();
          attempts.delete(row.id);
          if (outcome) onFinished(row, outcome);
          resolveFinished();
        },
        abort: (reason) => controller.abort(new Error(reason)),
      };
      attempts.set(row.id, attempt);

      if (!event) {
        attempt.settle(permanent("the event is gone"));
        return;
      }
      handler.run(event, controller.signal).then(
        (outcome) => attempt.settle(outcome),
        (error) => attempt.settle(retryable(describeError(error))),
      );
    },

    count(handler) {
      let count = 0;
      for (const attempt of attempts.values()) if (attempt.row.handler === handler) count++;
      return count;
    },

    get size() {
      return attempts.size;
    },

    async allFinished() {
      await Promise.all([...attempts.values()].map((attempt) => attempt.finished));
    },

    abandonAll(reason) {
      const left = [...attempts.values()];
      for (const attempt of left) {
        attempt.settle(null);
        attempt.abort(reason);
      }
      return left.map((attempt) => attempt.row);
    },
  };
}
