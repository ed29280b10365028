/**
 * What every HMAC scheme must do, as tests: a request signed by the scheme's
 * official library is accepted, and breaking one thing of that one valid
 * fixture (a byte of the body, the secret, a header, the timestamp) gets a
 * 401 with nothing stored. Each scheme's test file runs this with its own
 * signer and adds what is particular to it.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { createWorld, sampleEvent, type World } from "../../support/world.ts";

/** A scheme under test, signing with its official library. */
export interface SchemeUnderTest {
  /** The environment of a receiver for this scheme with `secrets`. */
  env(secrets: readonly string[]): Record<string, string>;
  /** Two secrets the scheme accepts, and one never configured. */
  readonly secrets: readonly [string, string];
  readonly foreignSecret: string;
  /** The headers the official library signs `body` with at `timestampSeconds`. */
  sign(secret: string, body: string, timestampSeconds: number): Promise<Record<string, string>>;
  /** The headers that carry the signature; each is left out in turn. */
  readonly signatureHeaders: readonly string[];
  readonly hasTimestamp: boolean;
}

/** A fixed clock for the receiver: 2026-12-01T10:00:00Z. */
export const NOW_MS = Date.parse("2026-12-01T10:00:00Z");
export const NOW_SECONDS = NOW_MS / 1000;
const TOLERANCE_SECONDS = 300;

/** Registers the common tests of `scheme`. */
export function describeHmacContract(name: string, scheme: SchemeUnderTest): void {
  describe(`${name}: the common HMAC contract`, () => {
    let world: World;

    async function receiver(secrets: readonly string[] = [scheme.secrets[0]]) {
      world = await createWorld({
        WEBHOOK_HMAC_TOLERANCE_SECONDS: String(TOLERANCE_SECONDS),
        ...scheme.env(secrets),
      });
      world.nowMs = NOW_MS;
      return world;
    }

    async function signedFixture(secret = scheme.secrets[0], timestampSeconds = NOW_SECONDS) {
      const body = sampleEvent({ eventId: `hmac-${crypto.randomUUID()}` });
      return { body, headers: await scheme.sign(secret, body, timestampSeconds) };
    }

    async function expectRefused(response: Response, reason: RegExp) {
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: "unauthorized",
        message: "The request could not be verified.",
      });
      expect(world.rows("SELECT * FROM events")).toHaveLength(0);
      await world.flush();
      const [delivery] = world.rows<{ outcome: string; reason: string }>(
        "SELECT outcome, reason FROM deliveries",
      );
      expect(delivery?.outcome).toBe("rejected");
      expect(delivery?.reason).toMatch(reason);
    }

    afterEach(async () => {
      await world.close();
    });

    it("accepts a request signed by the official library", async () => {
      const { body, headers } = await signedFixture();

      const response = await (await receiver()).post(body, { headers });

      expect(response.status).toBe(200);
      expect(world.rows("SELECT * FROM events")).toHaveLength(1);
    });

    it("rejects the request when one byte of the body was changed", async () => {
      const { body, headers } = await signedFixture();
      const tampered = body.replace('"Ada"', '"Adb"');
      expect(tampered).not.toBe(body);

      await expectRefused(
        await (await receiver()).post(tampered, { headers }),
        /^unauthorized: hmac: no signature/,
      );
    });

    it("rejects a signature made with a secret that is not configured", async () => {
      const { body, headers } = await signedFixture(scheme.foreignSecret);

      await expectRefused(
        await (await receiver()).post(body, { headers }),
        /^unauthorized: hmac: no signature/,
      );
    });

    for (const header of scheme.signatureHeaders) {
      it(`rejects a request without ${header}`, async () => {
        const { body, headers } = await signedFixture();
        const without = Object.fromEntries(
          Object.entries(headers).filter(([name]) => name.toLowerCase() !== header),
        );
        expect(Object.keys(without)).toHaveLength(Object.keys(headers).length - 1);

        await expectRefused(
          await (await receiver()).post(body, { headers: without }),
          /^unauthorized: hmac: /,
        );
      });
    }

    it("accepts a signature by any of several configured secrets (rotation)", async () => {
      await receiver([scheme.secrets[0], scheme.secrets[1]]);
      for (const [index, secret] of scheme.secrets.entries()) {
        const { body, headers } = await signedFixture(secret);

        expect((await world.post(body, { headers })).status).toBe(200);
        const answered = world.logs.filter((line) => line.msg === "event answered").at(-1);
        expect(answered?.verified).toEqual({ hmacSecretIndex: index });
      }
    });

    if (!scheme.hasTimestamp) return;

    it("accepts a signature at the edge of the tolerance, either way", async () => {
      await receiver();
      for (const offset of [-TOLERANCE_SECONDS, TOLERANCE_SECONDS]) {
        const { body, headers } = await signedFixture(scheme.secrets[0], NOW_SECONDS + offset);
        expect((await world.post(body, { headers })).status).toBe(200);
      }
    });

    it("rejects a signature older than the tolerance", async () => {
      const stale = NOW_SECONDS - TOLERANCE_SECONDS - 1;
      const { body, headers } = await signedFixture(scheme.secrets[0], stale);

      await expectRefused(
        await (await receiver()).post(body, { headers }),
        /^unauthorized: hmac: timestamp 301 s old/,
      );
    });

    it("rejects a signature newer than the tolerance", async () => {
      const future = NOW_SECONDS + TOLERANCE_SECONDS + 1;
      const { body, headers } = await signedFixture(scheme.secrets[0], future);

      await expectRefused(
        await (await receiver()).post(body, { headers }),
        /^unauthorized: hmac: timestamp 301 s in the future/,
      );
    });
  });
}
