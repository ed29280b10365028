/**
 * The client address of a request: what the IP verifier checks, and what the
 * event row and the delivery log record.
 *
 * It is the socket's peer, normalised so that an IPv4 client reached over a
 * dual-stack socket (`::ffff:192.0.2.7`) reads as the IPv4 address it is.
 * Behind a reverse proxy listed in `TRUSTED_PROXIES`, it is read from
 * `X-Forwarded-For` instead: right to left, skipping the hops that are
 * trusted proxies themselves; the first untrusted hop is the client. Only
 * hops left of it could have been written by the caller, so nothing a caller
 * puts in the header can move the answer past an untrusted address. A peer
 * that is not a trusted proxy has its header ignored entirely.
 */
import { parseIp, parseIpRanges } from "../net/ip-ranges.ts";

const IPV4_MAPPED_PREFIX = "::ffff:";

/** Finds the client address of a request from its socket peer and headers. */
export type ClientAddressResolver = (peer: string | null, headers: Headers) => string | null;

/** Normalises a peer address; `null` when there is none (in-process tests). */
function normalizeAddress(address: string | null | undefined): string | null {
  if (!address) return null;
  const lower = address.toLowerCase();
  if (lower.startsWith(IPV4_MAPPED_PREFIX) && lower.includes(".")) {
    return lower.slice(IPV4_MAPPED_PREFIX.length);
  }
  return lower;
}

/**
 * Creates the resolver for `TRUSTED_PROXIES` (addresses and CIDRs); an entry
 * that does not parse is a `ConfigError` naming the variable.
 */
export function createClientAddressResolver(
  trustedProxies: readonly string[],
): ClientAddressResolver {
  const trusted = parseIpRanges("TRUSTED_PROXIES", trustedProxies);
  if (trusted.size === 0) return (peer) => normalizeAddress(peer);

  return (peer, headers) => {
    const peerAddress = peer === null ? null : parseIp(peer);
    if (peerAddress === null || !trusted.contains(peerAddress)) return normalizeAddress(peer);

    const forwarded = headers.get("x-forwarded-for");
    let client = peerAddress.toString();
    if (forwarded === null) return client;

    // Scanned from the end without splitting: only the trusted tail is read.
    let end = forwarded.length;
    while (end > 0) {
      const start = forwarded.lastIndexOf(",", end - 1) + 1;
      const text = forwarded.slice(start, end).trim();
      end = start - 1;
      if (text === "") continue;

      const hop = parseIp(stripPort(text));
      // A hop that is no address (say "unknown") was written by a trusted
      // proxy, as the caller cannot reach this far: the client is unknown.
      if (hop === null) return null;
      client = hop.toString();
      if (!trusted.contains(hop)) return client;
    }
    return client;
  };
}

/** `192.0.2.7:4711` and `[2001:db8::7]:4711` (some proxies add the port) lose the port. */
function stripPort(hop: string): string {
  if (hop.startsWith("[")) {
    const close = hop.indexOf("]");
    return close === -1 ? hop : hop.slice(1, close);
  }
  const colon = hop.indexOf(":");
  return colon !== -1 && colon === hop.lastIndexOf(":") ? hop.slice(0, colon) : hop;
}
