import { describe, expect, it } from "bun:test";
import { ConfigError, describeSettings, loadConfig } from "../src/config.ts";

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

  it("applies the worker's documented defaults, with forwarding off", () => {
    const config = loadConfig(minimal);

    expect(config.worker).toEqual({
      pollMs: 1000,
      batchSize: 8192,
      maxAttempts: 15,
      backoffBaseMs: 1000,
      backoffMaxMs: 3_600_000,
      leaseMs: 30_000,
      handlerTimeoutMs: 15_000,
      shutdownTimeoutMs: 5000,
    });
    expect(config.forward).toBeNull();
  });

  it("turns forwarding on with FORWARD_URL, unsigned without FORWARD_SECRET", () => {
    const config = loadConfig({ ...minimal, FORWARD_URL: "https://hooks.internal/maildesk" });

    expect(config.forward).toEqual({
      url: "https://hooks.internal/maildesk",
      signingKeyBase64: null,
      timeoutMs: 10_000,
      concurrency: 16,
    });
  });

  it("decodes a whsec_ FORWARD_SECRET and takes a raw one as its UTF-8 bytes", () => {
    const key = Buffer.from("sixteen byte key").toString("base64");
    const forward = (secret: string) =>
      loadConfig({ ...minimal, FORWARD_URL: "http://127.0.0.1:9/", FORWARD_SECRET: secret })
        .forward;

    expect(forward(`whsec_${key}`)?.signingKeyBase64).toBe(key);
    expect(forward("sixteen byte key")?.signingKeyBase64).toBe(key);
  });

  it("does not echo a FORWARD_URL it refuses, which may carry credentials", () => {
    expect(() => loadConfig({ ...minimal, FORWARD_URL: "ftp://user:hunter2@host/" })).toThrow(
      /^FORWARD_URL must be an http:\/\/ or https:\/\/ URL$/,
    );
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
    [{ ...minimal, WORKER_BATCH_SIZE: "0" }, /^WORKER_BATCH_SIZE must be a count of rows/],
    [{ ...minimal, WORKER_POLL_MS: "soon" }, /^WORKER_POLL_MS must be a time in milliseconds/],
    [{ ...minimal, WORKER_MAX_ATTEMPTS: "0" }, /^WORKER_MAX_ATTEMPTS must be a count/],
    [
      { ...minimal, WORKER_BACKOFF_BASE_MS: "5000", WORKER_BACKOFF_MAX_MS: "1000" },
      /^WORKER_BACKOFF_BASE_MS \(5000\) must not exceed WORKER_BACKOFF_MAX_MS \(1000\)$/,
    ],
    [
      { ...minimal, WORKER_HANDLER_TIMEOUT_MS: "30000" },
      /^WORKER_HANDLER_TIMEOUT_MS \(30000\) must be shorter than WORKER_LEASE_MS \(30000\)$/,
    ],
    [{ ...minimal, FORWARD_URL: "not a url" }, /^FORWARD_URL must be an http/],
    [
      { ...minimal, FORWARD_SECRET: "whsec_c2l4dGVlbiBieXRlIGtleQ==" },
      /^FORWARD_SECRET is set but FORWARD_URL is not/,
    ],
    [
      { ...minimal, FORWARD_URL: "http://x/", FORWARD_SECRET: "whsec_not base64!" },
      /^FORWARD_SECRET must be whsec_ .*; the part after whsec_ is not base64$/,
    ],
    [
      { ...minimal, FORWARD_URL: "http://x/", FORWARD_SECRET: "short" },
      /^FORWARD_SECRET must be .*; got 5 bytes$/,
    ],
    [{ ...minimal, FORWARD_TIMEOUT_MS: "5" }, /^FORWARD_TIMEOUT_MS must be a time in milliseconds/],
    [
      { ...minimal, ADMIN_TOKEN: "same-token-0123456789", METRICS_TOKEN: "same-token-0123456789" },
      /^METRICS_TOKEN must differ from ADMIN_TOKEN$/,
    ],
    [
      {
        ...minimal,
        ADMIN_TOKEN: "shared-secret-0123456789",
        WEBHOOK_URL_SECRETS: "other-secret-0123456789,shared-secret-0123456789",
      },
      /^ADMIN_TOKEN must differ from every WEBHOOK_\* secret and password$/,
    ],
    [
      {
        ...minimal,
        METRICS_TOKEN: "shared-secret-0123456789",
        WEBHOOK_BASIC_PASSWORD: "shared-secret-0123456789",
      },
      /^METRICS_TOKEN must differ from every WEBHOOK_\* secret and password$/,
    ],
  ];
  for (const [env, message] of refusals) {
    it(`refuses ${JSON.stringify(env)} with a message naming the variable`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    });
  }
});

