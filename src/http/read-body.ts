/**
 * Reads a request body into memory, refusing more than a set number of bytes.
 *
 * Bun's own limit (`maxRequestBodySize`) answers a bare 413 before our code
 * runs, so the server sets it well above ours and the limit is enforced here,
 * where the answer can be the usual JSON error: from `Content-Length` before
 * reading anything, and by counting for a chunked body.
 */
import { RequestError } from "./errors.ts";

function tooLarge(maxBytes: number, reason: string): RequestError {
  return new RequestError(
    413,
    "payload_too_large",
    `The body is larger than ${maxBytes} bytes.`,
    reason,
  );
}

/**
 * Returns the body's exact bytes; throws a 413 `RequestError` past
 * `maxBytes`, and a 400 when the client went away before the body ended
 * (nobody reads that answer, but the delivery log records the client's
 * doing as such, and the error log stays for the server's own failures).
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readWithin(request, maxBytes);
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw new RequestError(
      400,
      "incomplete_body",
      "The body ended before its declared length.",
      `body not received in full: ${error instanceof Error ? error.name : String(error)}`,
    );
  }
}

async function readWithin(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const length = Number(declared);
    if (length > maxBytes) throw tooLarge(maxBytes, `content-length ${length}`);
    return request.bytes();
  }

  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes, `chunked body over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
