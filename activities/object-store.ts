/**
 * S3 clients for Trainyard's object storage (sensors, the claim-check codec,
 * artifacts): AWS itself, or any S3-compatible server given by its endpoint
 * (the local versitygw from scripts/local-s3.ts, MinIO, Ceph, ...).
 *
 *   createS3Client({ region: 'eu-west-1' })                         // AWS, default credential chain
 *   createS3Client({ endpoint, region, accessKeyId, secretAccessKey }) // an S3-compatible server
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  /** An S3-compatible server's URL, e.g. `http://127.0.0.1:7070`; left out for AWS. */
  endpoint?: string;
  region: string;
  /** Static credentials; without them the SDK's default chain (env, profile, SSO, IMDS, ...) applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /**
   * Path-style addressing (`endpoint/bucket/key`) instead of virtual-host style
   * (`bucket.endpoint/key`). @default true with an endpoint (few local servers
   * resolve bucket host names), false for AWS.
   */
  forcePathStyle?: boolean;
  /**
   * When the SDK adds and checks flexible checksums (CRC32 and friends). Since
   * 3.729 it does so on every request by default, which servers other than AWS
   * often reject or answer without; 'WHEN_REQUIRED' keeps to what S3 itself
   * demands. @default 'WHEN_REQUIRED' with an endpoint, the SDK's default for AWS.
   */
  checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  /** Retries per request. @default the SDK's (3) */
  maxAttempts?: number;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey, sessionToken } = options;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new Error('createS3Client: give both accessKeyId and secretAccessKey, or neither (for the default credential chain)');
  }
  const config: S3ClientConfig = { region };
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = options.forcePathStyle ?? true;
    const checksums = options.checksums ?? 'WHEN_REQUIRED';
    config.requestChecksumCalculation = checksums;
    config.responseChecksumValidation = checksums;
  } else {
    if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
    if (options.checksums) {
      config.requestChecksumCalculation = options.checksums;
      config.responseChecksumValidation = options.checksums;
    }
  }
  if (accessKeyId && secretAccessKey) {
    config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  return new S3Client(config);
}