describe("loadConfig for commands that receive no webhooks", () => {
  it("takes an unset WEBHOOK_VERIFIERS as an empty list", () => {
    expect(loadConfig({}, { requireVerifiers: false }).verifiers).toEqual([]);
    expect(loadConfig({ WEBHOOK_VERIFIERS: " " }, { requireVerifiers: false }).verifiers).toEqual(
      [],
    );
  });

  it("still checks a list that is set", () => {
    expect(() =>
      loadConfig({ WEBHOOK_VERIFIERS: "telepathy" }, { requireVerifiers: false }),
    ).toThrow(/unknown verifier "telepathy"/);
    expect(
      loadConfig({ WEBHOOK_VERIFIERS: "hmac" }, { requireVerifiers: false }).verifiers,
    ).toEqual(["hmac"]);
  });
});

describe("describeSettings", () => {
  const view = (env: Record<string, string>) =>
    new Map(describeSettings(env).map((setting) => [setting.name, setting]));

  it("lists every variable with its value in effect and where it came from", () => {
    const settings = view({ PORT: "8080", LOG_LEVEL: " " });

    expect(settings.get("PORT")).toEqual({
      name: "PORT",
      value: 8080,
      source: "environment",
      masked: false,
    });
    expect(settings.get("LOG_LEVEL")).toMatchObject({ value: "info", source: "default" });
    expect(settings.get("FORWARD_URL")).toMatchObject({ value: null, source: "unset" });
    expect(settings.size).toBeGreaterThanOrEqual(40);
  });

  it("masks every variable that holds a secret, saying how many values are set", () => {
    const settings = describeSettings({
      ADMIN_TOKEN: "a-token-of-some-length",
      METRICS_TOKEN: "another-token-of-some-length",
      WEBHOOK_URL_SECRETS: "s1-0123456789abcdef,s2-0123456789abcdef, s3-0123456789abcdef",
      WEBHOOK_BASIC_PASSWORD: "pw",
      WEBHOOK_BASIC_PASSWORD_PREVIOUS: "old pw",
      WEBHOOK_HMAC_SECRETS: "whsec_AAAA",
      FORWARD_SECRET: "whsec_BBBB",
    });
    const secretNames = settings
      .map((setting) => setting.name)
      .filter((name) => /TOKEN|SECRET|PASSWORD/.test(name));

    expect(secretNames).toHaveLength(7);
    for (const name of secretNames) {
      const setting = settings.find((candidate) => candidate.name === name);
      expect({ name, masked: setting?.masked }).toEqual({ name, masked: true });
      expect(setting?.value).toMatch(/^\((set|\d+ values), masked\)$/);
    }
    expect(settings.find((s) => s.name === "WEBHOOK_URL_SECRETS")?.value).toBe(
      "(3 values, masked)",
    );
  });

  it("masks the credentials of FORWARD_URL and leaves a plain one as it is", () => {
    const url = (value: string) => view({ FORWARD_URL: value }).get("FORWARD_URL");

    expect(url("https://user:pass@hooks.internal/in?key=abc&key=def#frag")).toMatchObject({
      value: "https://***:***@hooks.internal/in?key=***#***",
      masked: true,
    });
    expect(url("http://hooks.internal:8080/in")).toMatchObject({
      value: "http://hooks.internal:8080/in",
      masked: false,
    });
    expect(url("not a url with hunter2")).toMatchObject({ value: "(not a URL, masked)" });
  });
});
