/** The payload codec against the real local S3 server: threshold, idempotence, integrity, encryption. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type Payload, defaultPayloadConverter } from '@temporalio/common';
import {
  CLAIM_CHECK_ENCODING,
  ClaimCheckError,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  TrainyardPayloadCodec,
  encodingOf,
  payloadKeyOf,
  payloadToBytes,
  referenceOf,
} from '../../codec';
import { type TestS3, keysUnder, objectBytes, recordCommands, startTestS3 } from '../support/s3';

const BUCKET = 'codec-unit';
const THRESHOLD = 4096;

const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (p: Payload | undefined): unknown => defaultPayloadConverter.fromPayload(p ?? {});

/** A binary payload whose serialized size is exactly `size` bytes. */
function payloadOfSize(size: number): Payload {
  for (let n = size; n > 0; n--) {
    const payload = { metadata: { encoding: Buffer.from('binary/plain') }, data: randomBytes(n) };
    if (payloadToBytes(payload).length === size) return payload;
  }
  throw new Error(`no payload serializes to ${size} bytes`);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the promise to reject');
}

describe('payload codec', () => {
  let s3: TestS3;
  const key = payloadKeyOf(randomBytes(32));
  let plain: TrainyardPayloadCodec;
  let sealed: TrainyardPayloadCodec;

  before(async () => {
    s3 = await startTestS3();
    await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    plain = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET, prefix: 'plain' }, threshold: THRESHOLD });
    sealed = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET, prefix: 'sealed' }, threshold: THRESHOLD, key });
  });
  after(async () => {
    await s3?.stop();
  });

  it('keeps a payload of exactly the threshold in history and stores one a byte over', async () => {
    const at = payloadOfSize(THRESHOLD);
    const over = payloadOfSize(THRESHOLD + 1);
    const [keptPayload, storedRef] = await plain.encode([at, over]);
    assert.deepEqual(keptPayload, at, 'a payload at the threshold is passed through untouched');
    assert.equal(encodingOf(storedRef ?? {}), CLAIM_CHECK_ENCODING);
    const ref = referenceOf(storedRef ?? {});
    const sha256 = createHash('sha256').update(payloadToBytes(over)).digest('hex');
    assert.deepEqual(ref, { bucket: BUCKET, key: `plain/sha256/${sha256}`, size: THRESHOLD + 1, sha256 });
    assert.ok(payloadToBytes(storedRef ?? {}).length < 512, 'the reference is small');
    assert.deepEqual(await keysUnder(s3.client, BUCKET, 'plain/'), [`plain/sha256/${sha256}`]);
    const [back] = await plain.decode([storedRef ?? {}]);
    assert.ok(Buffer.from(back?.data ?? []).equals(Buffer.from(over.data ?? [])), 'the stored payload comes back byte for byte');
    assert.equal(encodingOf(back ?? {}), 'binary/plain');
  });

  it('stores a payload once, however often and by whichever codec it is encoded', async () => {
    const value = json({ rows: Array.from({ length: 2000 }, (_, i) => i) });
    const sent = recordCommands(s3.client);
    const [first] = await plain.encode([value]);
    const again = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET, prefix: 'plain' }, threshold: THRESHOLD });
    const [second, third] = await again.encode([value, value]);
    assert.deepEqual(referenceOf(second ?? {}), referenceOf(first ?? {}));
    assert.deepEqual(referenceOf(third ?? {}), referenceOf(first ?? {}));
    assert.equal(sent.filter((c) => c === 'PutObjectCommand').length, 1, `one upload, then only HeadObject: ${sent.join(', ')}`);
    assert.equal(sent.filter((c) => c === 'HeadObjectCommand').length, 3);
    const ref = referenceOf(first ?? {});
    assert.equal((await keysUnder(s3.client, BUCKET, 'plain/')).filter((k) => k === ref?.key).length, 1);
    assert.deepEqual(valueOf((await plain.decode([first ?? {}]))[0]), { rows: Array.from({ length: 2000 }, (_, i) => i) });
  });

  it('refuses a corrupted object with an error that names it', async () => {
    const [stored] = await plain.encode([json('c'.repeat(THRESHOLD * 2))]);
    const ref = referenceOf(stored ?? {});
    assert.ok(ref);
    const bytes = await objectBytes(s3.client, BUCKET, ref.key);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: ref.key, Body: bytes }));
    const err = await rejection(plain.decode([stored ?? {}]));
    assert.ok(err instanceof ClaimCheckError, String(err));
    assert.equal(err.reason, 'corrupted');
    assert.equal(err.key, ref.key);
    assert.match(err.message, new RegExp(`^payload s3://${BUCKET}/${ref.key}: the stored payload is corrupted: .*expected ${ref.size} bytes with sha256 ${ref.sha256}`));
  });

  it('says which object is missing when it was deleted', async () => {
    const [stored] = await plain.encode([json('m'.repeat(THRESHOLD * 2))]);
    const ref = referenceOf(stored ?? {});
    assert.ok(ref);
    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ref.key }));
    const err = await rejection(plain.decode([stored ?? {}]));
    assert.ok(err instanceof ClaimCheckError, String(err));
    assert.equal(err.reason, 'missing');
    assert.match(err.message, new RegExp(`s3://${BUCKET}/${ref.key}: the stored payload is missing`));
  });

  it('cannot fetch a reference without storage, and says what to configure', async () => {
    const [stored] = await plain.encode([json('n'.repeat(THRESHOLD * 2))]);
    const keyOnly = new TrainyardPayloadCodec({ key });
    const err = await rejection(keyOnly.decode([stored ?? {}]));
    assert.ok(err instanceof ClaimCheckError);
    assert.match(err.message, /no S3 access to fetch it with; set TRAINYARD_PAYLOAD_BUCKET/);
  });

  it('encrypts small payloads in place, with a fresh nonce each time', async () => {
    const secret = json({ token: 'inline-secret-5b1e' });
    const [a, b] = await sealed.encode([secret, secret]);
    assert.equal(encodingOf(a ?? {}), ENCRYPTED_ENCODING);
    assert.equal(Buffer.from(a?.metadata?.[KEY_ID_METADATA] ?? []).toString(), key.id);
    assert.ok(!Buffer.from(payloadToBytes(a ?? {})).includes('inline-secret-5b1e'), 'the plaintext shows through');
    assert.ok(!Buffer.from(a?.data ?? []).equals(Buffer.from(b?.data ?? [])), 'two encryptions of one value are alike');
    assert.deepEqual((await sealed.decode([a ?? {}, b ?? {}])).map(valueOf), [{ token: 'inline-secret-5b1e' }, { token: 'inline-secret-5b1e' }]);
  });

  it('stores large payloads as ciphertext, one object per value', async () => {
    const big = json({ token: 'stored-secret-91ac', pad: 'p'.repeat(THRESHOLD * 3) });
    const [a] = await sealed.encode([big]);
    const [b] = await sealed.encode([big]);
    const ref = referenceOf(a ?? {});
    assert.ok(ref);
    assert.deepEqual(referenceOf(b ?? {}), ref, 'the same value is the same object');
    const object = await objectBytes(s3.client, BUCKET, ref.key);
    assert.ok(!object.includes('stored-secret-91ac'), 'the object in S3 holds the plaintext');
    assert.ok(object.includes(ENCRYPTED_ENCODING), 'the object is an encrypted payload');
    assert.deepEqual(valueOf((await sealed.decode([a ?? {}]))[0]), { token: 'stored-secret-91ac', pad: 'p'.repeat(THRESHOLD * 3) });
  });

  it('refuses to decrypt without the key, with another key, or after tampering, and says why', async () => {
    const other = payloadKeyOf(randomBytes(32));
    const [small, large] = await sealed.encode([json('hush'), json('h'.repeat(THRESHOLD * 2))]);
    const wrongKey = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET }, key: other });
    for (const payload of [small, large]) {
      const err = await rejection(wrongKey.decode([payload ?? {}]));
      assert.ok(err instanceof PayloadDecryptionError, String(err));
      assert.equal(err.keyId, key.id);
      assert.match(err.message, new RegExp(`encrypted with key id ${key.id}, but TRAINYARD_PAYLOAD_KEY here is key id ${other.id}`));
    }
    const noKey = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET } });
    const missing = await rejection(noKey.decode([large ?? {}]));
    assert.match(missing.message, new RegExp(`payload is encrypted \\(key id ${key.id}\\) and this process has no key; set TRAINYARD_PAYLOAD_KEY`));
    const data = Buffer.from(small?.data ?? []);
    data.writeUInt8(data.readUInt8(20) ^ 0x01, 20);
    const tampered = await rejection(sealed.decode([{ ...small, data }]));
    assert.ok(tampered instanceof PayloadDecryptionError);
    assert.match(tampered.message, /failed authentication/);
  });

  it('encodes and decodes a 5 MB value (timings in the diagnostics)', async (t) => {
    const value = { blob: randomBytes(2.5 * 1024 * 1024).toString('hex') };
    for (const [name, codec] of [['claim check', plain], ['claim check + AES-256-GCM', sealed]] as const) {
      const payload = json(value);
      const started = process.hrtime.bigint();
      const [ref] = await codec.encode([payload]);
      const encoded = process.hrtime.bigint();
      const [back] = await codec.decode([ref ?? {}]);
      const decoded = process.hrtime.bigint();
      assert.equal((valueOf(back) as typeof value).blob, value.blob);
      const ms = (a: bigint, b: bigint): string => (Number(b - a) / 1e6).toFixed(1);
      t.diagnostic(
        `${name}: ${payloadToBytes(payload).length} bytes -> reference of ${payloadToBytes(ref ?? {}).length} bytes; ` +
          `encode ${ms(started, encoded)} ms, decode ${ms(encoded, decoded)} ms`,
      );
    }
  });
});
