/**
 * The HMAC core that every scheme adapter shares: computing a signature over
 * `<prefix><raw body>`, decoding the signatures a request offers, and
 * matching them in constant time against the configured keys.
 *
 * An adapter only knows where its scheme keeps things: which headers, how
 * several signatures are written, what is signed before the body, how a
 * configured secret becomes a key. Keys are made once, at start-up.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import type { HmacAlgorithm, HmacEncoding, HmacSchemeName } from "../../config.ts";

/** What a scheme read from a request's headers. */
export interface SignedRequest {
  /** What is signed before the raw body, e.g. `<id>.<timestamp>.`; "" for the body alone. */
  readonly prefix: string;
  /** The signatures offered, still encoded; any one may match. */
  readonly signatures: readonly string[];
  /** The Unix time the sender stamped, for the schemes that have one. */
  readonly timestampSeconds: number | null;
}

/** The headers a request is signed with, for a sender (the `send` command, benchmarks). */
export interface SignOptions {
  /** A message id, for the schemes that sign one. */
  readonly id: string;
  readonly timestampSeconds: number;
}

/** Where and how one scheme carries its signature. */
export interface HmacScheme {
  readonly name: HmacSchemeName;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: HmacEncoding;
  /** The HMAC key of a configured secret; a secret it cannot use throws a `ConfigError`. */
  keyOf(secret: string, index: number): Buffer;
  /** Reads the signed prefix and the signatures, or returns why it cannot (a reason). */
  read(headers: Headers): SignedRequest | string;
  /** The headers that sign `body` with `key`, as a sender of this scheme writes them. */
  sign(key: KeyObject, body: Uint8Array | string, options: SignOptions): Record<string, string>;
}

const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = {
  sha1: 20,
  sha256: 32,
  sha512: 64,
};

/** Makes a key object once, so that requests do not re-import the key. */
export function createHmacKey(key: Buffer): KeyObject {
  return createSecretKey(key);
}

/** The HMAC of `<prefix><body>`. */
function computeHmac(
  algorithm: HmacAlgorithm,
  key: KeyObject,
  prefix: string,
  body: Uint8Array | string,
): Buffer {
  const hmac = createHmac(algorithm, key);
  if (prefix !== "") hmac.update(prefix);
  return hmac.update(body).digest();
}

/** The HMAC of `<prefix><body>`, encoded as the scheme writes it. */
export function computeSignature(
  scheme: Pick<HmacScheme, "algorithm" | "encoding">,
  key: KeyObject,
  prefix: string,
  body: Uint8Array | string,
): string {
  return computeHmac(scheme.algorithm, key, prefix, body).toString(scheme.encoding);
}

/**
 * Decodes offered signatures into digests of the algorithm's length; those
 * that cannot be one (wrong length, text around them) are left out, so that
 * only well-formed digests reach the comparison.
 */
export function decodeSignatures(
  signatures: readonly string[],
  algorithm: HmacAlgorithm,
  encoding: HmacEncoding,
): Buffer[] {
  const bytes = DIGEST_BYTES[algorithm];
  const decoded: Buffer[] = [];
  for (const signature of signatures) {
    if (!hasEncodedLength(signature, bytes, encoding)) continue;
    const digest = Buffer.from(signature, encoding);
    if (digest.byteLength === bytes) decoded.push(digest);
  }
  return decoded;
}

function hasEncodedLength(text: string, bytes: number, encoding: HmacEncoding): boolean {
  if (encoding === "hex") return text.length === bytes * 2;
  return text.length === Math.ceil(bytes / 3) * 4 || text.length === Math.ceil((bytes * 4) / 3);
}

/**
 * The index of the first key whose HMAC of `<prefix><body>` equals one of
 * `digests`, or -1. Each comparison is constant-time. The search stops at
 * the first key that matches: a sender that gets this far knows that key,
 * so the time it takes tells them nothing new, and a request pays for one
 * HMAC in the usual case of one secret or a match on the first.
 */
export function findMatchingKey(
  algorithm: HmacAlgorithm,
  keys: readonly KeyObject[],
  prefix: string,
  body: Uint8Array,
  digests: readonly Buffer[],
): number {
  for (let index = 0; index < keys.length; index++) {
    const expected = computeHmac(algorithm, keys[index] as KeyObject, prefix, body);
    for (const digest of digests) {
      if (timingSafeEqual(digest, expected)) return index;
    }
  }
  return -1;
}
