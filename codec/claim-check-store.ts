/**
 * The claim check: large payloads live in S3 under their content hash
 * (`<prefix>/sha256/<hex>`), and history keeps a small reference payload
 * naming bucket, key, size and hash. Storing is idempotent (an object that
 * exists is not uploaded again); fetching verifies size and hash.
 */
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Payload } from '@temporalio/common';
import { ClaimCheckError } from './errors';
import { encodingOf, payloadOf } from './payload-bytes';

export const CLAIM_CHECK_ENCODING = 'binary/trainyard-claim-check';

/** What a reference payload carries (as JSON in its data). */
export interface ClaimCheckReference {
  bucket: string;
  key: string;
  /** Bytes of the stored object. */
  size: number;
  /** Hex SHA-256 of the stored object. */
  sha256: string;
}

export function referencePayload(ref: ClaimCheckReference): Payload {
  const { bucket, key, size, sha256 } = ref;
  return payloadOf(CLAIM_CHECK_ENCODING, {}, Buffer.from(JSON.stringify({ bucket, key, size, sha256 }), 'utf8'));
}

/** The reference a payload carries, or undefined when it is not a reference payload. */
export function referenceOf(payload: Payload): ClaimCheckReference | undefined {
  if (encodingOf(payload) !== CLAIM_CHECK_ENCODING) return undefined;
  let parsed: Partial<ClaimCheckReference> | null = null;
  try {
    parsed = JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8')) as Partial<ClaimCheckReference> | null;
  } catch {
    // Reported below with the rest of a malformed reference.
  }
  const { bucket, key, size, sha256 } = parsed ?? {};
  if (typeof bucket !== 'string' || typeof key !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ClaimCheckError(String(bucket), String(key), 'corrupted', 'the reference payload in history is malformed (bucket, key, size, sha256 expected)');
  }
  return { bucket, key, size, sha256 };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Creates the bucket unless it exists. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (statusOf(err) !== 404) throw new Error(`cannot reach payload bucket '${bucket}': ${messageOf(err)}`, { cause: err });
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    // Another worker may have created it in between.
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
      throw new Error(`cannot create payload bucket '${bucket}': ${messageOf(err)}`, { cause: err });
    }
  }
}

export class ClaimCheckStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  /** Stores the bytes under their hash unless an object is there already; returns the reference. */
  async put(bytes: Uint8Array): Promise<ClaimCheckReference> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const ref: ClaimCheckReference = { bucket: this.bucket, key: `${this.prefix}/sha256/${sha256}`, size: bytes.length, sha256 };
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
      if (head.ContentLength === ref.size) return ref;
    } catch (err) {
      if (statusOf(err) !== 404) throw new ClaimCheckError(ref.bucket, ref.key, 'unreachable', `could not check for the object: ${messageOf(err)}`, { cause: err });
    }
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: ref.bucket, Key: ref.key, Body: bytes, ContentType: 'application/x-protobuf' }));
    } catch (err) {
      throw new ClaimCheckError(ref.bucket, ref.key, 'unreachable', `could not store the payload: ${messageOf(err)}`, { cause: err });
    }
    return ref;
  }

  /** The stored bytes, checked against the reference's size and hash. */
  async get(ref: ClaimCheckReference): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
      if (!res.Body) throw new Error('GetObject returned no body');
      bytes = await res.Body.transformToByteArray();
    } catch (err) {
      if (statusOf(err) === 404) {
        throw new ClaimCheckError(ref.bucket, ref.key, 'missing', 'the stored payload is missing (deleted, expired by a lifecycle rule, or another bucket?)', { cause: err });
      }
      throw new ClaimCheckError(ref.bucket, ref.key, 'unreachable', `could not fetch the stored payload: ${messageOf(err)}`, { cause: err });
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== ref.size || sha256 !== ref.sha256) {
      throw new ClaimCheckError(
        ref.bucket,
        ref.key,
        'corrupted',
        `the stored payload is corrupted: ${bytes.length} bytes with sha256 ${sha256}, expected ${ref.size} bytes with sha256 ${ref.sha256}`,
      );
    }
    return bytes;
  }
}
