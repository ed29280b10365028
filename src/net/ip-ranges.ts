/**
 * IP addresses and ranges as the configuration writes them: IPv4 and IPv6
 * addresses and CIDRs, parsed with ipaddr.js. An IPv4 client reached over a
 * dual-stack socket (`::ffff:192.0.2.7`) is the IPv4 address it is, both in a
 * list and in a request.
 *
 * IPv4 is accepted only in dotted four-part decimal: ipaddr.js also reads
 * forms such as `10.1` (10.0.0.1) or `0x7f.1`, which in an allowlist are far
 * more likely a typo than an intent.
 */
import ipaddr from "ipaddr.js";
import { ConfigError } from "../config.ts";

/** A parsed address, IPv4 or IPv6. */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** A set of addresses and CIDRs that an address can be looked up in. */
export interface IpRanges {
  readonly size: number;
  /** Whether the address is in one of the ranges. */
  contains(address: IpAddress): boolean;
}

const IPV4_BITS = 32;
const IPV6_BITS = 128;
const IPV4_MAPPED_PREFIX_BITS = 96;

/**
 * Parses an address as it comes from a socket or a header, with IPv4-mapped
 * IPv6 turned into IPv4; `null` when it is not an address.
 */
export function parseIp(text: string): IpAddress | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!ipaddr.IPv6.isValid(text)) return null;

  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

/**
 * Parses the entries of the list variable `variable` (addresses and CIDRs);
 * an entry that does not parse is a `ConfigError` naming the variable.
 */
export function parseIpRanges(variable: string, entries: readonly string[]): IpRanges {
  const ipv4: [ipaddr.IPv4, number][] = [];
  const ipv6: [ipaddr.IPv6, number][] = [];
  for (const entry of entries) {
    const [address, bits] = parseRange(variable, entry);
    if (address.kind() === "ipv4") ipv4.push([address as ipaddr.IPv4, bits]);
    else ipv6.push([address as ipaddr.IPv6, bits]);
  }

  return {
    size: entries.length,
    contains(address) {
      // ipaddr.js refuses to match an address against a range of the other
      // family, so each family has its own list.
      if (address.kind() === "ipv4") {
        for (const range of ipv4) if (address.match(range)) return true;
      } else {
        for (const range of ipv6) if (address.match(range)) return true;
      }
      return false;
    },
  };
}

function parseRange(variable: string, entry: string): [IpAddress, number] {
  const slash = entry.indexOf("/");
  const text = slash === -1 ? entry : entry.slice(0, slash);
  const bitsText = slash === -1 ? null : entry.slice(slash + 1);
  const isIpv4 = ipaddr.IPv4.isValidFourPartDecimal(text);
  if (!isIpv4 && !ipaddr.IPv6.isValid(text)) {
    throw new ConfigError(
      `${variable} must list IPv4/IPv6 addresses or CIDRs (e.g. 192.0.2.0/24, 2001:db8::/32); ` +
        `"${entry}" is not one`,
    );
  }

  const maxBits = isIpv4 ? IPV4_BITS : IPV6_BITS;
  const bits = bitsText === null ? maxBits : Number(bitsText);
  if (bitsText !== null && (!/^\d{1,3}$/.test(bitsText) || bits > maxBits)) {
    throw new ConfigError(
      `${variable}: the prefix length of "${entry}" must be a whole number from 0 to ${maxBits}`,
    );
  }

  const address = isIpv4 ? ipaddr.IPv4.parse(text) : ipaddr.IPv6.parse(text);
  if (address.kind() === "ipv6" && bits >= IPV4_MAPPED_PREFIX_BITS) {
    const ipv6 = address as ipaddr.IPv6;
    if (ipv6.isIPv4MappedAddress()) {
      return [ipv6.toIPv4Address(), bits - IPV4_MAPPED_PREFIX_BITS];
    }
  }
  return [address, bits];
}
