/**
 * The client address of a request: the socket's peer, normalised so that an
 * IPv4 client reached over a dual-stack socket (`::ffff:192.0.2.7`) reads as
 * the IPv4 address it is.
 */

const IPV4_MAPPED_PREFIX = "::ffff:";

/** Normalises a peer address; `null` when there is none (in-process tests). */
export function normalizeAddress(address: string | null | undefined): string | null {
  if (!address) return null;
  const lower = address.toLowerCase();
  if (lower.startsWith(IPV4_MAPPED_PREFIX) && lower.includes(".")) {
    return lower.slice(IPV4_MAPPED_PREFIX.length);
  }
  return lower;
}
