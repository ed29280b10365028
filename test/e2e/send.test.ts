import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runProgram, SEND, startService, tempDir } from "../support/process.ts";

const HMAC_ENV = {
  WEBHOOK_VERIFIERS: "hmac",
  WEBHOOK_HMAC_SECRETS: `whsec_${Buffer.from("a 24-byte signing secret").toString("base64")}`,
};
const URL_SECRET_BASIC_ENV = {
  WEBHOOK_VERIFIERS: "url-secret,basic",
  WEBHOOK_URL_SECRETS: "send-test-path-secret-0123",
  WEBHOOK_BASIC_USER: "maildesk",
  WEBHOOK_BASIC_PASSWORD: "send test password",
};

function send(url: string, env: Record<string, string>, ...args: string[]) {
  return runProgram(["--url", url, ...args], env, tempDir(), SEND);
}

describe("bun run send", () => {
  for (const [name, env] of [
    ["hmac", HMAC_ENV],
    ["url-secret,basic", URL_SECRET_BASIC_ENV],
  ] as const) {
    it(`delivers a sample event that a service with ${name} accepts`, async () => {
      const databasePath = join(tempDir(), "maildesk.db");
      const service = await startService({ ...env, DATABASE_URL: databasePath });

      const { exitCode, stdout } = await send(service.url, env);
      await service.stop();

      expect(stdout).toContain("HTTP 200");
      expect(stdout).toMatch(/"status":"accepted","eventId":"[0-9A-Z]{26}"/);
      expect(stdout).not.toContain(URL_SECRET_BASIC_ENV.WEBHOOK_URL_SECRETS);
      expect(exitCode).toBe(0);
      const db = new Database(databasePath, { readonly: true });
      expect(db.query("SELECT type FROM events").all()).toEqual([{ type: "subscriber.created" }]);
      db.close();
    });
  }

  it("sends a file byte for byte and fails when the service refuses it", async () => {
    const service = await startService(HMAC_ENV);
    const file = join(tempDir(), "event.json");
    writeFileSync(file, '{ "type": "subscriber.updated", "eventId": "from-file-1" }\n');

    const accepted = await send(service.url, HMAC_ENV, file);
    const refused = await send(service.url, {
      ...HMAC_ENV,
      WEBHOOK_HMAC_SECRETS: `whsec_${Buffer.from("not the service's secret").toString("base64")}`,
    });
    await service.stop();

    expect(accepted.stdout).toContain('{"status":"accepted","eventId":"from-file-1"}');
    expect(refused.stdout).toContain("HTTP 401");
    expect(refused.exitCode).toBe(1);
  });

  it("refuses a configuration the service would refuse, naming the variable", async () => {
    const { exitCode, stderr } = await send("http://127.0.0.1:9", { WEBHOOK_VERIFIERS: "hmac" });

    expect(exitCode).toBe(78);
    expect(stderr).toContain("WEBHOOK_HMAC_SECRETS");
  });
});

describe("the ip verifier on a real socket", () => {
  it("matches a dual-stack peer against an IPv4 allowlist", async () => {
    const env = { WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: "127.0.0.0/8" };
    const service = await startService({ ...env, HOST: "::" });

    const { stdout } = await send(service.url, env);
    await service.stop();

    expect(stdout).toContain("HTTP 200");
  });
});
