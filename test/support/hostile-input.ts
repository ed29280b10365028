/**
 * Hostile requests for property tests: fast-check arbitraries for bodies,
 * headers, paths and framing, and how a body is rendered to bytes.
 *
 * (The oracle is in expected-answer.ts.) Bodies are built as JSON *text* by hand rather than with JSON.stringify,
 * so that they can hold what a serializer never writes: duplicate keys,
 * lone surrogates as `\ud800` escapes, numbers beyond double precision,
 * unusual whitespace, escapes where none are needed, a byte-order mark.
 * Every valid event gets a fresh eventId prefix when it is rendered, so that
 * fast-check's replays during shrinking never turn into duplicates.
 */
import fc from "fast-check";

/** The MAX_BODY_BYTES the property tests run with: small, so oversized bodies are cheap. */
export const TEST_MAX_BODY_BYTES = 8192;

/** A JSON value as text-to-be, with the rendering choices fast-check made. */
export type JsonNode =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "string"; readonly value: string; readonly escapeAll: boolean }
  | { readonly kind: "eventId"; readonly value: string }
  | { readonly kind: "array"; readonly items: readonly JsonNode[]; readonly space: string }
  | {
      readonly kind: "object";
      readonly entries: readonly (readonly [JsonNode, JsonNode])[];
      readonly space: string;
    };

const SPACES = ["", " ", "\n", "\t", " \r\n  "];

/** Strings with what breaks naive code: NUL, emoji, bidi overrides, BOMs, separators. */
const oddString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "😀",
    "👩‍👩‍👧‍👦",
    "\u202e",
    "\ufeff",
    "\u2028\u2029",
    '"',
    "\\",
    "</script>",
    "' OR 1=1 --",
    "%00",
    "\r\n",
  ),
);

/** Strings that may also hold lone surrogates (always written as escapes). */
const oddStringWithSurrogates = fc.oneof(
  oddString,
  fc
    .tuple(oddString, fc.integer({ min: 0xd800, max: 0xdfff }), oddString)
    .map(([a, unit, b]) => `${a}${String.fromCharCode(unit)}${b}`),
);

const stringNode = (value: fc.Arbitrary<string>) =>
  fc.record({ kind: fc.constant("string" as const), value, escapeAll: fc.boolean() });

const numberNode = fc
  .oneof(
    fc.integer().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.constantFrom(
      "1e400",
      "-1e400",
      "123456789012345678901234567890123456789",
      "9007199254740993",
      "-0",
      "5e-324",
      "1E+308",
      "0.0000000000000000000000000000001",
    ),
  )
  .map((text) => ({ kind: "literal" as const, text }));

const keyNode = stringNode(
  fc.oneof(
    fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "hasOwnProperty",
      "valueOf",
      "",
      "\u0000",
    ),
    oddStringWithSurrogates,
  ),
);

/** Any JSON value, nested a few levels, with odd keys and strings. */
export const jsonNode: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("null", "true", "false").map((text) => ({ kind: "literal" as const, text })),
    numberNode,
    stringNode(oddStringWithSurrogates),
    fc.record({
      kind: fc.constant("array" as const),
      items: fc.array(tie("node"), { maxLength: 4 }),
      space: fc.constantFrom(...SPACES),
    }),
    fc.record({
      kind: fc.constant("object" as const),
      entries: fc.array(fc.tuple(keyNode, tie("node")), { maxLength: 4 }),
      space: fc.constantFrom(...SPACES),
    }),
  ),
})).node;

/** Nesting far deeper than any event: arrays or objects, 50 to 3,000 levels. */
const deepNode: fc.Arbitrary<JsonNode> = fc
  .tuple(fc.integer({ min: 50, max: 3000 }), fc.boolean())
  .map(([depth, useObjects]) => {
    let node: JsonNode = { kind: "literal", text: "0" };
    for (let i = 0; i < depth; i++) {
      node = useObjects
        ? {
            kind: "object",
            entries: [[{ kind: "string", value: "a", escapeAll: false }, node]],
            space: "",
          }
        : { kind: "array", items: [node], space: "" };
    }
    return node;
  });

const str = (value: string): JsonNode => ({ kind: "string", value, escapeAll: false });
const literal = (text: string): JsonNode => ({ kind: "literal", text });

