/**
 * The command line as a user runs it: the real program from source, one
 * process per command, on a temporary database. The compiled binary runs
 * the same code (test/e2e/binary.test.ts runs some of it there).
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { postEvent, runProgram, startService, tempDir } from "../support/process.ts";
import { sampleEvent } from "../support/world.ts";

const COMMANDS = [
  "serve",
  "migrate",
  "config",
  "admin-token",
  "send",
  "replay",
  "retry",
  "retry-dead",
  "backup",
];

function databaseEnv() {
  return { DATABASE_URL: join(tempDir(), "maildesk.db") };
}

function count(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("help", () => {
  it("lists every command in the program's help, with the exit codes", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const { exitCode, stdout } = await runProgram(args, {});
      expect(exitCode).toBe(0);
      expect(stdout).toStartWith("Usage: maildesk-receiver [command]");
      for (const command of COMMANDS) expect(stdout).toContain(`\n  ${command}`);
      expect(stdout).toContain("64 wrong command line, 78 configuration error");
    }
  });

  for (const command of COMMANDS) {
    it(`explains ${command} with --help, -h and help ${command}, needing no settings`, async () => {
      const expected =
        command === "serve"
          ? "Usage: maildesk-receiver [serve]"
          : `Usage: maildesk-receiver ${command}`;
      for (const args of [
        [command, "--help"],
        [command, "-h"],
        ["help", command],
      ]) {
        const { exitCode, stdout } = await runProgram(args, {});
        expect({ args, exitCode }).toEqual({ args, exitCode: 0 });
        expect(stdout).toStartWith(expected);
      }
    });
  }

  it("prints the version", async () => {
    const { exitCode, stdout } = await runProgram(["version"], {});

    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^maildesk-receiver \d+\.\d+\.\d+ \((from source|commit \S+), Bun \d/);
  });
});

describe("a wrong command line", () => {
  const wrong: [string, string[]][] = [
    ["an unknown command", ["serv"]],
    ["help about an unknown command", ["help", "serv"]],
    ["an argument serve does not take", ["serve", "now"]],
    ["an unknown option of migrate", ["migrate", "--force"]],
    ["an unknown option of config", ["config", "--yaml"]],
    ["an argument of admin-token", ["admin-token", "rotate"]],
    ["backup without a file", ["backup"]],
    ["backup with two files", ["backup", "a.db", "b.db"]],
    ["replay without an eventId", ["replay"]],
    ["retry with an id that is not a number", ["retry", "twelve"]],
    ["retry-dead with a misspelt option", ["retry-dead", "--handlers", "forward"]],
    ["send with a value where a count goes", ["send", "--attempts", "many"]],
  ];
  for (const [what, args] of wrong) {
    it(`exits 64 for ${what}, saying what is wrong`, async () => {
      const { exitCode, stdout, stderr } = await runProgram(args, databaseEnv());

      expect(exitCode).toBe(64);
      expect(stdout).toBe("");
      expect(stderr.length).toBeGreaterThan(0);
    });
  }

  it("follows the mistake with the command's usage", async () => {
    const { stderr } = await runProgram(["backup", "a.db", "b.db"], databaseEnv());

    expect(stderr).toStartWith('Unexpected argument "b.db".');
    expect(stderr).toContain("Usage: maildesk-receiver backup <file> [--force]");
  });
});

describe("commands that receive no webhooks", () => {
  it("run without WEBHOOK_VERIFIERS, which only serve refuses to start without", async () => {
    const env = databaseEnv();

    expect((await runProgram(["migrate"], env)).exitCode).toBe(0);
    expect((await runProgram(["admin-token"], env)).exitCode).toBe(0);
    expect((await runProgram(["retry-dead"], env)).exitCode).toBe(0);
    expect((await runProgram(["replay", "no-such-event"], env)).exitCode).toBe(1);
    expect((await runProgram(["backup", join(tempDir(), "copy.db")], env)).exitCode).toBe(0);
    const serve = await runProgram(["serve"], env);
    expect(serve.exitCode).toBe(78);
    expect(serve.stderr).toContain("maildesk-receiver: cannot start: WEBHOOK_VERIFIERS is not set");
  });

  it("still refuse a malformed setting, naming it, with exit code 78", async () => {
    const { exitCode, stderr } = await runProgram(["migrate"], {
      ...databaseEnv(),
      SQLITE_BUSY_TIMEOUT_MS: "soon",
    });

    expect(exitCode).toBe(78);
    expect(stderr).toContain(
      "maildesk-receiver: migrate: configuration error: SQLITE_BUSY_TIMEOUT_MS",
    );
  });
});

describe("serve", () => {
  it("writes readable log lines with LOG_FORMAT=pretty (pino-pretty, loaded only then)", async () => {
    const service = await startService({ WEBHOOK_VERIFIERS: "none", LOG_FORMAT: "pretty" });
    await service.stop();

    const text = service.lines.join("\n");
    expect(text).toMatch(/INFO \(\d+\): listening/);
    expect(service.lines.some((line) => line.startsWith("{"))).toBe(false);
  });
});

describe("migrate", () => {
  it("creates the database with every migration, then finds it up to date", async () => {
    const env = { DATABASE_URL: join(tempDir(), "new", "folder", "maildesk.db") };

    const first = await runProgram(["migrate"], env);
    const second = await runProgram(["migrate"], env);

    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/maildesk\.db: (\d+) migration\(s\) applied; \1 in all\n$/);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(/maildesk\.db: up to date; \d+ in all\n$/);
    // Closed cleanly: no WAL left (checked first: a read-only look makes one).
    expect(existsSync(`${env.DATABASE_URL}-wal`)).toBe(false);
    const applied = Number(/(\d+) in all/.exec(first.stdout)?.[1]);
    expect(count(env.DATABASE_URL, "__drizzle_migrations")).toBe(applied);
    expect(count(env.DATABASE_URL, "events")).toBe(0);
  });
});

describe("config", () => {
  const whsec = (text: string) => `whsec_${Buffer.from(text).toString("base64")}`;
  const SECRETS = {
    ADMIN_TOKEN: "admin-token-value-0123456789",
    METRICS_TOKEN: "metrics-token-value-0123456789",
    WEBHOOK_URL_SECRETS: "url-secret-one-0123456789,url-secret-two-0123456789",
    WEBHOOK_BASIC_PASSWORD: "basic password value",
    WEBHOOK_BASIC_PASSWORD_PREVIOUS: "previous basic password value",
    WEBHOOK_HMAC_SECRETS: `${whsec("first hmac signing key")},${whsec("second hmac signing key")}`,
    FORWARD_SECRET: whsec("forward signing key value"),
  };
  const FORWARD_URL =
    "https://forward-user:forward-password@internal.example:8443/hooks/in?token=query-token-value#fragment-value";
  const env = {
    ...SECRETS,
    FORWARD_URL,
    WEBHOOK_VERIFIERS: "url-secret,basic,hmac",
    WEBHOOK_BASIC_USER: "maildesk",
    PORT: "3456",
  };
  /** Every secret, each entry of a list, the key inside a whsec_, and the URL's credentials. */
  const secretTexts = [
    ...Object.values(SECRETS).flatMap((value) => value.split(",")),
    ...Object.values(SECRETS)
      .flatMap((value) => value.split(","))
      .filter((value) => value.startsWith("whsec_"))
      .map((value) => value.slice("whsec_".length)),
    "forward-user",
    "forward-password",
    "query-token-value",
    "fragment-value",
  ];

  it("prints a table of every setting with every secret masked", async () => {
    const { exitCode, stdout, stderr } = await runProgram(["config"], env);

    expect(exitCode).toBe(0);
    expect(stderr).toBe("");
    for (const secret of secretTexts) expect(stdout).not.toContain(secret);
    const rows = new Map(
      stdout
        .split("\n")
        .slice(1)
        .map((line) => line.split(/\s{2,}/))
        .filter((cells) => cells.length === 3)
        .map(([name, value, source]) => [name, { value, source }]),
    );
    expect(stdout).toStartWith("VARIABLE");
    expect(rows.get("PORT")).toEqual({ value: "3456", source: "environment" });
    expect(rows.get("HOST")).toEqual({ value: "0.0.0.0", source: "default" });
    expect(rows.get("WEBHOOK_BASIC_USER")).toEqual({ value: "maildesk", source: "environment" });
    expect(rows.get("ADMIN_TOKEN")?.value).toBe("(set, masked)");
    expect(rows.get("WEBHOOK_HMAC_SECRETS")?.value).toBe("(2 values, masked)");
    expect(rows.get("WEBHOOK_URL_SECRETS")?.value).toBe("(2 values, masked)");
    expect(rows.get("FORWARD_SECRET")?.value).toBe("(set, masked)");
    expect(rows.get("FORWARD_URL")?.value).toBe(
      "https://***:***@internal.example:8443/hooks/in?token=***#***",
    );
    expect(rows.get("RETENTION_EVENTS_DAYS")).toEqual({ value: "-", source: "unset" });
    expect(stdout).toMatch(/\ndatabase file: \/.*data\/maildesk\.db\n$/);
  });

  it("prints the same as JSON with --json, with every secret masked", async () => {
    const { exitCode, stdout } = await runProgram(["config", "--json"], env);

    expect(exitCode).toBe(0);
    for (const secret of secretTexts) expect(stdout).not.toContain(secret);
    const { variables, databaseFile } = JSON.parse(stdout);
    expect(variables.PORT).toEqual({ value: 3456, source: "environment", masked: false });
    expect(variables.WORKER_POLL_MS).toEqual({ value: 1000, source: "default", masked: false });
    expect(variables.METRICS_TOKEN).toEqual({
      value: "(set, masked)",
      source: "environment",
      masked: true,
    });
    expect(variables.FORWARD_URL.masked).toBe(true);
    expect(databaseFile).toEndWith("/data/maildesk.db");
  });

  it("reads the .env file of its working directory, as serve does", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), "WEBHOOK_VERIFIERS=none\nPORT=4567\n");

    const { exitCode, stdout } = await runProgram(["config", "--json"], {}, cwd);

    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout).variables.PORT).toEqual({
      value: 4567,
      source: "environment",
      masked: false,
    });
  });

  it("says why serve would not start, with exit code 78, after the table", async () => {
    const { exitCode, stdout, stderr } = await runProgram(["config"], {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SECRETS: "not base64 at all!",
    });

    expect(exitCode).toBe(78);
    expect(stdout).toContain("WEBHOOK_HMAC_SECRETS");
    expect(stdout).not.toContain("not base64 at all!");
    expect(stderr).toStartWith("maildesk-receiver: serve would not start: WEBHOOK_HMAC_SECRETS");
    expect(stderr).not.toContain("not base64 at all!");
  });

  it("refuses a malformed value without printing it, naming the variable", async () => {
    const { exitCode, stdout, stderr } = await runProgram(["config"], {
      ADMIN_TOKEN: "short secret",
    });

    expect(exitCode).toBe(78);
    expect(stdout).toBe("");
    expect(stderr).toContain("ADMIN_TOKEN must be a token of at least 16 characters");
    expect(stderr).not.toContain("short secret");
  });
});

