/**
 * The verifier contract. A verifier looks at a request and says whether it came
 * from Maildesk; on refusal it gives a precise reason, which goes to the log and
 * the delivery log and never to the caller.
 */

/** What a verifier may look at. `rawBody` is the exact bytes received. */
export interface VerificationInput {
  readonly headers: Headers;
  /** The client address: the socket's peer, or the forwarded one behind a trusted proxy. */
  readonly clientAddress: string | null;
  /** The secret segment of `/webhooks/maildesk/<secret>`, if the path had one. */
  readonly pathSecret: string | null;
  readonly rawBody: Uint8Array;
}

/** A refusal: 401 for failed credentials or signatures, 403 for a refused address. */
export interface VerificationFailure {
  readonly ok: false;
  readonly status: 401 | 403;
  /** Precise, for the logs only. Never contains a secret. */
  readonly reason: string;
  /** Headers the answer must carry, e.g. `WWW-Authenticate`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A pass; `detail` goes to the log (e.g. which secret matched, by index). */
export interface VerificationPass {
  readonly ok: true;
  readonly detail?: Readonly<Record<string, string | number>>;
}

export type VerificationResult = VerificationPass | VerificationFailure;

/** One way of proving a request's origin. */
export interface Verifier {
  readonly name: string;
  /**
   * Whether the verifier reads the body. Those that do not run before the body
   * is read, so that an unauthenticated caller cannot make us read it.
   */
  readonly needsBody: boolean;
  verify(input: VerificationInput): VerificationResult;
}

/** Two passes' details as one; the one that is there when the other is not (no copy). */
export function mergeDetails(
  a: VerificationPass["detail"],
  b: VerificationPass["detail"],
): VerificationPass["detail"] {
  return a && b ? { ...a, ...b } : (a ?? b);
}

/** A pass with nothing to report, shared to spare an allocation per request. */
export const PASS: VerificationPass = Object.freeze({ ok: true });
