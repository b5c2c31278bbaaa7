/**
 * Trainyard's PayloadCodec: optional AES-256-GCM encryption of every payload,
 * then a claim check for payloads whose serialized size is above the
 * threshold. Encoding encrypts first, so what goes to S3 is ciphertext too;
 * decoding fetches, verifies, then decrypts.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { ClaimCheckError, PayloadDecryptionError } from './errors';
import { ClaimCheckStore, referenceOf, referencePayload } from './claim-check-store';
import { payloadFromBytes, payloadToBytes } from './payload-bytes';
import { PayloadCipher, encryptedWith } from './payload-cipher';
import type { PayloadKey } from './payload-key';

/** 128 KiB: far below Temporal's 2 MB limit per payload and its 512 KB warning. */
export const DEFAULT_PAYLOAD_THRESHOLD = 128 * 1024;
export const DEFAULT_PAYLOAD_PREFIX = 'trainyard/payloads';

export interface PayloadCodecOptions {
  /** Where payloads above the threshold go; without it every payload stays in history. */
  storage?: {
    s3: S3Client;
    bucket: string;
    /** Objects are `<prefix>/sha256/<hex>`. @default 'trainyard/payloads' */
    prefix?: string;
  };
  /** Payloads whose serialized size is above this many bytes are stored. @default 131072 */
  threshold?: number;
  /** Encrypts every payload (and so every stored object) with this key; without it nothing is encrypted. */
  key?: PayloadKey;
}

export interface CompiledPayloadCodecOptions {
  storage?: { s3: S3Client; bucket: string; prefix: string };
  threshold: number;
  key?: PayloadKey;
}

export function compilePayloadCodecOptions(options: PayloadCodecOptions): CompiledPayloadCodecOptions {
  const threshold = options.threshold ?? DEFAULT_PAYLOAD_THRESHOLD;
  if (!Number.isSafeInteger(threshold) || threshold < 0) throw new Error(`payload threshold must be a whole number of bytes, got ${threshold}`);
  const compiled: CompiledPayloadCodecOptions = { threshold };
  if (options.storage) {
    const prefix = (options.storage.prefix ?? DEFAULT_PAYLOAD_PREFIX).replace(/^\/+|\/+$/g, '');
    compiled.storage = { ...options.storage, prefix };
  }
  if (options.key) compiled.key = options.key;
  return compiled;
}

export class TrainyardPayloadCodec implements PayloadCodec {
  private readonly store?: ClaimCheckStore;
  private readonly cipher?: PayloadCipher;
  readonly threshold: number;

  constructor(options: PayloadCodecOptions) {
    const { storage, threshold, key } = compilePayloadCodecOptions(options);
    this.threshold = threshold;
    if (storage) this.store = new ClaimCheckStore(storage.s3, storage.bucket, storage.prefix);
    if (key) this.cipher = new PayloadCipher(key);
  }

  /** One line for logs: what this codec does to payloads. */
  describe(): string {
    const parts = [
      this.store ? `over ${this.threshold} bytes to s3://${this.store.bucket}/${this.store.prefix}/` : 'kept in history',
      this.cipher ? `all encrypted (AES-256-GCM, key id ${this.cipher.keyId})` : 'not encrypted',
    ];
    return `payloads ${parts.join(', ')}`;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.encodeOne(p)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.decodeOne(p)));
  }

  private async encodeOne(payload: Payload): Promise<Payload> {
    if (!this.store && !this.cipher) return payload;
    const bytes = payloadToBytes(payload);
    const large = this.store !== undefined && bytes.length > this.threshold;
    const sealed = this.cipher?.seal(bytes, large ? 'derived' : 'random');
    if (!large || !this.store) return sealed ?? payload;
    const ref = await this.store.put(sealed ? payloadToBytes(sealed) : bytes);
    return referencePayload(ref);
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    let decoded = payload;
    const ref = referenceOf(decoded);
    if (ref) {
      if (!this.store) {
        throw new ClaimCheckError(ref.bucket, ref.key, 'no-storage', 'this process has no S3 access to fetch it with; set TRAINYARD_PAYLOAD_BUCKET and the TRAINYARD_S3_* variables as the worker has them');
      }
      decoded = payloadFromBytes(await this.store.get(ref));
    }
    const keyId = encryptedWith(decoded);
    if (keyId !== undefined) {
      if (!this.cipher) {
        throw new PayloadDecryptionError(keyId, `payload is encrypted (key id ${keyId}) and this process has no key; set TRAINYARD_PAYLOAD_KEY to the key the worker uses`);
      }
      decoded = payloadFromBytes(this.cipher.open(decoded));
    }
    return decoded;
  }
}
