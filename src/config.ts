/**
 * Configuration: the one module that reads the environment.
 *
 * Every variable, its default and its rule are declared once, in `ENV_SCHEMA`
 * below. `loadConfig` takes a plain record (the process environment, or a test's
 * own), fills in defaults, converts and validates it with TypeBox, and returns a
 * frozen `Config`. A variable that breaks its rule makes it throw a `ConfigError`
 * that names the variable, so that `main` can refuse to start with that message.
 *
 * Bun reads a `.env` file from the working directory into `process.env` before
 * any of this runs; variables already set in the environment win over the file.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** A setting that stops the program from starting; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
const VERIFIER_NAMES = ["none", "url-secret", "basic", "ip", "hmac"] as const;
const HMAC_SCHEMES = ["standard-webhooks", "github", "stripe", "custom"] as const;
const HMAC_ALGORITHMS = ["sha256", "sha512", "sha1"] as const;
const HMAC_ENCODINGS = ["hex", "base64"] as const;

/** A verifier that `WEBHOOK_VERIFIERS` may list. */
export type VerifierName = (typeof VERIFIER_NAMES)[number];

/** How the `hmac` verifier finds and checks the signature (`WEBHOOK_HMAC_SCHEME`). */
export type HmacSchemeName = (typeof HMAC_SCHEMES)[number];

/** The digest of the `custom` HMAC scheme (`WEBHOOK_HMAC_ALGORITHM`). */
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

/** How the `custom` HMAC scheme writes the signature (`WEBHOOK_HMAC_ENCODING`). */
export type HmacEncoding = (typeof HMAC_ENCODINGS)[number];

function literals<T extends readonly string[]>(values: T, hint: string, fallback?: T[number]) {
  const options = fallback === undefined ? { hint } : { hint, default: fallback };
  return Type.Unsafe<T[number]>(
    Type.Union(
      values.map((value) => Type.Literal(value)),
      options,
    ),
  );
}

function optionalText(hint: string) {
  return Type.Optional(Type.String({ hint }));
}

/**
 * A variable holding a secret (or a list of them): never echoed in an error
 * and masked by `describeSettings`.
 */
function optionalSecret(hint: string, rule: { pattern?: string } = {}) {
  return Type.Optional(Type.String({ hint, secret: true, ...rule }));
}

function integer(hint: string, minimum: number, maximum: number, fallback?: number) {
  return Type.Integer(
    fallback === undefined
      ? { hint, minimum, maximum }
      : { hint, minimum, maximum, default: fallback },
  );
}

const MIB = 1024 * 1024;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Bearer tokens (`ADMIN_TOKEN`, `METRICS_TOKEN`) are at least this long. */
const MIN_TOKEN_LENGTH = 16;
/** Printable ASCII without spaces: what fits an `Authorization: Bearer` header as typed. */
const TOKEN_PATTERN = `^[\\x21-\\x7e]{${MIN_TOKEN_LENGTH},}$`;

/** ADMIN_TOKEN and METRICS_TOKEN: printable, no spaces, long enough. */
function bearerToken() {
  return optionalSecret(`a token of at least ${MIN_TOKEN_LENGTH} characters with no spaces`, {
    pattern: TOKEN_PATTERN,
  });
}

/**
 * The environment, as variables. `hint` is what the error message says the value
 * must be; `default` is used when the variable is unset or empty.
 */
