/**
 * The `ip` verifier: the client address must be in `WEBHOOK_IP_ALLOWLIST`
 * (IPv4/IPv6 addresses and CIDRs); otherwise 403. The client address is the
 * socket's peer, or behind a trusted proxy the forwarded one: see
 * src/http/client-address.ts, which the route resolves it with.
 */
import { ConfigError } from "../config.ts";
import { parseIp, parseIpRanges } from "../net/ip-ranges.ts";
import { PASS, type VerificationFailure, type Verifier } from "./verifier.ts";

const UNKNOWN: VerificationFailure = Object.freeze({
  ok: false,
  status: 403,
  reason: "the client address is unknown",
});

/** Creates the verifier; `allowlist` is `WEBHOOK_IP_ALLOWLIST`, checked here. */
export function createIpVerifier(allowlist: readonly string[]): Verifier {
  if (allowlist.length === 0) {
    throw new ConfigError(
      "WEBHOOK_IP_ALLOWLIST is not set: the ip verifier needs the addresses or CIDRs " +
        "Maildesk sends from (e.g. 192.0.2.0/24,2001:db8::/32)",
    );
  }
  const allowed = parseIpRanges("WEBHOOK_IP_ALLOWLIST", allowlist);

  return {
    name: "ip",
    needsBody: false,
    verify({ clientAddress }) {
      const address = clientAddress === null ? null : parseIp(clientAddress);
      if (address === null) return UNKNOWN;
      if (allowed.contains(address)) return PASS;
      return {
        ok: false,
        status: 403,
        reason: `${clientAddress} is not in WEBHOOK_IP_ALLOWLIST`,
      };
    },
  };
}
