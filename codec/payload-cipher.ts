/**
 * AES-256-GCM for whole payloads: the serialized payload (data and metadata)
 * becomes the ciphertext of a new payload whose metadata says only that it is
 * encrypted and with which key.
 *
 * Nonces are random, except for payloads bound for object storage: those take
 * a nonce derived from the plaintext (HMAC-SHA256 under a key derived from the
 * payload key), so the same value stored twice is the same ciphertext, the
 * same content hash and one object. That reveals only that two stored values
 * are equal, never what they are.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { PayloadDecryptionError } from './errors';
import { encodingOf, metadataText, payloadOf } from './payload-bytes';
import type { PayloadKey } from './payload-key';

export const ENCRYPTED_ENCODING = 'binary/trainyard-encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export type NonceKind = 'random' | 'derived';

/** The key id of an encrypted payload, or undefined when the payload is not one. */
export function encryptedWith(payload: Payload): string | undefined {
  if (encodingOf(payload) !== ENCRYPTED_ENCODING) return undefined;
  return metadataText(payload, KEY_ID_METADATA) ?? '(none)';
}

/** The metadata is authenticated with the ciphertext, so it cannot be swapped for another key's. */
function additionalData(keyId: string): Buffer {
  return Buffer.from(`${ENCRYPTED_ENCODING}\0${CIPHER}\0${keyId}`, 'utf8');
}

export class PayloadCipher {
  private readonly nonceKey: Buffer;

  constructor(private readonly key: PayloadKey) {
    this.nonceKey = Buffer.from(hkdfSync('sha256', key.bytes, Buffer.alloc(0), 'trainyard payload nonce', 32));
  }

  get keyId(): string {
    return this.key.id;
  }

  /** Encrypts a serialized payload into an encrypted payload. */
  seal(plaintext: Uint8Array, nonceKind: NonceKind): Payload {
    const nonce =
      nonceKind === 'random' ? randomBytes(NONCE_BYTES) : createHmac('sha256', this.nonceKey).update(plaintext).digest().subarray(0, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key.bytes, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(this.key.id));
    const data = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return payloadOf(ENCRYPTED_ENCODING, { [KEY_ID_METADATA]: this.key.id, [CIPHER_METADATA]: CIPHER }, data);
  }

  /** The serialized payload inside an encrypted payload. */
  open(payload: Payload): Uint8Array {
    const keyId = encryptedWith(payload) ?? '(none)';
    if (keyId !== this.key.id) {
      throw new PayloadDecryptionError(
        keyId,
        `payload was encrypted with key id ${keyId}, but TRAINYARD_PAYLOAD_KEY here is key id ${this.key.id}; ` +
          'give this process the key the worker that wrote it uses',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new PayloadDecryptionError(keyId, `encrypted payload (key id ${keyId}) is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', this.key.bytes, data.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new PayloadDecryptionError(keyId, `encrypted payload (key id ${keyId}) failed authentication: it was altered or sealed with another key (${(err as Error).message})`);
    }
  }
}