const ENV_SCHEMA = Type.Object({
  PORT: integer("a TCP port number (1-65535)", 1, 65_535, 3000),
  HOST: Type.String({ hint: "an address to listen on", minLength: 1, default: "0.0.0.0" }),
  DATABASE_URL: Type.String({
    hint: "a SQLite file: file:./path, file:///absolute/path or a bare path",
    minLength: 1,
    default: "file:./data/maildesk.db",
  }),
  MAX_BODY_BYTES: integer("a size in bytes (1 KiB to 64 MiB)", 1024, 64 * MIB, MIB),
  LOG_LEVEL: literals(LOG_LEVELS, `one of ${LOG_LEVELS.join(", ")}`, "info"),
  LOG_FORMAT: literals(["json", "pretty"] as const, "json or pretty", "json"),
  WEBHOOK_VERIFIERS: optionalText("a comma-separated list"),
  // The verifiers' settings. Which of them a listed verifier needs, and their
  // finer rules (lengths, address syntax, base64 keys), are checked by the
  // verifier itself when it is created at start-up: see src/verify/.
  WEBHOOK_URL_SECRETS: optionalSecret("a comma-separated list of secrets"),
  WEBHOOK_BASIC_USER: optionalText("a user name"),
  WEBHOOK_BASIC_PASSWORD: optionalSecret("a password"),
  WEBHOOK_BASIC_PASSWORD_PREVIOUS: optionalSecret("a password"),
  WEBHOOK_IP_ALLOWLIST: optionalText("a comma-separated list of addresses and CIDRs"),
  TRUSTED_PROXIES: optionalText("a comma-separated list of addresses and CIDRs"),
  WEBHOOK_HMAC_SECRETS: optionalSecret("a comma-separated list of secrets"),
  WEBHOOK_HMAC_SCHEME: literals(
    HMAC_SCHEMES,
    `one of ${HMAC_SCHEMES.join(", ")}`,
    "standard-webhooks",
  ),
  WEBHOOK_HMAC_TOLERANCE_SECONDS: integer("a time in seconds (1-86400)", 1, 86_400, 300),
  WEBHOOK_HMAC_HEADER: optionalText("a header name"),
  WEBHOOK_HMAC_ALGORITHM: literals(
    HMAC_ALGORITHMS,
    `one of ${HMAC_ALGORITHMS.join(", ")}`,
    "sha256",
  ),
  WEBHOOK_HMAC_ENCODING: literals(HMAC_ENCODINGS, "hex or base64", "hex"),
  WEBHOOK_HMAC_PREFIX: optionalText("the text before the signature"),
  INGEST_MAX_PENDING: integer("a count of requests (1-1000000)", 1, 1_000_000, 2000),
  INGEST_MAX_PENDING_BYTES: integer(
    "a size in bytes (64 KiB to 4 GiB)",
    64 * 1024,
    4096 * MIB,
    64 * MIB,
  ),
  SQLITE_BUSY_TIMEOUT_MS: integer("a time in milliseconds (0-600000)", 0, 600_000, 5000),
  SHUTDOWN_TIMEOUT_MS: integer("a time in milliseconds (0-600000)", 0, 600_000, 10_000),
  ADMIN_TOKEN: bearerToken(),
  METRICS_TOKEN: bearerToken(),
  RETENTION_DELIVERIES_DAYS: integer(
    "a number of days (0-36500; 0 keeps them forever)",
    0,
    36_500,
    30,
  ),
  RETENTION_EVENTS_DAYS: Type.Optional(integer("a number of days (1-36500)", 1, 36_500)),
  // The outbox worker and its handlers; src/worker/ says what each does.
  WORKER_POLL_MS: integer("a time in milliseconds (10-3600000)", 10, 3_600_000, 1000),
  WORKER_BATCH_SIZE: integer("a count of rows (1-10000)", 1, 10_000, 8192),
  WORKER_MAX_ATTEMPTS: integer("a count of attempts (1-1000)", 1, 1000, 15),
  WORKER_BACKOFF_BASE_MS: integer("a time in milliseconds (1-86400000)", 1, DAY_MS, 1000),
  WORKER_BACKOFF_MAX_MS: integer("a time in milliseconds (1-604800000)", 1, 7 * DAY_MS, HOUR_MS),
  WORKER_LEASE_MS: integer("a time in milliseconds (100-86400000)", 100, DAY_MS, 30_000),
  WORKER_HANDLER_TIMEOUT_MS: integer("a time in milliseconds (10-86400000)", 10, DAY_MS, 15_000),
  WORKER_SHUTDOWN_TIMEOUT_MS: integer("a time in milliseconds (0-600000)", 0, 600_000, 5000),
  FORWARD_URL: Type.Optional(Type.String({ hint: "an http:// or https:// URL" })),
  FORWARD_SECRET: optionalSecret(
    "whsec_ followed by a base64 key, or a raw secret of 16 bytes or more",
  ),
  FORWARD_TIMEOUT_MS: integer("a time in milliseconds (10-600000)", 10, 600_000, 10_000),
  FORWARD_CONCURRENCY: integer("a count of requests (1-1000)", 1, 1000, 16),
});

type Env = Static<typeof ENV_SCHEMA>;

