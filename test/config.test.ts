import { describe, expect, it } from "bun:test";
import { ConfigError, loadConfig } from "../src/config.ts";

const minimal = { WEBHOOK_VERIFIERS: "none" };

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(minimal);

    expect(config).toMatchObject({
      port: 3000,
      host: "0.0.0.0",
      databasePath: "./data/maildesk.db",
      maxBodyBytes: 1024 * 1024,
      log: { level: "info", format: "json" },
      verifiers: ["none"],
    });
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ ...minimal, PORT: "", LOG_LEVEL: "  " }).port).toBe(3000);
  });

  it("accepts file: URLs, absolute file URLs and bare paths for DATABASE_URL", () => {
    const path = (url: string) => loadConfig({ ...minimal, DATABASE_URL: url }).databasePath;

    expect(path("file:./data/x.db")).toBe("./data/x.db");
    expect(path("file:///var/lib/maildesk/x.db")).toBe("/var/lib/maildesk/x.db");
    expect(path("file:x.db?mode=rwc")).toBe("x.db");
    expect(path("/srv/x.db")).toBe("/srv/x.db");
  });

  it("applies the documented defaults of the verifiers' settings", () => {
    const config = loadConfig(minimal);

    expect(config.trustedProxies).toEqual([]);
    expect(config.verify).toEqual({
      urlSecrets: [],
      basic: { user: null, password: null, previousPassword: null },
      ip: { allowlist: [] },
      hmac: {
        secrets: [],
        scheme: "standard-webhooks",
        toleranceSeconds: 300,
        header: null,
        algorithm: "sha256",
        encoding: "hex",
        prefix: null,
      },
    });
  });

  it("splits list variables on commas, trimming and dropping empty entries", () => {
    const config = loadConfig({
      ...minimal,
      WEBHOOK_URL_SECRETS: " first-secret-0123456 ,, second-secret-0123456,",
      WEBHOOK_IP_ALLOWLIST: "192.0.2.0/24, 2001:db8::/32",
      TRUSTED_PROXIES: "10.0.0.1",
    });

    expect(config.verify.urlSecrets).toEqual(["first-secret-0123456", "second-secret-0123456"]);
    expect(config.verify.ip.allowlist).toEqual(["192.0.2.0/24", "2001:db8::/32"]);
    expect(config.trustedProxies).toEqual(["10.0.0.1"]);
  });

  it("normalises the verifier list: case, spaces and repeats", () => {
    expect(loadConfig({ WEBHOOK_VERIFIERS: " HMAC, ip,hmac " }).verifiers).toEqual(["hmac", "ip"]);
  });

  it("returns a frozen configuration", () => {
    const config = loadConfig(minimal);

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ingest)).toBe(true);
  });

  const refusals: [Record<string, string>, RegExp][] = [
    [{}, /^WEBHOOK_VERIFIERS is not set/],
    [{ WEBHOOK_VERIFIERS: " , " }, /^WEBHOOK_VERIFIERS is not set/],
    [{ ...minimal, PORT: "0" }, /^PORT must be a TCP port number \(1-65535\); got "0"$/],
    [{ ...minimal, PORT: "3000.5" }, /^PORT must be/],
    [{ ...minimal, MAX_BODY_BYTES: "1mb" }, /^MAX_BODY_BYTES must be a size in bytes/],
    [{ ...minimal, LOG_LEVEL: "verbose" }, /^LOG_LEVEL must be one of trace, debug, info/],
    [{ ...minimal, DATABASE_URL: "mysql://x/y" }, /^DATABASE_URL must be a SQLite file/],
    [{ WEBHOOK_VERIFIERS: "hmac,carrier-pigeon" }, /unknown verifier "carrier-pigeon"/],
    [{ WEBHOOK_VERIFIERS: "none,ip" }, /cannot combine "none"/],
    [{ ...minimal, WEBHOOK_HMAC_SCHEME: "svix" }, /^WEBHOOK_HMAC_SCHEME must be one of/],
    [{ ...minimal, WEBHOOK_HMAC_TOLERANCE_SECONDS: "5m" }, /^WEBHOOK_HMAC_TOLERANCE_SECONDS must/],
    [{ ...minimal, WEBHOOK_HMAC_TOLERANCE_SECONDS: "0" }, /^WEBHOOK_HMAC_TOLERANCE_SECONDS must/],
    [{ ...minimal, WEBHOOK_HMAC_ALGORITHM: "md5" }, /^WEBHOOK_HMAC_ALGORITHM must be one of/],
    [{ ...minimal, WEBHOOK_HMAC_ENCODING: "base32" }, /^WEBHOOK_HMAC_ENCODING must be hex or/],
  ];
  for (const [env, message] of refusals) {
    it(`refuses ${JSON.stringify(env)} with a message naming the variable`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    });
  }
});
