import { afterEach, describe, expect, it } from "bun:test";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

const SECRET = "s3cr3t-path-0123456789";
const NEXT_SECRET = "next-path-secret-abcdef";

let world: World;

async function receiver(secrets = SECRET) {
  world = await createWorld({ WEBHOOK_VERIFIERS: "url-secret", WEBHOOK_URL_SECRETS: secrets });
  return world;
}

afterEach(async () => {
  await world.close();
});

async function deliveries() {
  await world.flush();
  return world.rows<{ status: number; path: string; reason: string | null }>(
    "SELECT status, path, reason FROM deliveries ORDER BY id",
  );
}

describe("the url-secret verifier", () => {
  it("accepts a request to the path with the secret", async () => {
    const response = await (await receiver()).post(sampleEvent(), {
      path: `/webhooks/maildesk/${SECRET}`,
    });

    expect(response.status).toBe(200);
  });

  it("refuses the bare path with 401", async () => {
    const response = await (await receiver()).post(sampleEvent());

    expect(response.status).toBe(401);
    expect((await deliveries())[0]?.reason).toBe("unauthorized: url-secret: no secret in the path");
  });

  const wrong: [string, string][] = [
    ["a different secret", "another-secret-0123456789"],
    ["the secret with its last character changed", `${SECRET.slice(0, -1)}8`],
    ["a prefix of the secret", SECRET.slice(0, -1)],
    ["the secret with a character appended", `${SECRET}0`],
  ];
  for (const [what, secret] of wrong) {
    it(`refuses ${what} with 401 and stores nothing`, async () => {
      const response = await (await receiver()).post(sampleEvent(), {
        path: `/webhooks/maildesk/${secret}`,
      });

      expect(response.status).toBe(401);
      expect(world.rows("SELECT * FROM events")).toHaveLength(0);
      expect((await deliveries())[0]?.reason).toBe(
        "unauthorized: url-secret: the path secret matches none of WEBHOOK_URL_SECRETS",
      );
    });
  }

  it("accepts any of several secrets and logs which one matched, by index", async () => {
    await receiver(`${SECRET},${NEXT_SECRET}`);

    for (const [index, secret] of [SECRET, NEXT_SECRET].entries()) {
      const response = await world.post(sampleEvent(), { path: `/webhooks/maildesk/${secret}` });
      expect(response.status).toBe(200);
      const answered = world.logs.filter((line) => line.msg === "event answered").at(-1);
      expect(answered?.verified).toEqual({ urlSecretIndex: index });
    }
    const firstUses = world.logs.filter(
      (line) => line.msg === "secret matched for the first time since start",
    );
    expect(firstUses.map((line) => line.urlSecretIndex)).toEqual([0, 1]);
  });

  it("never writes the secret to the logs or the delivery log", async () => {
    await receiver(`${SECRET},${NEXT_SECRET}`);
    await world.post(sampleEvent(), { path: `/webhooks/maildesk/${SECRET}` });
    await world.post(sampleEvent(), { path: `/webhooks/maildesk/${NEXT_SECRET}x` });
    await world.post("{", { path: `/webhooks/maildesk/${NEXT_SECRET}` });

    const rows = await deliveries();
    expect(rows.map((row) => row.status)).toEqual([200, 401, 400]);
    expect(rows.every((row) => row.path === "/webhooks/maildesk/***")).toBe(true);
    const written = JSON.stringify([rows, world.logs]);
    expect(written).not.toContain(SECRET);
    expect(written).not.toContain(NEXT_SECRET);
  });
});