/** A `type` value: mostly a valid one, sometimes one that must be refused. */
const typeValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("subscriber.created", "subscriber.updated").map(str) },
  { weight: 3, arbitrary: stringNode(oddStringWithSurrogates) },
  { weight: 1, arbitrary: fc.constantFrom(str(""), literal("null"), literal("42"), literal("[]")) },
);

/**
 * An `eventId` value: mostly a fresh one (odd characters after a unique
 * prefix; no lone surrogates, see the separate test of those), sometimes one
 * that must be refused.
 */
const eventIdValue = fc.oneof(
  { weight: 8, arbitrary: oddString.map((value): JsonNode => ({ kind: "eventId", value })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      str(""),
      literal("null"),
      literal("12345"),
      literal("{}"),
      str("x".repeat(201)),
    ),
  },
);

/**
 * An object that looks like an event: `type` and `eventId` (each possibly
 * missing, duplicated or invalid), the documented fields with odd values,
 * and extra entries with hostile keys, in any order.
 */
const eventNode: fc.Arbitrary<JsonNode> = fc
  .record({
    type: fc.option(typeValue, { freq: 12 }),
    eventId: fc.option(eventIdValue, { freq: 12 }),
    duplicateType: fc.option(typeValue, { freq: 8 }),
    duplicateEventId: fc.option(eventIdValue, { freq: 8 }),
    documented: fc.subarray(["id", "email", "firstName", "lastName", "status", "createdAt"]),
    documentedValues: fc.array(jsonNode, { minLength: 6, maxLength: 6 }),
    extras: fc.array(
      fc.tuple(
        keyNode,
        fc.oneof({ weight: 9, arbitrary: jsonNode }, { weight: 1, arbitrary: deepNode }),
      ),
      {
        maxLength: 5,
      },
    ),
    order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
    space: fc.constantFrom(...SPACES),
  })
  .map((r) => {
    const entries: [JsonNode, JsonNode][] = [];
    if (r.type) entries.push([str("type"), r.type]);
    if (r.eventId) entries.push([str("eventId"), r.eventId]);
    for (const [i, name] of r.documented.entries()) {
      entries.push([str(name), r.documentedValues[i] as JsonNode]);
    }
    entries.push(...(r.extras as [JsonNode, JsonNode][]));
    // Shuffle by the generated order, then put the duplicates last so that
    // they are the values JSON.parse keeps.
    const shuffled = entries
      .map((entry, i) => ({ entry, rank: (r.order[i % r.order.length] as number) * 100 + i }))
      .sort((a, b) => a.rank - b.rank)
      .map(({ entry }) => entry);
    if (r.duplicateType) shuffled.push([str("type"), r.duplicateType]);
    if (r.duplicateEventId) shuffled.push([str("eventId"), r.duplicateEventId]);
    return { kind: "object" as const, entries: shuffled, space: r.space };
  });

/** A request body before rendering: a tree to render, or raw bytes. */
export type BodySpec =
  | {
      readonly kind: "json";
      readonly node: JsonNode;
      readonly bom: boolean;
      readonly padTo: number;
    }
  | { readonly kind: "truncated"; readonly node: JsonNode; readonly keepShare: number }
  | { readonly kind: "invalid-utf8"; readonly node: JsonNode; readonly byte: number }
  | { readonly kind: "bytes"; readonly bytes: Uint8Array };

export const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("json" as const),
      node: eventNode,
      bom: fc.oneof(
        { weight: 19, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      padTo: fc.oneof(
        { weight: 8, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.integer({ min: 1000, max: 4 * TEST_MAX_BODY_BYTES }) },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("json" as const),
      node: jsonNode,
      bom: fc.constant(false),
      padTo: fc.constant(0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("truncated" as const),
      node: eventNode,
      keepShare: fc.double({ min: 0, max: 0.99, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("invalid-utf8" as const),
      node: eventNode,
      byte: fc.constantFrom(0x80, 0xc0, 0xed, 0xf8, 0xff),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("bytes" as const),
      bytes: fc.uint8Array({ maxLength: 2 * TEST_MAX_BODY_BYTES }),
    }),
  },
);

/** Content types, valid and not; `null` sends none. */
export const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant("application/json") },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      'application/json;charset="UTF-8"',
      "application/cloudevents+json",
      "application/vnd.maildesk.event+json; charset=utf-8",
      "application/json; charset=iso-8859-1",
      "application/json; charset=utf-16",
      "text/plain",
      "text/json",
      "application/xml",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "application/json, text/plain",
      "",
      null,
    ),
  },
);

