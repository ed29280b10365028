/**
 * Time as the worker sees it. Production uses the system clock; tests inject
 * a clock they move by hand, so that back-offs, leases and time-outs are
 * tested without sleeping.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once `ms` have passed on this clock; returns a function that cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
}

/** The system clock; its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: Date.now,
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};
