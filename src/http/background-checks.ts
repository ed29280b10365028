/**
 * Readiness checks from the writer thread's heartbeat: the writer beats
 * (a thread stuck in a long transaction, or gone, stops beating), and the
 * outbox worker, once it reports there, is running.
 *
 * Known shortcoming: while no worker reports (builds before it), the worker
 * check passes with `reporting: false`; once the worker is part of every
 * build it should fail instead.
 */
import { viewBackground } from "../api/background-status.ts";
import type { Store } from "../store/types.ts";
import type { ReadinessCheck } from "./health-routes.ts";

export function createBackgroundChecks(
  store: Store,
  now: () => number = Date.now,
): Record<string, ReadinessCheck> {
  return {
    heartbeat: () => {
      const view = viewBackground(store.backgroundStatus(), now());
      return { ok: view.fresh, ageMs: view.ageMs };
    },
    worker: () => {
      const { worker, fresh } = viewBackground(store.backgroundStatus(), now());
      if (!worker) return { ok: true, reporting: false };
      return { ok: fresh && worker.running !== false, reporting: true, running: worker.running };
    },
  };
}
