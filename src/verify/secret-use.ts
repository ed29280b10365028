/**
 * Which configured secret a request matched, for rotations: a verifier with
 * several secrets reports the index (never the value) in its pass `detail`,
 * and logs at `info` the first time since start that each index matches, so
 * that the log shows when Maildesk has moved to a new secret.
 */
import type { Logger } from "../log.ts";
import type { VerificationPass } from "./verifier.ts";

/**
 * Creates the pass results of a verifier, one per secret, built once so
 * that a pass allocates nothing; `detailKey` is the field of the detail.
 */
export function createSecretPasses(
  log: Logger,
  verifier: string,
  detailKey: string,
  labels: readonly (string | number)[],
): (index: number) => VerificationPass {
  const passes = labels.map((label) =>
    Object.freeze({ ok: true as const, detail: Object.freeze({ [detailKey]: label }) }),
  );
  const hasMatched = labels.map(() => false);

  return (index) => {
    if (!hasMatched[index]) {
      hasMatched[index] = true;
      log.info(
        { component: "verify", verifier, [detailKey]: labels[index] },
        "secret matched for the first time since start",
      );
    }
    return passes[index] as VerificationPass;
  };
}