describe("backup", () => {
  it("copies the database while the server receives events, and the copy opens", async () => {
    const env = { ...databaseEnv(), WEBHOOK_VERIFIERS: "none", LOG_LEVEL: "warn" };
    const service = await startService(env);
    const target = join(tempDir(), "backup.db");
    let posting = true;
    let posted = 0;
    const poster = (async () => {
      while (posting) {
        const response = await postEvent(service.url, sampleEvent({ eventId: `bk-${posted}` }));
        if (response.status === 200) posted++;
      }
    })();
    try {
      while (posted < 20) await Bun.sleep(5);

      const backup = await runProgram(["backup", target], env);
      const postedBeforeEnd = posted;
      await Bun.sleep(50);
      posting = false;
      await poster;

      expect(backup.stderr).toBe("");
      expect(backup.exitCode).toBe(0);
      expect(backup.stdout).toMatch(/^backup written: .*backup\.db \(\d+ bytes, \d+ events\)\n$/);
      const copied = Number(/(\d+) events/.exec(backup.stdout)?.[1]);
      expect(copied).toBeGreaterThanOrEqual(20);
      expect(copied).toBeLessThanOrEqual(postedBeforeEnd);
      // The server went on accepting events during and after the copy.
      expect(posted).toBeGreaterThan(postedBeforeEnd);

      const copy = new Database(target, { readonly: true });
      expect(copy.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      expect(copy.query("SELECT count(*) AS n FROM events").get()).toEqual({ n: copied });
      expect(copy.query("SELECT count(*) AS n FROM outbox").get()).toEqual({ n: copied });
      copy.close();
    } finally {
      posting = false;
      await poster;
      await service.stop();
    }
  });

  it("refuses to replace an existing file unless --force", async () => {
    const env = databaseEnv();
    await runProgram(["migrate"], env);
    const target = join(tempDir(), "taken.db");
    writeFileSync(target, "precious");

    const refused = await runProgram(["backup", target], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("exists; give --force to replace it");
    expect(readFileSync(target, "utf8")).toBe("precious");

    const forced = await runProgram(["backup", target, "--force"], env);
    expect(forced.exitCode).toBe(0);
    expect(count(target, "__drizzle_migrations")).toBeGreaterThan(0);
  });

  it("fails with exit code 1 when there is no database to copy", async () => {
    const env = databaseEnv();

    const { exitCode, stderr } = await runProgram(["backup", join(tempDir(), "b.db")], env);

    expect(exitCode).toBe(1);
    expect(stderr).toContain("there is no database at");
    expect(existsSync(env.DATABASE_URL)).toBe(false);
  });
});

describe("admin-token", () => {
  it("makes, shows and rotates the stored token without WEBHOOK_VERIFIERS", async () => {
    const env = databaseEnv();

    const made = await runProgram(["admin-token"], env);
    const shown = await runProgram(["admin-token"], env);
    const rotated = await runProgram(["admin-token", "--rotate"], env);
    const afterRotation = await runProgram(["admin-token"], env);

    expect(made.exitCode).toBe(0);
    expect(made.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(shown.stdout).toBe(made.stdout);
    expect(rotated.exitCode).toBe(0);
    expect(rotated.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(rotated.stdout).not.toBe(made.stdout);
    expect(rotated.stderr).toContain("the old one no longer works");
    expect(afterRotation.stdout).toBe(rotated.stdout);
  });
});
