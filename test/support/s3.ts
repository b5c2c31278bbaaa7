/** The local S3 server for tests: one per test file, with a client and the options a worker needs. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type S3ClientOptions, createS3Client } from '../../activities/object-store';
import { type LocalS3, startLocalS3 } from '../../scripts/local-s3';

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

/** Keys under a prefix, sorted. */
export async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key ?? '').sort();
}

export async function objectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`GetObject ${key} returned no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

/** Records the name of every command the client sends, from now on. */
export function recordCommands(client: S3Client): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return sent;
}
