/** A local S3 server (versitygw) as a test file's artifact store: one bucket, a client, and the worker's settings for it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../activities/object-store';
import { type LocalS3, startLocalS3 } from '../../scripts/local-s3';

export interface TestArtifactStore {
  s3: LocalS3;
  client: S3Client;
  bucket: string;
  /** An object's bytes. */
  read(key: string): Promise<Buffer>;
  /**
   * What an operator would set for a worker whose artifacts go under `s3://<bucket>/<prefix>`:
   * `base` plus the store, its endpoint and the keys, and no AWS_ENDPOINT_URL or AWS_REGION.
   */
  workerEnv(base: NodeJS.ProcessEnv, prefix?: string): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startArtifactStore(bucket = 'trainyard-artifacts'): Promise<TestArtifactStore> {
  const binDir = process.env.TRAINYARD_S3_BIN;
  if (!binDir) throw new Error('TRAINYARD_S3_BIN is not set; run the tests with npm test, which builds the local S3 server');
  const s3 = await startLocalS3({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-artifacts-s3-')), binDir });
  const client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    s3,
    client,
    bucket,
    async read(key) {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await res.Body?.transformToByteArray()) ?? []);
    },
    workerEnv: (base, prefix) => ({
      ...base,
      TRAINYARD_ARTIFACTS_URI: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
      TRAINYARD_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    }),
    async stop() {
      client.destroy();
      await s3.stop();
    },
  };
}
