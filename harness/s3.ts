/** The local S3 server, one per test file or benchmark, with a client and the options a worker needs. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type S3ClientOptions, createS3Client } from '../activities/object-store';
import { type LocalS3, startLocalS3 } from '../scripts/local-s3';

export interface TestS3 {
  server: LocalS3;
  client: S3Client;
  /** What a worker (or createS3Client) needs to reach it. */
  options: S3ClientOptions;
  /** The same as environment variables, for worker processes. */
  env: Record<string, string>;
  put(bucket: string, key: string, body: string | Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestS3(buckets: readonly string[] = []): Promise<TestS3> {
  const binDir = process.env.TRAINYARD_S3_BIN;
  if (!binDir) throw new Error('TRAINYARD_S3_BIN is not set; run the tests with npm test, which builds the local S3 server');
  const server = await startLocalS3({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-s3-')), binDir });
  const options: S3ClientOptions = {
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  };
  const client = createS3Client(options);
  for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    server,
    client,
    options,
    env: {
      TRAINYARD_S3_ENDPOINT: server.endpoint,
      TRAINYARD_S3_REGION: server.region,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    },
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