/** The resolved, validated settings of one run. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Path of the SQLite file, as given (relative paths are against the working directory). */
  readonly databasePath: string;
  readonly maxBodyBytes: number;
  readonly log: { readonly level: (typeof LOG_LEVELS)[number]; readonly format: "json" | "pretty" };
  readonly verifiers: readonly VerifierName[];
  /** The verifiers' settings, as written; each verifier checks its own at start-up. */
  readonly verify: VerifySettings;
  /**
   * Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): addresses
   * and CIDRs, parsed by the client-address resolver. Empty: none.
   */
  readonly trustedProxies: readonly string[];
  readonly ingest: {
    /** Requests that may wait for a commit at once; beyond, 503 (load shedding). */
    readonly maxPending: number;
    /** Body bytes that may wait for a commit at once; beyond, 503. */
    readonly maxPendingBytes: number;
  };
  readonly sqliteBusyTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly worker: WorkerConfig;
  /** Forwarding of every event to an internal URL; `null` when `FORWARD_URL` is unset. */
  readonly forward: ForwardConfig | null;
  /**
   * The bearer token of `/api`. `null`: the one generated at first start and
   * kept in the database is used (see `admin-token`).
   */
  readonly adminToken: string | null;
  /** The bearer token `/metrics` asks for; `null`: `/metrics` is open. */
  readonly metricsToken: string | null;
  readonly retention: {
    /** Delivery-log rows older than this are deleted; `null`: kept forever. */
    readonly deliveriesDays: number | null;
    /** Fully processed events older than this are deleted; `null`: kept forever. */
    readonly eventsDays: number | null;
  };
}

/** The settings of the verifiers. Lists are split on commas and trimmed; unset is empty. */
export interface VerifySettings {
  readonly urlSecrets: readonly string[];
  readonly basic: {
    readonly user: string | null;
    readonly password: string | null;
    /** Also accepted while Maildesk moves to a new password. */
    readonly previousPassword: string | null;
  };
  readonly ip: { readonly allowlist: readonly string[] };
  readonly hmac: HmacSettings;
}

/** The settings of the `hmac` verifier. */
export interface HmacSettings {
  readonly secrets: readonly string[];
  readonly scheme: HmacSchemeName;
  readonly toleranceSeconds: number;
  /** The `custom` scheme's header, algorithm, encoding and prefix. */
  readonly header: string | null;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: HmacEncoding;
  readonly prefix: string | null;
}

/** The outbox worker's settings (`WORKER_*`). */
export interface WorkerConfig {
  /** The longest wait between two looks at the outbox when nothing wakes the worker. */
  readonly pollMs: number;
  /**
   * Rows claimed per handler and iteration at most; while events are
   * arriving, database batches are cut to a few milliseconds of work.
   */
  readonly batchSize: number;
  /** Attempts of a row before it goes to the dead letter. */
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** How long a claimed row is the worker's; then it can be claimed again. */
  readonly leaseMs: number;
  /** How long a handler that does I/O may run before it is cut off (a retryable failure). */
  readonly handlerTimeoutMs: number;
  /** On shutdown, how long handlers in flight may take to finish before their rows are released. */
  readonly shutdownTimeoutMs: number;
}

/** The `forward` handler's settings (`FORWARD_*`). */
export interface ForwardConfig {
  readonly url: string;
  /**
   * The Standard Webhooks signing key, base64 (decoded from `whsec_…`, or the
   * raw secret's UTF-8 bytes); `null`: requests are not signed.
   */
  readonly signingKeyBase64: string | null;
  readonly timeoutMs: number;
  /** Forwards under way at most at once. */
  readonly concurrency: number;
}

/**
 * The webhook endpoint and the API never share a credential: Maildesk holds
 * the webhook's secrets, and whoever reads them there must not be able to
 * replay events or read the store. The values are not echoed.
 */
