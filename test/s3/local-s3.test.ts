/** The local S3 server (versitygw) and createS3Client against it: real requests, real files. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../activities/object-store';
import { type LocalS3, startLocalS3 } from '../../scripts/local-s3';

const BUCKET = 'ml-datasets';
const SPACED_KEY = 'daily/2026-01-01/my features v2.parquet';

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

async function bodyOf(client: S3Client, key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.ok(res.Body, `GetObject ${key} returned no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

async function keysUnder(client: S3Client, prefix?: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, ...(prefix === undefined ? {} : { Prefix: prefix }) }));
  return (res.Contents ?? []).map((o) => o.Key ?? '').sort();
}

/** The SDK's error for a failed call: its name and HTTP status. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  assert.fail('the call was expected to fail');
}

describe('local S3 (versitygw)', () => {
  let s3: LocalS3;
  let client: S3Client;

  before(async () => {
    const binDir = process.env.TRAINYARD_S3_BIN;
    if (!binDir) throw new Error('TRAINYARD_S3_BIN is not set; run the tests with npm test, which builds the local S3 server');
    s3 = await startLocalS3({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-s3-')), binDir });
    client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
  });

  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('listens on loopback with generated credentials', () => {
    assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(s3.accessKeyId, /^[A-Z0-9]{20}$/);
    assert.equal(s3.secretAccessKey.length, 40);
  });

  it('creates a bucket, and knows it exists', async () => {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const head = await client.send(new HeadBucketCommand({ Bucket: BUCKET }));
    assert.equal(head.$metadata.httpStatusCode, 200);
    const buckets = await client.send(new ListBucketsCommand({}));
    assert.deepEqual(buckets.Buckets?.map((b) => b.Name), [BUCKET]);
    const missing = await failure(client.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })));
    assert.equal(missing.status, 404);
  });

  it('rejects requests signed with the wrong secret', async () => {
    const intruder = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: 'x'.repeat(40), maxAttempts: 1 });
    try {
      const denied = await failure(intruder.send(new ListObjectsV2Command({ Bucket: BUCKET })));
      assert.equal(denied.status, 403);
      assert.equal(denied.name, 'SignatureDoesNotMatch');
    } finally {
      intruder.destroy();
    }
  });

  it('puts and gets a small object with its content type and metadata', async () => {
    const body = Buffer.from('{"rows": 3}\n');
    const put = await client.send(new PutObjectCommand({
      Bucket: BUCKET, Key: 'manifest.json', Body: body, ContentType: 'application/json', Metadata: { producer: 'trainyard-test' },
    }));
    assert.equal(put.ETag, `"${md5(body)}"`);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'manifest.json' }));
    assert.equal(got.ContentType, 'application/json');
    assert.deepEqual(got.Metadata, { producer: 'trainyard-test' });
    assert.equal(await got.Body?.transformToString(), body.toString());
  });

  it('round-trips a 5 MB object byte for byte', async () => {
    const big = randomBytes(5 * 1024 * 1024);
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/big.bin', Body: big }));
    assert.equal(put.ETag, `"${md5(big)}"`);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'models/big.bin' }));
    assert.equal(head.ContentLength, big.length);
    assert.equal(head.ETag, put.ETag);
    const back = await bodyOf(client, 'models/big.bin');
    assert.equal(back.length, big.length);
    assert.ok(back.equals(big), 'the 5 MB object came back different');
  });

  it('keeps a key with slashes and spaces exactly, on disk under the bucket directory', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: SPACED_KEY, Body: 'parquet bytes' }));
    assert.equal((await bodyOf(client, SPACED_KEY)).toString(), 'parquet bytes');
    assert.ok((await keysUnder(client)).includes(SPACED_KEY));
    const file = path.join(s3.dir, 'data', BUCKET, ...SPACED_KEY.split('/'));
    assert.equal(readFileSync(file, 'utf8'), 'parquet bytes');
  });

  it('lists by prefix and by delimiter', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'daily/2026-01-02/features.parquet', Body: 'b' }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dailyish.txt', Body: 'c' }));
    assert.deepEqual(await keysUnder(client, 'daily/'), ['daily/2026-01-01/my features v2.parquet', 'daily/2026-01-02/features.parquet']);
    assert.deepEqual(await keysUnder(client, 'daily/2026-01-02/'), ['daily/2026-01-02/features.parquet']);
    assert.deepEqual(await keysUnder(client, 'nothing-here/'), []);
    const tree = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'daily/', Delimiter: '/' }));
    assert.deepEqual(tree.CommonPrefixes?.map((p) => p.Prefix).sort(), ['daily/2026-01-01/', 'daily/2026-01-02/']);
    assert.equal((tree.Contents ?? []).length, 0);
    const paged = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 2 }));
    assert.equal(paged.Contents?.length, 2);
    assert.equal(paged.IsTruncated, true);
    const rest = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: paged.NextContinuationToken }));
    const all = [...(paged.Contents ?? []), ...(rest.Contents ?? [])].map((o) => o.Key ?? '').sort();
    assert.deepEqual(all, await keysUnder(client));
  });

  it('answers 404 for a missing key: NotFound on head, NoSuchKey on get', async () => {
    const head = await failure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'daily/2026-01-03/features.parquet' })));
    assert.equal(head.status, 404);
    assert.equal(head.name, 'NotFound');
    const get = await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'daily/2026-01-03/features.parquet' })));
    assert.equal(get.status, 404);
    assert.equal(get.name, 'NoSuchKey');
  });

  it('deletes objects', async () => {
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: SPACED_KEY }));
    const head = await failure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: SPACED_KEY })));
    assert.equal(head.status, 404);
    assert.ok(!(await keysUnder(client, 'daily/')).includes(SPACED_KEY));
    assert.ok((await keysUnder(client, 'daily/')).includes('daily/2026-01-02/features.parquet'), 'a sibling went with it');
    assert.ok(!existsSync(path.join(s3.dir, 'data', BUCKET, ...SPACED_KEY.split('/'))));
  });

  it('stops: the port no longer answers, the data stays', async () => {
    await s3.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const req = request(s3.endpoint, { method: 'GET' }, (res) => { res.resume(); resolve(false); });
      req.on('error', () => resolve(true));
      req.end();
    });
    assert.ok(refused, 'the server still answers after stop()');
    assert.ok(existsSync(path.join(s3.dir, 'data', BUCKET, 'models', 'big.bin')));
    await s3.stop(); // a second stop is harmless
  });
});

describe('createS3Client configuration', () => {
  it('against AWS: virtual-host style, the SDK default checksums, credentials from the default chain', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENVIRONMENT1';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-from-the-environment';
    const client = createS3Client({ region: 'eu-west-1' });
    try {
      assert.equal(await client.config.region(), 'eu-west-1');
      assert.equal(client.config.forcePathStyle, false);
      assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_SUPPORTED');
      const credentials = await client.config.credentials();
      assert.equal(credentials.accessKeyId, 'AKIDFROMENVIRONMENT1');
    } finally {
      client.destroy();
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('against an endpoint: path style and checksums only when required', async () => {
    const client = createS3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', accessKeyId: 'AK', secretAccessKey: 'SK' });
    try {
      assert.equal(client.config.forcePathStyle, true);
      assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
      assert.equal(await client.config.responseChecksumValidation(), 'WHEN_REQUIRED');
      assert.equal((await client.config.credentials()).accessKeyId, 'AK');
    } finally {
      client.destroy();
    }
  });

  it('refuses half a key pair', () => {
    assert.throws(() => createS3Client({ region: 'us-east-1', accessKeyId: 'AK' }), /both accessKeyId and secretAccessKey/);
  });
});
