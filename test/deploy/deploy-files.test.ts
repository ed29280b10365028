/**
 * The files of deploy/: the example environment file covers every setting
 * and refuses to start until its placeholders are replaced; the systemd
 * unit passes `systemd-analyze verify` (where systemd is installed) and
 * keeps the promises the README makes about it.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeSettings } from "../../src/config.ts";
import { runProgram, tempDir } from "../support/process.ts";

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
const ENV_FILE = readFileSync(join(DEPLOY, "env.example"), "utf8");
const UNIT = readFileSync(join(DEPLOY, "maildesk-receiver.service"), "utf8");

/** The KEY=value lines that are not commented out, as systemd and sh read them. */
function activeSettings(text: string): Record<string, string> {
  const lines = text.split("\n").filter((line) => /^[A-Z_]+=/.test(line));
  return Object.fromEntries(
    lines.map((line) => [line.split("=")[0], line.slice(line.indexOf("=") + 1)]),
  );
}

function unitSetting(name: string): string[] {
  return UNIT.split("\n")
    .filter((line) => line.startsWith(`${name}=`))
    .map((line) => line.slice(name.length + 1));
}

describe("deploy/env.example", () => {
  it("shows every variable the program reads, set or commented out", () => {
    for (const { name } of describeSettings({})) {
      expect({ name, listed: new RegExp(`^#?${name}=`, "m").test(ENV_FILE) }).toEqual({
        name,
        listed: true,
      });
    }
  });

  it("keeps to KEY=value lines that systemd and sh read alike", () => {
    for (const [name, value] of Object.entries(activeSettings(ENV_FILE))) {
      expect({ name, value }).toEqual({ name, value: expect.stringMatching(/^[^\s"'$`\\]*$/) });
    }
  });

  it("is refused until its placeholder secret is replaced, then serve would start", async () => {
    const dir = tempDir();
    const env = { ...activeSettings(ENV_FILE), DATABASE_URL: join(dir, "maildesk.db") };

    const asShipped = await runProgram(["config"], env);
    const replaced = await runProgram(["config"], {
      ...env,
      WEBHOOK_HMAC_SECRETS: `whsec_${Buffer.from("a real signing key").toString("base64")}`,
    });

    expect(asShipped.exitCode).toBe(78);
    expect(asShipped.stderr).toContain("serve would not start: WEBHOOK_HMAC_SECRETS");
    expect(replaced.stderr).toBe("");
    expect(replaced.exitCode).toBe(0);
  });
});

describe("deploy/maildesk-receiver.service", () => {
  it("does not restart on a configuration error, and waits for a clean stop", () => {
    expect(unitSetting("Restart")).toEqual(["on-failure"]);
    expect(unitSetting("RestartPreventExitStatus")[0]?.split(" ")).toContain("78");
    const defaults = new Map(describeSettings({}).map((setting) => [setting.name, setting.value]));
    const stopMs =
      Number(defaults.get("SHUTDOWN_TIMEOUT_MS")) +
      Number(defaults.get("WORKER_SHUTDOWN_TIMEOUT_MS"));
    expect(Number.parseInt(unitSetting("TimeoutStopSec")[0] ?? "0", 10) * 1000).toBeGreaterThan(
      stopMs,
    );
  });

  it("is sandboxed, without MemoryDenyWriteExecute (the JIT needs it off)", () => {
    expect(unitSetting("User")).toEqual(["maildesk"]);
    expect(unitSetting("ProtectSystem")).toEqual(["strict"]);
    expect(unitSetting("StateDirectory")).toEqual(["maildesk-receiver"]);
    expect(unitSetting("CapabilityBoundingSet")).toEqual([""]);
    expect(unitSetting("NoNewPrivileges")).toEqual(["yes"]);
    expect(unitSetting("SystemCallFilter")).toContain("@system-service");
    expect(unitSetting("MemoryDenyWriteExecute")).toEqual([]);
  });

  const analyze = Bun.which("systemd-analyze");
  it.skipIf(!analyze)("passes systemd-analyze verify", () => {
    // verify checks that ExecStart's program exists: point it at a stand-in.
    const dir = tempDir();
    const program = join(dir, "maildesk-receiver");
    writeFileSync(program, "#!/bin/sh\n");
    chmodSync(program, 0o755);
    const unit = join(dir, "maildesk-receiver.service");
    writeFileSync(unit, UNIT.replaceAll("/usr/local/bin/maildesk-receiver", program));

    const result = Bun.spawnSync([analyze as string, "verify", unit], { stderr: "pipe" });
    rmSync(dir, { recursive: true, force: true });

    expect(result.stderr.toString()).toBe("");
    expect(result.exitCode).toBe(0);
  });
});