function refuseSharedCredentials(values: Env): void {
  if (values.METRICS_TOKEN !== undefined && values.METRICS_TOKEN === values.ADMIN_TOKEN) {
    // A scraper's token must not open the API: whoever holds it could replay events.
    throw new ConfigError("METRICS_TOKEN must differ from ADMIN_TOKEN");
  }
  const webhookSecrets = [
    ...splitList(values.WEBHOOK_URL_SECRETS),
    ...splitList(values.WEBHOOK_HMAC_SECRETS),
    values.WEBHOOK_BASIC_PASSWORD,
    values.WEBHOOK_BASIC_PASSWORD_PREVIOUS,
  ].filter((secret): secret is string => secret !== undefined);
  for (const name of ["ADMIN_TOKEN", "METRICS_TOKEN"] as const) {
    const token = values[name];
    if (token !== undefined && webhookSecrets.includes(token)) {
      throw new ConfigError(`${name} must differ from every WEBHOOK_* secret and password`);
    }
  }
}

/** What `loadConfig` asks of the environment beyond each variable's rule. */
export interface LoadConfigOptions {
  /**
   * Refuse an unset `WEBHOOK_VERIFIERS` (the default): `serve` must be told
   * how to verify requests. Commands that receive no webhooks (`migrate`,
   * `backup`, …) pass `false` and get an empty `verifiers` list instead; a
   * list that is set is checked either way.
   */
  readonly requireVerifiers?: boolean;
}

/** Reads `env` once, applies defaults and rules, and returns a frozen `Config`. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: LoadConfigOptions = {},
): Config {
  const values = validateEnv(env);
  refuseSharedCredentials(values);

  return deepFreeze({
    port: values.PORT,
    host: values.HOST,
    databasePath: parseDatabaseUrl(values.DATABASE_URL),
    maxBodyBytes: values.MAX_BODY_BYTES,
    log: { level: values.LOG_LEVEL, format: values.LOG_FORMAT },
    verifiers: parseVerifiers(values.WEBHOOK_VERIFIERS, options.requireVerifiers ?? true),
    verify: {
      urlSecrets: splitList(values.WEBHOOK_URL_SECRETS),
      basic: {
        user: values.WEBHOOK_BASIC_USER ?? null,
        password: values.WEBHOOK_BASIC_PASSWORD ?? null,
        previousPassword: values.WEBHOOK_BASIC_PASSWORD_PREVIOUS ?? null,
      },
      ip: { allowlist: splitList(values.WEBHOOK_IP_ALLOWLIST) },
      hmac: {
        secrets: splitList(values.WEBHOOK_HMAC_SECRETS),
        scheme: values.WEBHOOK_HMAC_SCHEME,
        toleranceSeconds: values.WEBHOOK_HMAC_TOLERANCE_SECONDS,
        header: values.WEBHOOK_HMAC_HEADER ?? null,
        algorithm: values.WEBHOOK_HMAC_ALGORITHM,
        encoding: values.WEBHOOK_HMAC_ENCODING,
        prefix: values.WEBHOOK_HMAC_PREFIX ?? null,
      },
    },
    trustedProxies: splitList(values.TRUSTED_PROXIES),
    ingest: {
      maxPending: values.INGEST_MAX_PENDING,
      maxPendingBytes: values.INGEST_MAX_PENDING_BYTES,
    },
    sqliteBusyTimeoutMs: values.SQLITE_BUSY_TIMEOUT_MS,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    adminToken: values.ADMIN_TOKEN ?? null,
    metricsToken: values.METRICS_TOKEN ?? null,
    retention: {
      deliveriesDays:
        values.RETENTION_DELIVERIES_DAYS === 0 ? null : values.RETENTION_DELIVERIES_DAYS,
      eventsDays: values.RETENTION_EVENTS_DAYS ?? null,
    },
    worker: resolveWorker(values),
    forward: resolveForward(values),
  });
}

function validateEnv(env: Readonly<Record<string, string | undefined>>): Env {
  const known: Record<string, string> = {};
  for (const name of Object.keys(ENV_SCHEMA.properties)) {
    const value = env[name]?.trim();
    if (value) known[name] = value;
  }

  // TypeBox converts "3000.5" to an integer by truncating it; refuse such
  // values before converting, so that what runs is what was written.
  for (const [name, value] of Object.entries(known)) {
    const schema: TSchema = ENV_SCHEMA.properties[name as keyof Env];
    if (schema.type === "integer" && !/^\d+$/.test(value)) throw invalidValue(name, value);
  }

  const values = Value.Convert(ENV_SCHEMA, Value.Default(ENV_SCHEMA, known));
  const firstError = Value.Errors(ENV_SCHEMA, values).First();
  if (firstError) {
    const name = firstError.path.split("/")[1] ?? firstError.path;
    throw invalidValue(name, known[name]);
  }
  return values as Env;
}

function invalidValue(name: string, value: string | undefined): ConfigError {
  const schema: TSchema | undefined = ENV_SCHEMA.properties[name as keyof Env];
  // A secret is never echoed, not even a wrong one: it may be almost right.
  const got = isSecret(name) ? `got a value of ${value?.length ?? 0} characters` : `got "${value}"`;
  return new ConfigError(`${name} must be ${schema?.hint ?? "valid"}; ${got}`);
}

function resolveWorker(values: Env): WorkerConfig {
  if (values.WORKER_BACKOFF_BASE_MS > values.WORKER_BACKOFF_MAX_MS) {
    throw new ConfigError(
      `WORKER_BACKOFF_BASE_MS (${values.WORKER_BACKOFF_BASE_MS}) must not exceed ` +
        `WORKER_BACKOFF_MAX_MS (${values.WORKER_BACKOFF_MAX_MS})`,
    );
  }
  // A handler still running when its lease ends could be claimed a second
  // time; cutting it off first keeps one attempt at a time per row.
  if (values.WORKER_HANDLER_TIMEOUT_MS >= values.WORKER_LEASE_MS) {
    throw new ConfigError(
      `WORKER_HANDLER_TIMEOUT_MS (${values.WORKER_HANDLER_TIMEOUT_MS}) must be shorter than ` +
        `WORKER_LEASE_MS (${values.WORKER_LEASE_MS})`,
    );
  }
  return {
    pollMs: values.WORKER_POLL_MS,
    batchSize: values.WORKER_BATCH_SIZE,
    maxAttempts: values.WORKER_MAX_ATTEMPTS,
    backoffBaseMs: values.WORKER_BACKOFF_BASE_MS,
    backoffMaxMs: values.WORKER_BACKOFF_MAX_MS,
    leaseMs: values.WORKER_LEASE_MS,
    handlerTimeoutMs: values.WORKER_HANDLER_TIMEOUT_MS,
    shutdownTimeoutMs: values.WORKER_SHUTDOWN_TIMEOUT_MS,
  };
}

/** Standard Webhooks keys are at least this long; shorter secrets are guessable. */
const MIN_FORWARD_KEY_BYTES = 16;
const WHSEC_PREFIX = "whsec_";

