/**
 * Constant-time matching of a presented secret against configured ones.
 *
 * `timingSafeEqual` needs inputs of equal length, and comparing lengths first
 * would tell a caller how long a secret is. So both sides are reduced to
 * SHA-256 digests (fixed length; the time to hash depends only on the
 * presented value, which the caller knows anyway), and the digest is compared
 * with every configured one, without stopping at a match, so that the time
 * says neither whether nor which secret matched.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The SHA-256 digest of a secret, to compare with `findMatchingDigest`. */
export function digestSecret(secret: string | Uint8Array): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** The index of the digest in `candidates` equal to `digest`, or -1; constant time. */
export function findMatchingDigest(candidates: readonly Buffer[], digest: Buffer): number {
  let matched = -1;
  for (let index = candidates.length - 1; index >= 0; index--) {
    // Every candidate is compared; the branch-free select keeps the first match.
    const isEqual = timingSafeEqual(candidates[index] as Buffer, digest);
    matched = isEqual ? index : matched;
  }
  return matched;
}
