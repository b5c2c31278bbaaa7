/**
 * The AES-256 key payloads are encrypted with, and its id. The id is derived
 * from the key (a truncated SHA-256 of it), so it needs no configuration of
 * its own, and a payload records which key sealed it: a later rotation can
 * keep old keys for decryption only.
 */
import { createHash } from 'node:crypto';
import { PayloadKeyError } from './errors';

export const PAYLOAD_KEY_BYTES = 32;

export interface PayloadKey {
  /** 16 hex digits that name the key in payload metadata; not secret. */
  readonly id: string;
  /** The 32 key bytes. */
  readonly bytes: Buffer;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A key from its 32 bytes. */
export function payloadKeyOf(bytes: Uint8Array, source = 'the payload key'): PayloadKey {
  if (bytes.length !== PAYLOAD_KEY_BYTES) throw new PayloadKeyError(source, `is ${bytes.length} bytes long`);
  const copy = Buffer.from(bytes);
  const id = createHash('sha256').update('trainyard-payload-key\0').update(copy).digest('hex').slice(0, 16);
  return { id, bytes: copy };
}

/**
 * A key from base64 text, as `TRAINYARD_PAYLOAD_KEY` holds it; surrounding
 * whitespace is ignored. `source` names where the text came from, for errors.
 */
export function payloadKeyFromBase64(text: string, source = 'TRAINYARD_PAYLOAD_KEY'): PayloadKey {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed)) throw new PayloadKeyError(source, 'is not base64');
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== PAYLOAD_KEY_BYTES) throw new PayloadKeyError(source, `decodes to ${bytes.length} bytes, not ${PAYLOAD_KEY_BYTES}`);
  return payloadKeyOf(bytes, source);
}
