/**
 * The binary form in which a batch of events and delivery-log rows crosses
 * from the HTTP thread to the writer thread.
 *
 * Structured cloning of plain objects costs about 2.5 µs per event here;
 * packing the fields into one buffer and transferring it (no copy) costs
 * about a quarter of that, on the thread that also serves HTTP. The layout is
 * private to this module: a count of each kind, then field after field in
 * the order of `EVENT_FIELDS` / `DELIVERY_FIELDS`. Strings are UTF-8 with a
 * length prefix (a length of 0xFFFFFFFF marks `null`), numbers are float64
 * (NaN marks `null`), the raw body is bytes with a length prefix.
 */
import type { DeliveryRecord, IncomingEvent } from "./types.ts";

const NULL_LENGTH = 0xff_ff_ff_ff;
const INITIAL_BYTES = 64 * 1024;

type Kind = "text" | "number" | "bytes";

const EVENT_FIELDS = [
  ["eventId", "text"],
  ["type", "text"],
  ["contactId", "text"],
  ["email", "text"],
  ["status", "text"],
  ["createdAtRaw", "text"],
  ["createdAt", "number"],
  ["receivedAt", "number"],
  ["sourceIp", "text"],
  ["requestId", "text"],
  ["contentType", "text"],
  ["rawBody", "bytes"],
] as const satisfies readonly (readonly [keyof IncomingEvent, Kind])[];

const DELIVERY_FIELDS = [
  ["receivedAt", "number"],
  ["requestId", "text"],
  ["sourceIp", "text"],
  ["method", "text"],
  ["path", "text"],
  ["status", "number"],
  ["outcome", "text"],
  ["reason", "text"],
  ["eventId", "text"],
  ["bodyBytes", "number"],
  ["latencyMs", "number"],
] as const satisfies readonly (readonly [keyof DeliveryRecord, Kind])[];

/** A decoded batch. */
export interface IngestBatch {
  readonly events: IncomingEvent[];
  readonly deliveries: DeliveryRecord[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Packs a batch into one buffer, to be transferred with `postMessage`. */
export function encodeBatch(
  events: readonly IncomingEvent[],
  deliveries: readonly DeliveryRecord[],
): ArrayBuffer {
  const writer = new BufferWriter(estimateBytes(events));
  writer.uint32(events.length);
  writer.uint32(deliveries.length);
  for (const event of events) writer.record(event, EVENT_FIELDS);
  for (const delivery of deliveries) writer.record(delivery, DELIVERY_FIELDS);
  return writer.finish();
}

/** Unpacks what `encodeBatch` packed. */
export function decodeBatch(buffer: ArrayBuffer): IngestBatch {
  const reader = new BufferReader(buffer);
  const eventCount = reader.uint32();
  const deliveryCount = reader.uint32();
  const events: IncomingEvent[] = new Array(eventCount);
  for (let i = 0; i < eventCount; i++)
    events[i] = reader.record(EVENT_FIELDS) as unknown as IncomingEvent;
  const deliveries: DeliveryRecord[] = new Array(deliveryCount);
  for (let i = 0; i < deliveryCount; i++) {
    deliveries[i] = reader.record(DELIVERY_FIELDS) as unknown as DeliveryRecord;
  }
  return { events, deliveries };
}

function estimateBytes(events: readonly IncomingEvent[]): number {
  let bytes = INITIAL_BYTES;
  for (const event of events) bytes += event.rawBody.byteLength;
  return bytes;
}

class BufferWriter {
  private bytes: Uint8Array;
  private view: DataView;
  private offset = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  uint32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  record(record: object, fields: readonly (readonly [string, Kind])[]): void {
    const values = record as Record<string, unknown>;
    for (const [name, kind] of fields) {
      const value = values[name];
      if (kind === "number") this.number(value as number | null);
      else if (kind === "text") this.text(value as string | null);
      else this.blob(value as Uint8Array);
    }
  }

  finish(): ArrayBuffer {
    return this.bytes.buffer.slice(0, this.offset) as ArrayBuffer;
  }

  private number(value: number | null): void {
    this.reserve(8);
    this.view.setFloat64(this.offset, value ?? Number.NaN, true);
    this.offset += 8;
  }

  private text(value: string | null): void {
    if (value === null) {
      this.uint32(NULL_LENGTH);
      return;
    }
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    this.reserve(4 + value.length * 3);
    const { written } = encoder.encodeInto(value, this.bytes.subarray(this.offset + 4));
    this.view.setUint32(this.offset, written, true);
    this.offset += 4 + written;
  }

  private blob(value: Uint8Array): void {
    this.uint32(value.byteLength);
    this.reserve(value.byteLength);
    this.bytes.set(value, this.offset);
    this.offset += value.byteLength;
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.bytes.byteLength) return;
    const grown = new Uint8Array(Math.max(this.bytes.byteLength * 2, this.offset + bytes));
    grown.set(this.bytes.subarray(0, this.offset));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

class BufferReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(buffer: ArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  uint32(): number {
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  record(fields: readonly (readonly [string, Kind])[]): Record<string, unknown> {
    const record: Record<string, unknown> = {};
    for (const [name, kind] of fields) {
      if (kind === "number") record[name] = this.number();
      else if (kind === "text") record[name] = this.text();
      else record[name] = this.blob();
    }
    return record;
  }

  private number(): number | null {
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return Number.isNaN(value) ? null : value;
  }

  private text(): string | null {
    const length = this.uint32();
    if (length === NULL_LENGTH) return null;
    const value = decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  private blob(): Uint8Array {
    const length = this.uint32();
    // A view, not a copy: the buffer was transferred to this thread and is ours.
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}