function resolveForward(values: Env): ForwardConfig | null {
  const { FORWARD_URL: url, FORWARD_SECRET: secret } = values;
  if (url === undefined) {
    if (secret !== undefined) {
      throw new ConfigError("FORWARD_SECRET is set but FORWARD_URL is not: set both, or neither");
    }
    return null;
  }

  // The value is not echoed: a URL may carry credentials.
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") {
    throw new ConfigError("FORWARD_URL must be an http:// or https:// URL");
  }
  return {
    url: parsed.href,
    signingKeyBase64: parseSigningKey(secret),
    timeoutMs: values.FORWARD_TIMEOUT_MS,
    concurrency: values.FORWARD_CONCURRENCY,
  };
}

/**
 * `whsec_<base64>` is decoded, as Standard Webhooks libraries do; anything
 * else is used as written.
 */
function parseSigningKey(secret: string | undefined): string | null {
  if (secret === undefined) return null;
  const rule =
    `FORWARD_SECRET must be whsec_ followed by a base64 key of ${MIN_FORWARD_KEY_BYTES} ` +
    `bytes or more, or a raw secret of ${MIN_FORWARD_KEY_BYTES} bytes or more`;
  let key: Buffer;
  if (secret.startsWith(WHSEC_PREFIX)) {
    const encoded = secret.slice(WHSEC_PREFIX.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      throw new ConfigError(`${rule}; the part after whsec_ is not base64`);
    }
    key = Buffer.from(encoded, "base64");
  } else {
    key = Buffer.from(secret, "utf8");
  }
  if (key.byteLength < MIN_FORWARD_KEY_BYTES) {
    throw new ConfigError(`${rule}; got ${key.byteLength} bytes`);
  }
  return key.toString("base64");
}

/**
 * Whether a variable holds a secret: declared so (`optionalSecret`), or
 * named like one, so that a new variable is masked even if its declaration
 * forgets to say so.
 */
