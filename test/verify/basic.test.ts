import { afterEach, describe, expect, it } from "bun:test";
import { createWorld, sampleEvent, type World } from "../support/world.ts";

const USER = "maildesk";
const PASSWORD = "correct horse battery staple";

let world: World;

async function receiver(env: Record<string, string> = {}) {
  world = await createWorld({
    WEBHOOK_VERIFIERS: "basic",
    WEBHOOK_BASIC_USER: USER,
    WEBHOOK_BASIC_PASSWORD: PASSWORD,
    ...env,
  });
  return world;
}

afterEach(async () => {
  await world.close();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function postWith(authorization?: string) {
  return world.post(sampleEvent(), {
    headers: authorization === undefined ? {} : { authorization },
  });
}

async function expectChallenged(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toBe('Basic realm="maildesk"');
  expect(await response.json()).toEqual({
    error: "unauthorized",
    message: "The request could not be verified.",
  });
}

describe("the basic verifier", () => {
  it("accepts the configured user and password", async () => {
    await receiver();

    expect((await postWith(basic(USER, PASSWORD))).status).toBe(200);
  });

  it("accepts the scheme name in any case", async () => {
    await receiver();

    expect((await postWith(basic(USER, PASSWORD).replace("Basic", "bAsIc"))).status).toBe(200);
  });

  it("rejects a wrong password of the same length with a challenge", async () => {
    await receiver();
    const wrong = `${PASSWORD.slice(0, -1)}X`;
    expect(wrong).toHaveLength(PASSWORD.length);

    await expectChallenged(await postWith(basic(USER, wrong)));
    expect(world.rows("SELECT * FROM events")).toHaveLength(0);
  });

  it("rejects a wrong password of a different length with a challenge", async () => {
    await receiver();

    await expectChallenged(await postWith(basic(USER, `${PASSWORD}!`)));
    await expectChallenged(await postWith(basic(USER, "short")));
    expect(world.rows("SELECT * FROM events")).toHaveLength(0);
  });

  it("rejects a wrong user with the right password", async () => {
    await receiver();

    await expectChallenged(await postWith(basic("maildesk2", PASSWORD)));
  });

  it("rejects a request without credentials, or with another scheme", async () => {
    await receiver();

    await expectChallenged(await postWith());
    await expectChallenged(await postWith(`Bearer ${PASSWORD}`));
    await expectChallenged(await postWith("Basic"));
    await world.flush();
    expect(
      world
        .rows<{ reason: string }>("SELECT reason FROM deliveries ORDER BY id")
        .map((r) => r.reason),
    ).toEqual([
      "unauthorized: basic: no Authorization header",
      "unauthorized: basic: the Authorization header is not Basic",
      "unauthorized: basic: the Authorization header is not Basic",
    ]);
  });

  it("accepts a password that contains colons", async () => {
    await receiver({ WEBHOOK_BASIC_PASSWORD: "a:b:c" });

    expect((await postWith(basic(USER, "a:b:c"))).status).toBe(200);
  });

  it("accepts the previous password too while a rotation is under way, and says which", async () => {
    await receiver({
      WEBHOOK_BASIC_PASSWORD: "the new one",
      WEBHOOK_BASIC_PASSWORD_PREVIOUS: PASSWORD,
    });

    expect((await postWith(basic(USER, PASSWORD))).status).toBe(200);
    expect((await postWith(basic(USER, "the new one"))).status).toBe(200);
    await expectChallenged(await postWith(basic(USER, "an older one")));
    const answered = world.logs.filter((line) => line.msg === "event answered");
    expect(answered.map((line) => line.verified)).toEqual([
      { basicPassword: "previous" },
      { basicPassword: "current" },
    ]);
  });

  it("never writes the password or the Authorization header to the logs", async () => {
    await receiver();
    await postWith(basic(USER, PASSWORD));
    await postWith(basic(USER, "wrong password"));
    await world.flush();

    const written = JSON.stringify([world.logs, world.rows("SELECT * FROM deliveries")]);
    expect(written).not.toContain(PASSWORD);
    expect(written).not.toContain(Buffer.from(`${USER}:`).toString("base64").slice(0, 8));
  });
});
