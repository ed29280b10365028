import { describe, expect, it } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { createRetryPolicy } from "../../src/worker/retry-policy.ts";

const defaults = loadConfig({ WEBHOOK_VERIFIERS: "none" }).worker;
const NOW = 1_000_000;

describe("the retry policy", () => {
  it("follows the schedule written in its documentation with the defaults", () => {
    const policy = createRetryPolicy(defaults, () => 0);
    const bounds = Array.from({ length: 14 }, (_, i) => policy.maxDelayMs(i + 1) / 1000);

    expect(bounds).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]);
    expect(policy.afterFailure(15, NOW)).toEqual({ action: "dead" });
  });

  it("draws each wait uniformly from zero to the bound (full jitter)", () => {
    for (const draw of [0, 0.25, 0.5, 0.999_999]) {
      const policy = createRetryPolicy(defaults, () => draw);

      for (const attempt of [1, 4, 13]) {
        const decision = policy.afterFailure(attempt, NOW);
        const bound = policy.maxDelayMs(attempt);
        expect(decision).toEqual({
          action: "retry",
          delayMs: Math.floor(draw * bound),
          runAt: NOW + Math.floor(draw * bound),
        });
      }
    }
  });

  it("never waits as long as the bound, nor less than zero", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const policy = createRetryPolicy(defaults, random);

    for (let i = 0; i < 1000; i++) {
      const attempt = 1 + (i % 14);
      const decision = policy.afterFailure(attempt, NOW);
      if (decision.action !== "retry") throw new Error("expected a retry");
      expect(decision.delayMs).toBeGreaterThanOrEqual(0);
      expect(decision.delayMs).toBeLessThan(policy.maxDelayMs(attempt));
    }
  });

  it("waits at least what a Retry-After asks, still capped by the maximum", () => {
    const policy = createRetryPolicy({ ...defaults, backoffMaxMs: 60_000 }, () => 0);

    expect(policy.afterFailure(1, NOW, NOW + 30_000)).toMatchObject({ runAt: NOW + 30_000 });
    expect(policy.afterFailure(1, NOW, NOW + 3_600_000)).toMatchObject({ runAt: NOW + 60_000 });
    expect(policy.afterFailure(1, NOW, NOW - 5000)).toMatchObject({ runAt: NOW });
  });

  it("keeps the jittered wait when it is longer than the Retry-After", () => {
    const policy = createRetryPolicy(defaults, () => 0.5);

    expect(policy.afterFailure(10, NOW, NOW + 1000)).toMatchObject({ delayMs: 256_000 });
  });

  it("gives up after the configured number of attempts", () => {
    const policy = createRetryPolicy({ ...defaults, maxAttempts: 3 }, () => 0);

    expect(policy.afterFailure(2, NOW).action).toBe("retry");
    expect(policy.afterFailure(3, NOW).action).toBe("dead");
  });
});
