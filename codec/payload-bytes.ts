/** Payloads as bytes: the protobuf serialization Temporal stores, and metadata as text. */
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const PayloadMessage = temporal.api.common.v1.Payload;

/** The payload as Temporal serializes it; its length is the payload's size in history. */
export function payloadToBytes(payload: Payload): Uint8Array {
  return PayloadMessage.encode(payload).finish();
}

export function payloadFromBytes(bytes: Uint8Array): Payload {
  const { metadata, data } = PayloadMessage.decode(bytes);
  return { metadata, data };
}

/** A metadata entry as UTF-8 text, or undefined when absent. */
export function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString('utf8') : undefined;
}

/** The payload's `encoding` metadata ('json/plain', 'binary/trainyard-claim-check', ...), or '' when it has none. */
export function encodingOf(payload: Payload): string {
  return metadataText(payload, 'encoding') ?? '';
}

/** A payload with the given encoding and other metadata (text), carrying `data`. */
export function payloadOf(encoding: string, metadata: Record<string, string>, data: Uint8Array): Payload {
  const entries = Object.entries({ encoding, ...metadata }).map(([k, v]): [string, Uint8Array] => [k, Buffer.from(v, 'utf8')]);
  return { metadata: Object.fromEntries(entries), data };
}
