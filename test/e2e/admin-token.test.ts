import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { runProgram, startService, tempDir } from "../support/process.ts";

const TOKEN_LINE = /generated the API bearer token \(ADMIN_TOKEN is unset\): ([A-Za-z0-9_-]{43})\n/;

describe("the generated admin token", () => {
  it("is printed once at first start, shown by admin-token, replaced by --rotate", async () => {
    const dir = tempDir();
    const env = { WEBHOOK_VERIFIERS: "none", DATABASE_URL: join(dir, "m.db") };

    const first = await startService(env, dir);
    await first.stop();
    const firstStderr = await new Response(first.process.stderr).text();
    const printed = TOKEN_LINE.exec(firstStderr)?.[1];
    expect(printed).toBeDefined();
    expect(firstStderr).toContain("It is not shown again");
    expect(first.lines.join("\n")).not.toContain(printed as string);

    const second = await startService(env, dir);
    const response = await fetch(`${second.url}/api/events`, {
      headers: { authorization: `Bearer ${printed}` },
    });
    const shown = await runProgram(["admin-token"], env, dir);
    const rotated = await runProgram(["admin-token", "--rotate"], env, dir);
    const afterRotation = await fetch(`${second.url}/api/events`, {
      headers: { authorization: `Bearer ${printed}` },
    });
    const withNew = await fetch(`${second.url}/api/events`, {
      headers: { authorization: `Bearer ${rotated.stdout.trim()}` },
    });
    await second.stop();

    expect(await new Response(second.process.stderr).text()).not.toMatch(TOKEN_LINE);
    expect(response.status).toBe(200);
    expect(shown).toMatchObject({ exitCode: 0, stdout: `${printed}\n` });
    expect(rotated.exitCode).toBe(0);
    expect(rotated.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.stdout.trim()).not.toBe(printed);
    expect(afterRotation.status).toBe(401);
    expect(withNew.status).toBe(200);
  }, 30_000);

  it("is not made when ADMIN_TOKEN is set, and admin-token says which token counts", async () => {
    const dir = tempDir();
    const env = {
      WEBHOOK_VERIFIERS: "none",
      DATABASE_URL: join(dir, "m.db"),
      ADMIN_TOKEN: "configured-token-0123456789",
    };

    const service = await startService(env, dir);
    await service.stop();
    const shown = await runProgram(["admin-token"], env, dir);

    expect(await new Response(service.process.stderr).text()).not.toMatch(TOKEN_LINE);
    expect(shown.exitCode).toBe(1);
    expect(shown.stdout).toBe("");
    expect(shown.stderr).toContain("ADMIN_TOKEN is set");
  }, 30_000);

  it("refuses a short ADMIN_TOKEN at start, naming the variable without echoing it", async () => {
    const result = await runProgram(["serve"], {
      WEBHOOK_VERIFIERS: "none",
      ADMIN_TOKEN: "short-secret",
    });

    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain("ADMIN_TOKEN must be a token of at least 16 characters");
    expect(result.stderr).not.toContain("short-secret");
  });
});
