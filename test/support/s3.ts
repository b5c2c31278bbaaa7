/** The local S3 server for a test file, and what tests look at in it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3ClientOptions } from '../../activities/object-store';
import { type LocalS3, startLocalS3 } from '../../scripts/local-s3';

export interface TestS3 {
  server: LocalS3;
  options: S3ClientOptions;
  client: S3Client;
  stop(): Promise<void>;
}

/** A local S3 server (versitygw) in a fresh directory, with a client of it. */
export async function startTestS3(): Promise<TestS3> {
  const binDir = process.env.TRAINYARD_S3_BIN;
  if (!binDir) throw new Error('TRAINYARD_S3_BIN is not set; run the tests with npm test, which builds the local S3 server');
  const server = await startLocalS3({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-s3-')), binDir });
  const options: S3ClientOptions = { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const client = createS3Client(options);
  return {
    server,
    options,
    client,
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
