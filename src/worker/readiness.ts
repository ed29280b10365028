/**
 * The readiness check "worker alive", for `/readyz`: the worker reported
 * that it runs, and it looked at the outbox recently. An idle worker looks
 * at least every WORKER_POLL_MS; its status travels with the writer's
 * heartbeat (every second), so a report older than a poll plus a grace is
 * a worker (or a writer thread) that stopped.
 */
import type { WorkerStatus } from "../store/types.ts";

/** Slack on top of WORKER_POLL_MS for the heartbeat's period and a long iteration. */
export const WORKER_STALE_GRACE_MS = 5000;

/** Whether the worker whose last report is `status` is alive at `now`. */
export function checkWorkerAlive(status: WorkerStatus | null, now: number, pollMs: number) {
  if (!status) return { ok: false, running: false, lastIterationAt: null };
  const ageMs = status.lastIterationAt === null ? null : now - status.lastIterationAt;
  const ok = status.running && ageMs !== null && ageMs <= pollMs + WORKER_STALE_GRACE_MS;
  return { ok, running: status.running, lastIterationAt: status.lastIterationAt, ageMs };
}
