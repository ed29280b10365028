/**
 * A clock that moves only when a test says so: back-offs, leases and
 * time-outs are tested without sleeping.
 */
import type { Clock } from "../../src/worker/clock.ts";

export interface ManualClock extends Clock {
  /** Moves time forward, firing the timers that fall due, in order. */
  advance(ms: number): void;
  /** Timers not yet fired. */
  readonly pendingTimers: number;
}

/** A manual clock starting at `start` (ms since the epoch). */
export function createManualClock(start = Date.parse("2026-12-01T10:00:00Z")): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();

  return {
    now: () => now,
    setTimer(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, callback });
      return () => timers.delete(id);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, timer]) => timer.at <= until)
          .sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
        if (!due) break;
        const [id, timer] = due;
        timers.delete(id);
        now = Math.max(now, timer.at);
        timer.callback();
      }
      now = until;
    },
    get pendingTimers() {
      return timers.size;
    },
  };
}
