/**
 * Load for the benchmarks: distinct Maildesk-like events, each with a unique
 * eventId, prepared before the clock starts so that the load generator only
 * replays bytes. A `sign` function adds the headers a verifier expects.
 */
import { readFileSync, writeFileSync } from "node:fs";

/** One prepared request. */
export interface PreparedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The eventId in the body, for the stored check. */
  readonly eventId: string;
}

/** Adds verification headers (and may change the path) for one request. */
export type Signer = (
  body: string,
  eventId: string,
) => { path?: string; headers?: Record<string, string> };

const TYPES = [
  "subscriber.created",
  "subscriber.updated",
  "subscriber.confirmed",
  "subscriber.unsubscribed",
];

/** A realistic event body of about 250 bytes. */
export function sampleEvent(index: number, runId: string): { eventId: string; body: string } {
  const eventId = `${runId}-${index.toString(36).padStart(8, "0")}`;
  const body = JSON.stringify({
    type: TYPES[index % TYPES.length],
    eventId,
    id: `contact-${index % 50_000}`,
    email: `reader${index % 50_000}@example.com`,
    firstName: "Ada",
    lastName: "Lovelace",
    status: index % 4 === 3 ? "unsubscribed" : "active",
    createdAt: new Date(1_764_000_000_000 + index * 1000).toISOString(),
  });
  return { eventId, body };
}

/** Prepares `count` requests to `path`, signed by `sign` when given. */
export function prepareRequests(count: number, path: string, sign?: Signer): PreparedRequest[] {
  const runId = crypto.randomUUID().slice(0, 8);
  const requests: PreparedRequest[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const { eventId, body } = sampleEvent(i, runId);
    const signed = sign?.(body, eventId) ?? {};
    requests[i] = {
      path: signed.path ?? path,
      headers: { "content-type": "application/json", ...signed.headers },
      body,
      eventId,
    };
  }
  return requests;
}

// The request file read by wrk's replay.lua and by the open-loop client: one
// request a line, path, headers and body separated by ASCII record and unit
// separators, which JSON bodies and header values never contain.
const RECORD_SEPARATOR = "\x1e";
const UNIT_SEPARATOR = "\x1f";

/** Writes `requests` to `file` in the replay format. */
export function writeRequestFile(file: string, requests: readonly PreparedRequest[]): void {
  const lines = requests.map(
    (r) =>
      `${r.path}${RECORD_SEPARATOR}${Object.entries(r.headers)
        .map(([name, value]) => `${name}: ${value}`)
        .join(UNIT_SEPARATOR)}${RECORD_SEPARATOR}${r.body}`,
  );
  writeFileSync(file, `${lines.join("\n")}\n`);
}

/** Reads a file written by `writeRequestFile` (the eventIds are not in it). */
export function readRequestFile(file: string): Omit<PreparedRequest, "eventId">[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      const [path = "/", headerText = "", body = ""] = line.split(RECORD_SEPARATOR);
      const headers: Record<string, string> = {};
      for (const header of headerText.split(UNIT_SEPARATOR)) {
        const at = header.indexOf(": ");
        if (at > 0) headers[header.slice(0, at)] = header.slice(at + 2);
      }
      return { path, headers, body };
    });
}
