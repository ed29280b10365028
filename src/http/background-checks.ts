/**
 * Readiness checks from the writer thread's heartbeat: the writer beats
 * (a thread stuck in a long transaction, or gone, stops beating), and the
 * outbox worker runs and has looked at the outbox recently.
 */
import { viewBackground } from "../api/background-status.ts";
import type { Store } from "../store/types.ts";
import { checkWorkerAlive } from "../worker/readiness.ts";
import type { ReadinessCheck } from "./health-routes.ts";

export function createBackgroundChecks(
  store: Store,
  workerPollMs: number,
  now: () => number = Date.now,
): Record<string, ReadinessCheck> {
  return {
    heartbeat: () => {
      const view = viewBackground(store.backgroundStatus(), now());
      return { ok: view.fresh, ageMs: view.ageMs };
    },
    worker: () => checkWorkerAlive(store.workerStatus(), now(), workerPollMs),
  };
}
