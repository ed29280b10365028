import { describe, expect, it } from "bun:test";
import { runProgram } from "../support/process.ts";

const WHSEC = `whsec_${Buffer.from("a 24-byte signing secret").toString("base64")}`;

/** [what is wrong, the variable the message must name, the environment, a secret it must not show] */
const misconfigurations: [string, string, Record<string, string>, string?][] = [
  ["url-secret without secrets", "WEBHOOK_URL_SECRETS", { WEBHOOK_VERIFIERS: "url-secret" }],
  [
    "a URL secret under 16 characters",
    "WEBHOOK_URL_SECRETS",
    { WEBHOOK_VERIFIERS: "url-secret", WEBHOOK_URL_SECRETS: "long-enough-secret-1,tooShort-15ch" },
    "tooShort-15ch",
  ],
  [
    "a URL secret with a slash",
    "WEBHOOK_URL_SECRETS",
    { WEBHOOK_VERIFIERS: "url-secret", WEBHOOK_URL_SECRETS: "not/a/path/segment/1234" },
    "not/a/path/segment/1234",
  ],
  [
    "basic without a user",
    "WEBHOOK_BASIC_USER",
    { WEBHOOK_VERIFIERS: "basic", WEBHOOK_BASIC_PASSWORD: "pw-never-shown" },
    "pw-never-shown",
  ],
  [
    "basic without a password",
    "WEBHOOK_BASIC_PASSWORD",
    { WEBHOOK_VERIFIERS: "basic", WEBHOOK_BASIC_USER: "maildesk" },
  ],
  [
    "a Basic user with a colon",
    "WEBHOOK_BASIC_USER",
    { WEBHOOK_VERIFIERS: "basic", WEBHOOK_BASIC_USER: "mail:desk", WEBHOOK_BASIC_PASSWORD: "pw" },
  ],
  ["ip without an allowlist", "WEBHOOK_IP_ALLOWLIST", { WEBHOOK_VERIFIERS: "ip" }],
  [
    "an allowlist entry that is no address",
    "WEBHOOK_IP_ALLOWLIST",
    { WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: "192.0.2.1,maildesk.example" },
  ],
  [
    "a short-form IPv4 address",
    "WEBHOOK_IP_ALLOWLIST",
    { WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: "10.1" },
  ],
  [
    "a prefix length past 32 bits",
    "WEBHOOK_IP_ALLOWLIST",
    { WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: "192.0.2.0/33" },
  ],
  [
    "an IPv6 CIDR that does not parse",
    "WEBHOOK_IP_ALLOWLIST",
    { WEBHOOK_VERIFIERS: "ip", WEBHOOK_IP_ALLOWLIST: "2001:db8:::/32" },
  ],
  [
    "a trusted proxy that is no address, even without the ip verifier",
    "TRUSTED_PROXIES",
    { WEBHOOK_VERIFIERS: "none", TRUSTED_PROXIES: "10.0.0.0/8,proxy.internal" },
  ],
  ["hmac without secrets", "WEBHOOK_HMAC_SECRETS", { WEBHOOK_VERIFIERS: "hmac" }],
  [
    "an unknown HMAC scheme",
    "WEBHOOK_HMAC_SCHEME",
    { WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: WHSEC, WEBHOOK_HMAC_SCHEME: "svix" },
  ],
  [
    "a whsec_ secret whose base64 does not decode",
    "WEBHOOK_HMAC_SECRETS",
    { WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: `${WHSEC},whsec_not*base64!` },
    "whsec_not*base64!",
  ],
  [
    "a custom scheme without a header",
    "WEBHOOK_HMAC_HEADER",
    { WEBHOOK_VERIFIERS: "hmac", WEBHOOK_HMAC_SECRETS: "s", WEBHOOK_HMAC_SCHEME: "custom" },
  ],
  [
    "a custom header that is no header name",
    "WEBHOOK_HMAC_HEADER",
    {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SECRETS: "s",
      WEBHOOK_HMAC_SCHEME: "custom",
      WEBHOOK_HMAC_HEADER: "X Signature",
    },
  ],
  [
    "an unknown custom algorithm",
    "WEBHOOK_HMAC_ALGORITHM",
    {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SECRETS: "s",
      WEBHOOK_HMAC_SCHEME: "custom",
      WEBHOOK_HMAC_HEADER: "X-Signature",
      WEBHOOK_HMAC_ALGORITHM: "md5",
    },
  ],
  [
    "an unknown custom encoding",
    "WEBHOOK_HMAC_ENCODING",
    {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SECRETS: "s",
      WEBHOOK_HMAC_SCHEME: "custom",
      WEBHOOK_HMAC_HEADER: "X-Signature",
      WEBHOOK_HMAC_ENCODING: "base32",
    },
  ],
  [
    "a tolerance that is not a whole number of seconds",
    "WEBHOOK_HMAC_TOLERANCE_SECONDS",
    {
      WEBHOOK_VERIFIERS: "hmac",
      WEBHOOK_HMAC_SECRETS: WHSEC,
      WEBHOOK_HMAC_TOLERANCE_SECONDS: "2.5",
    },
  ],
];

describe("start-up with a misconfigured verifier", () => {
  for (const [what, variable, env, secret] of misconfigurations) {
    it(`refuses ${what}, naming ${variable}`, async () => {
      const { exitCode, stderr } = await runProgram(["serve"], env);

      expect(exitCode).toBe(78);
      expect(stderr).toStartWith("maildesk-receiver: cannot start: ");
      expect(stderr).toContain(variable);
      if (secret) expect(stderr).not.toContain(secret);
    });
  }
});
