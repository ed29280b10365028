/**
 * `bun run bench:verify`: what each verifier costs per request, measured
 * in-process on the chain alone (the same calls the route makes, with a
 * request signed by the same signer as `bun run send`), without HTTP or
 * SQLite. On a shared machine this is far steadier than the end-to-end
 * benchmark, and it says directly how much of a request's CPU time goes to
 * verification (compare with the "µs CPU" column of `bun run bench:ingest`).
 *
 * Options: --iterations N (200000), --verifiers LIST (as for bench:ingest).
 */
import { parseArgs } from "node:util";
import { createRequestSigner } from "../src/cli/request-signer.ts";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { createVerifierChain } from "../src/verify/chain.ts";
import { sampleEvent } from "./lib/requests.ts";
import { BENCH_WHSEC, verifierEnvs } from "./lib/signers.ts";

const { values: args } = parseArgs({
  options: {
    iterations: { type: "string", default: "200000" },
    verifiers: { type: "string" },
  },
});
const iterations = Number(args.iterations);

const CONFIGURATIONS: Readonly<Record<string, Record<string, string>>> = {
  none: { WEBHOOK_VERIFIERS: "none" },
  ...verifierEnvs(),
  "hmac, second of two secrets": {
    WEBHOOK_VERIFIERS: "hmac",
    WEBHOOK_HMAC_SECRETS: `whsec_${Buffer.from("an older key").toString("base64")},${BENCH_WHSEC}`,
  },
};

const chosen = args.verifiers
  ? ["none", ...args.verifiers.split(",")]
  : Object.keys(CONFIGURATIONS);
const log = createLogger({ level: "silent", format: "json" });
const { body } = sampleEvent(1, "bench");
const rawBody = new TextEncoder().encode(body);

console.log(`${iterations} requests per configuration\n`);
console.log(`${"configuration".padEnd(30)} ${"µs per request".padStart(15)}`);
for (const name of chosen) {
  const env = CONFIGURATIONS[name];
  if (!env) throw new Error(`unknown configuration "${name}"`);
  const config = loadConfig(env);
  const chain = createVerifierChain(config, log);
  // The last secret signs: a rotation's worst case, every key tried.
  const signingSecrets = config.verify.hmac.secrets.slice(-1).join(",");
  const signer = createRequestSigner(loadConfig({ ...env, WEBHOOK_HMAC_SECRETS: signingSecrets }));
  const signed = signer(rawBody, { id: "msg_bench" });
  // The headers a load generator sends, plus the signed ones.
  const headers = new Headers({
    host: "127.0.0.1:3000",
    "content-type": "application/json",
    "content-length": String(rawBody.byteLength),
    ...signed.headers,
  });
  const pathSecret = signed.path.split("/")[3] ?? null;
  const input = {
    headers,
    clientAddress: "127.0.0.1",
    pathSecret,
    rawBody: new Uint8Array(0),
  };

  const measure = (count: number) => {
    const startedAt = performance.now();
    for (let i = 0; i < count; i++) {
      const before = chain.verifyBeforeBody(input);
      const after = chain.verifyBody({ ...input, rawBody });
      if (!before.ok || !after.ok) throw new Error(`${name} refused the signed request`);
    }
    return ((performance.now() - startedAt) * 1000) / count;
  };
  measure(Math.min(iterations, 20_000));
  console.log(`${name.padEnd(30)} ${measure(iterations).toFixed(2).padStart(15)}`);
}
