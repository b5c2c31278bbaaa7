/** A local S3 server as a test file's artifact store: one bucket, a client, and the worker's settings for it. */
import { type TestS3, objectBytes, startTestS3 } from './s3';

export interface TestArtifactStore {
  /** The S3 server itself (the artifact bucket, and any others a test creates). */
  s3: TestS3['server'];
  client: TestS3['client'];
  /** Objects in other buckets of the same server (a test's input data, say). */
  put: TestS3['put'];
  /** Options of a client of this server (sensors, say). */
  options: TestS3['options'];
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

export async function startArtifactStore(bucket = 'trainyard-artifacts', otherBuckets: readonly string[] = []): Promise<TestArtifactStore> {
  const s3 = await startTestS3([bucket, ...otherBuckets]);
  return {
    s3: s3.server,
    client: s3.client,
    put: (bucket, key, body) => s3.put(bucket, key, body),
    options: s3.options,
    bucket,
    read: (key) => objectBytes(s3.client, bucket, key),
    workerEnv: (base, prefix) => ({
      ...base,
      TRAINYARD_ARTIFACTS_URI: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
      TRAINYARD_S3_ENDPOINT: s3.server.endpoint,
      AWS_ACCESS_KEY_ID: s3.server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.server.secretAccessKey,
    }),
    stop: () => s3.stop(),
  };
}
