import { afterEach, describe, expect, it } from "bun:test";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

let world: World;

async function receiver(allowlist: string, env: Record<string, string> = {}) {
  world = await createWorld({ WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: allowlist, ...env });
  return world;
}

afterEach(async () => {
  await world.close();
});

async function postFrom(peer: string, headers: Record<string, string> = {}) {
  world.peer = peer;
  return world.post(sampleEvent(), { headers });
}

async function recorded() {
  await world.flush();
  return {
    events: world.rows<{ source_ip: string }>("SELECT source_ip FROM events ORDER BY seq"),
    deliveries: world.rows<{ source_ip: string; status: number; reason: string | null }>(
      "SELECT source_ip, status, reason FROM deliveries ORDER BY id",
    ),
  };
}

describe("the ip verifier", () => {
  it("accepts an address on the allowlist and refuses others with 403", async () => {
    await receiver("192.0.2.0/24,198.51.100.7");

    expect((await postFrom("192.0.2.200")).status).toBe(200);
    expect((await postFrom("198.51.100.7")).status).toBe(200);
    const refused = await postFrom("198.51.100.8");

    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: "forbidden",
      message: "This address may not post events.",
    });
    expect((await recorded()).deliveries[2]).toMatchObject({
      status: 403,
      source_ip: "198.51.100.8",
      reason: "forbidden: ip: 198.51.100.8 is not in WEBHOOK_IP_ALLOWLIST",
    });
  });

  it("matches an IPv4-mapped IPv6 peer against an IPv4 CIDR, and records it as IPv4", async () => {
    await receiver("203.0.113.0/24");

    expect((await postFrom("::ffff:203.0.113.9")).status).toBe(200);
    expect((await postFrom("::ffff:192.0.2.9")).status).toBe(403);
    const { events, deliveries } = await recorded();
    expect(events.map((row) => row.source_ip)).toEqual(["203.0.113.9"]);
    expect(deliveries.map((row) => row.source_ip)).toEqual(["203.0.113.9", "192.0.2.9"]);
  });

  it("matches IPv6 addresses against an IPv6 CIDR", async () => {
    await receiver("2001:db8:abcd::/48");

    expect((await postFrom("2001:db8:abcd:12::5")).status).toBe(200);
    expect((await postFrom("2001:DB8:ABCD:0:0:0:0:1")).status).toBe(200);
    expect((await postFrom("2001:db8:abce::1")).status).toBe(403);
    expect((await postFrom("203.0.113.9")).status).toBe(403);
  });

  it("ignores X-Forwarded-For when no proxy is trusted", async () => {
    await receiver("192.0.2.10");

    const spoofed = await postFrom("203.0.113.66", { "x-forwarded-for": "192.0.2.10" });

    expect(spoofed.status).toBe(403);
    expect((await recorded()).deliveries[0]?.source_ip).toBe("203.0.113.66");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    await receiver("192.0.2.10", { TRUSTED_PROXIES: "10.0.0.0/8" });

    expect((await postFrom("203.0.113.66", { "x-forwarded-for": "192.0.2.10" })).status).toBe(403);
  });

  it("checks and stores the forwarded address behind a trusted proxy", async () => {
    await receiver("192.0.2.10", { TRUSTED_PROXIES: "10.0.0.5" });

    expect((await postFrom("10.0.0.5", { "x-forwarded-for": "192.0.2.10" })).status).toBe(200);
    expect((await postFrom("10.0.0.5", { "x-forwarded-for": "203.0.113.66" })).status).toBe(403);
    const { events, deliveries } = await recorded();
    expect(events.map((row) => row.source_ip)).toEqual(["192.0.2.10"]);
    expect(deliveries.map((row) => row.source_ip)).toEqual(["192.0.2.10", "203.0.113.66"]);
  });

  it("takes the first untrusted hop from the right, so a spoofed left part is ignored", async () => {
    await receiver("192.0.2.10", { TRUSTED_PROXIES: "10.0.0.0/8" });

    // The caller wrote 192.0.2.10; the proxy appended the caller's real address.
    const spoofed = await postFrom("10.0.0.5", { "x-forwarded-for": "192.0.2.10, 203.0.113.66" });
    // Two trusted proxies in a row are skipped.
    const chained = await postFrom("10.0.0.5", {
      "x-forwarded-for": "203.0.113.66, 192.0.2.10, 10.1.2.3",
    });

    expect(spoofed.status).toBe(403);
    expect(chained.status).toBe(200);
  });

  it("refuses a request whose client a trusted proxy could not name", async () => {
    await receiver("10.0.0.0/8", { TRUSTED_PROXIES: "10.0.0.5" });

    const response = await postFrom("10.0.0.5", { "x-forwarded-for": "unknown" });

    expect(response.status).toBe(403);
    expect((await recorded()).deliveries[0]).toMatchObject({
      source_ip: null,
      reason: "forbidden: ip: the client address is unknown",
    });
  });
});