function isSecret(name: string): boolean {
  const schema: TSchema | undefined = ENV_SCHEMA.properties[name as keyof Env];
  return schema?.secret === true || /TOKEN|SECRET|PASSWORD/.test(name);
}

/** Variables whose value is a URL that may carry credentials in it. */
const URL_NAMES: ReadonlySet<string> = new Set(["FORWARD_URL"]);

/** One variable as `maildesk-receiver config` shows it. */
export interface SettingView {
  readonly name: string;
  /**
   * The value in effect, converted and with its default applied; masked
   * where it is or holds a secret; `null` when unset and without default.
   */
  readonly value: string | number | null;
  /** `environment` (or the `.env` file), `default`, or `unset`. */
  readonly source: "environment" | "default" | "unset";
  /** Whether `value` was masked (or left out) because it holds a secret. */
  readonly masked: boolean;
}

/**
 * Every variable with the value in effect, for display. Secret values never
 * leave this module: a token, password or secret list shows as how many
 * values are set, and a URL loses its user, password and query values.
 * Throws a `ConfigError` as `loadConfig` does for a malformed value.
 */
export function describeSettings(env: Readonly<Record<string, string | undefined>>): SettingView[] {
  const values = validateEnv(env) as Record<string, string | number | undefined>;
  return Object.keys(ENV_SCHEMA.properties).map((name): SettingView => {
    const value = values[name];
    const source = env[name]?.trim() ? "environment" : value === undefined ? "unset" : "default";
    if (value === undefined) return { name, value: null, source, masked: false };
    if (isSecret(name)) {
      const count = splitList(String(value)).length;
      const shown = count === 1 ? "(set, masked)" : `(${count} values, masked)`;
      return { name, value: shown, source, masked: true };
    }
    if (URL_NAMES.has(name)) return { name, ...maskUrl(String(value)), source };
    return { name, value, source, masked: false };
  });
}

/**
 * A URL without what may be credentials: the user, the password, the query
 * values and the fragment become `***`. The path is shown.
 */
function maskUrl(text: string): { value: string; masked: boolean } {
  if (!URL.canParse(text)) return { value: "(not a URL, masked)", masked: true };
  const url = new URL(text);
  const masked = url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "";
  if (url.username) url.username = "***";
  if (url.password) url.password = "***";
  for (const key of new Set(url.searchParams.keys())) url.searchParams.set(key, "***");
  if (url.hash) url.hash = "***";
  return { value: url.href.replaceAll("%2A%2A%2A", "***"), masked };
}

/** Accepts `file:relative`, `file:///absolute` and bare paths; query parameters are ignored. */
function parseDatabaseUrl(url: string): string {
  if (url.startsWith("file://")) return decodeURIComponent(new URL(url).pathname);
  if (url.startsWith("file:")) return decodeURIComponent(url.slice(5).split("?")[0] ?? "");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new ConfigError(
      "DATABASE_URL must be a SQLite file (file:./path or a bare path); " +
        `got a "${url.split(":")[0]}:" URL`,
    );
  }
  return url;
}

/** Splits a comma-separated variable, trimming entries and dropping empty ones. */
function splitList(list: string | undefined): string[] {
  return (list ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function parseVerifiers(list: string | undefined, required: boolean): VerifierName[] {
  const names = [...new Set(splitList(list).map((name) => name.toLowerCase()))];
  if (names.length === 0 && !required) return [];
  if (names.length === 0) {
    throw new ConfigError(
      "WEBHOOK_VERIFIERS is not set: list how requests are verified, e.g. " +
        "WEBHOOK_VERIFIERS=hmac or WEBHOOK_VERIFIERS=url-secret,ip " +
        `(choices: ${VERIFIER_NAMES.join(", ")}); ` +
        "WEBHOOK_VERIFIERS=none accepts unverified requests",
    );
  }

  for (const name of names) {
    if (!(VERIFIER_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `WEBHOOK_VERIFIERS lists an unknown verifier "${name}" ` +
          `(choices: ${VERIFIER_NAMES.join(", ")})`,
      );
    }
  }
  if (names.includes("none") && names.length > 1) {
    throw new ConfigError('WEBHOOK_VERIFIERS cannot combine "none" with other verifiers');
  }
  return names as VerifierName[];
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === "object") deepFreeze(child);
  }
  return Object.freeze(value);
}