/** Headers that frame the request; random values there would test the client, not us. */
const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding", "host", "content-type"]);

const headerName = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
  .filter((name) => !FRAMING_HEADERS.has(name));
const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,60}[\x21-\x7e])?$/);

/** Extra headers a caller might send, including ones that mean something elsewhere. */
export const extraHeaders = fc.array(
  fc.oneof(
    fc.tuple(headerName, headerValue),
    fc.tuple(
      fc.constantFrom(
        "authorization",
        "x-forwarded-for",
        "webhook-signature",
        "webhook-id",
        "x-hub-signature-256",
        "content-encoding",
        "x-request-id",
        "cookie",
      ),
      headerValue,
    ),
  ),
  { maxLength: 4 },
);

/** Paths that reach the webhook route: the plain one, with a query, or with a secret segment. */
export const webhookPath = fc.oneof(
  { weight: 8, arbitrary: fc.constant("/webhooks/maildesk") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("/webhooks/maildesk/", "/webhooks/maildesk?x=1&eventId=zz"),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 30 })
      // "." and ".." are resolved away by URL parsing: not a secret segment.
      .filter((segment) => segment !== "." && segment !== "..")
      .map((segment) => `/webhooks/maildesk/${encodeURIComponent(segment)}`),
  },
);

/** One hostile request. */
export interface HostileRequest {
  readonly body: BodySpec;
  readonly contentType: string | null;
  readonly headers: readonly (readonly [string, string])[];
  readonly path: string;
  readonly chunked: boolean;
}

export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.record({
  body: bodySpec,
  contentType,
  headers: extraHeaders,
  path: webhookPath,
  chunked: fc.boolean(),
});

const encoder = new TextEncoder();

/** Renders a body to bytes; `uniquePrefix` goes before every generated eventId. */
export function renderBody(body: BodySpec, uniquePrefix: string): Uint8Array {
  if (body.kind === "bytes") return body.bytes;
  const text = renderNode(body.node, uniquePrefix);
  if (body.kind === "truncated") {
    return encoder.encode(text.slice(0, Math.floor(text.length * body.keepShare)));
  }
  if (body.kind === "invalid-utf8") {
    const bytes = encoder.encode(text);
    const at = bytes.indexOf(0x22) + 1; // inside the first string
    return Uint8Array.from([...bytes.subarray(0, at), body.byte, ...bytes.subarray(at)]);
  }
  let padded = text;
  if (body.padTo > text.length && text.endsWith("}")) {
    const pad = "x".repeat(body.padTo - text.length);
    padded = `${text.slice(0, -1)}${text.length > 2 ? "," : ""}"pad":"${pad}"}`;
  }
  return encoder.encode(body.bom ? `\ufeff${padded}` : padded);
}

function renderNode(node: JsonNode, prefix: string): string {
  switch (node.kind) {
    case "literal":
      return node.text;
    case "string":
      return quote(node.value, node.escapeAll);
    case "eventId":
      return quote(`${prefix}${node.value}`, false);
    case "array":
      return `[${node.space}${node.items.map((item) => renderNode(item, prefix)).join(`,${node.space}`)}${node.space}]`;
    case "object":
      return `{${node.space}${node.entries
        .map(
          ([key, value]) => `${renderNode(key, prefix)}:${node.space}${renderNode(value, prefix)}`,
        )
        .join(`,${node.space}`)}${node.space}}`;
  }
}

/** A JSON string literal; lone surrogates (and, with `escapeAll`, all non-ASCII) as \uXXXX. */
function quote(value: string, escapeAll: boolean): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const isLow = unit >= 0xdc00 && unit <= 0xdfff;
    const next = value.charCodeAt(i + 1);
    const pairsNext = isHigh && next >= 0xdc00 && next <= 0xdfff;
    const pairsPrevious =
      isLow && i > 0 && value.charCodeAt(i - 1) >= 0xd800 && value.charCodeAt(i - 1) <= 0xdbff;
    const lone = (isHigh && !pairsNext) || (isLow && !pairsPrevious);
    const char = value[i] as string;
    if (char === '"') out += '\\"';
    else if (char === "\\") out += "\\\\";
    else if (unit < 0x20 || lone || (escapeAll && unit > 0x7e))
      out += `\\u${unit.toString(16).padStart(4, "0")}`;
    else out += char;
  }
  return `${out}"`;
}
