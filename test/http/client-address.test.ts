import { describe, expect, it } from "bun:test";
import { createClientAddressResolver } from "../../src/http/client-address.ts";

const resolve = (trusted: string[], peer: string | null, forwardedFor?: string) =>
  createClientAddressResolver(trusted)(
    peer,
    new Headers(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
  );

describe("the client address", () => {
  it("is the peer, IPv4-mapped addresses as IPv4, when no proxy is trusted", () => {
    expect(resolve([], "::ffff:192.0.2.7", "198.51.100.1")).toBe("192.0.2.7");
    expect(resolve([], "2001:db8::1")).toBe("2001:db8::1");
    expect(resolve([], null)).toBeNull();
  });

  it("is a trusted proxy itself when it sends no X-Forwarded-For", () => {
    expect(resolve(["10.0.0.0/8"], "10.0.0.5")).toBe("10.0.0.5");
  });

  it("matches a trusted proxy that connects over a dual-stack socket", () => {
    expect(resolve(["10.0.0.0/8"], "::ffff:10.0.0.5", "198.51.100.1")).toBe("198.51.100.1");
  });

  it("skips empty hops and drops ports from the forwarded addresses", () => {
    const trusted = ["10.0.0.0/8", "2001:db8:ffff::/48"];

    expect(resolve(trusted, "10.0.0.5", "198.51.100.1:4711, ,")).toBe("198.51.100.1");
    expect(resolve(trusted, "10.0.0.5", "[2001:db8::7]:443")).toBe("2001:db8::7");
    expect(resolve(trusted, "2001:db8:ffff::1", "2001:DB8:0::8")).toBe("2001:db8::8");
  });

  it("is the leftmost hop when every hop is a trusted proxy", () => {
    expect(resolve(["10.0.0.0/8"], "10.0.0.5", "10.9.9.9, 10.1.1.1")).toBe("10.9.9.9");
  });
});
