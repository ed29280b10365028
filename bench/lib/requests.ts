/**
 * Load for the benchmarks: distinct Maildesk-like events, each with a unique
 * eventId, prepared before the clock starts so that the load generator only
 * replays bytes. A `sign` function adds the headers a verifier expects.
 */

/** One prepared request. */
export interface PreparedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
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
    };
  }
  return requests;
}
