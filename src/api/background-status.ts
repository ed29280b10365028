/**
 * Reading the writer thread's heartbeat: whether it is fresh, and what the
 * components beside the writer report in it.
 *
 * The components' reports are theirs to shape; these are the fields read
 * here, each optional, so that a component that reports less (or an older
 * build) is simply shown as not reporting it.
 */
import type { BackgroundStatus, WorkerStatus } from "../store/types.ts";

/** A heartbeat older than this means the writer thread is stuck or gone (it beats every second). */
export const HEARTBEAT_STALE_MS = 5000;

/** What the outbox worker reports (component `worker`); absent fields read as unknown. */
export type WorkerReport = Partial<WorkerStatus>;

/** What retention reports (component `retention`). */
export interface RetentionReport {
  readonly deliveriesDeleted?: number;
  readonly eventsDeleted?: number;
}

export interface BackgroundView {
  readonly ageMs: number | null;
  readonly fresh: boolean;
  /** The writer's own counters, where numeric. */
  readonly counters: Readonly<Record<string, number>>;
  readonly worker: WorkerReport | null;
  readonly retention: RetentionReport | null;
}

/** Reads `status` (the last heartbeat, or `null`) as of `now`. */
export function viewBackground(status: BackgroundStatus | null, now: number): BackgroundView {
  if (!status) return { ageMs: null, fresh: false, counters: {}, worker: null, retention: null };
  const ageMs = now - status.at;
  const counters: Record<string, number> = {};
  for (const [name, value] of Object.entries(status)) {
    if (name !== "at" && typeof value === "number" && Number.isFinite(value))
      counters[name] = value;
  }
  return {
    ageMs,
    fresh: ageMs < HEARTBEAT_STALE_MS,
    counters,
    worker: asReport<WorkerReport>(status.components.worker),
    retention: asReport<RetentionReport>(status.components.retention),
  };
}

function asReport<T>(value: unknown): T | null {
  return value !== null && typeof value === "object" ? (value as T) : null;
}

/** A finite number, or `undefined`. */
export function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
