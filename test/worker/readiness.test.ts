import { describe, expect, it } from "bun:test";
import type { WorkerStatus } from "../../src/store/types.ts";
import { checkWorkerAlive, WORKER_STALE_GRACE_MS } from "../../src/worker/readiness.ts";

const NOW = 1_800_000_000_000;
const POLL_MS = 1000;

function status(fields: Partial<WorkerStatus>): WorkerStatus {
  return {
    running: true,
    lastIterationAt: NOW,
    inFlight: 0,
    attempts: 0,
    done: 0,
    failures: 0,
    deadLetters: 0,
    released: 0,
    errors: 0,
    ...fields,
  };
}

describe("the worker-alive readiness check", () => {
  it("is ready while the worker runs and looked within a poll and the grace", () => {
    const lastIterationAt = NOW - POLL_MS - WORKER_STALE_GRACE_MS;

    expect(checkWorkerAlive(status({ lastIterationAt }), NOW, POLL_MS)).toMatchObject({ ok: true });
  });

  it("is not ready when the last look is older than that", () => {
    const lastIterationAt = NOW - POLL_MS - WORKER_STALE_GRACE_MS - 1;

    expect(checkWorkerAlive(status({ lastIterationAt }), NOW, POLL_MS)).toMatchObject({
      ok: false,
      ageMs: POLL_MS + WORKER_STALE_GRACE_MS + 1,
    });
  });

  it("is not ready before the worker reported, nor once it stopped", () => {
    expect(checkWorkerAlive(null, NOW, POLL_MS).ok).toBe(false);
    expect(checkWorkerAlive(status({ lastIterationAt: null }), NOW, POLL_MS).ok).toBe(false);
    expect(checkWorkerAlive(status({ running: false }), NOW, POLL_MS).ok).toBe(false);
  });
});
