/** TRAINYARD_PAYLOAD_* from the environment: defaults, bad values named, and the worker refusing to start on them. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PayloadKeyError, payloadKeyFromBase64 } from '../../codec';
import { loadConfig } from '../../worker';
import { exitCode, spawnNode } from '../support/process';
import { tempStateDir } from '../support/temporal';

const S3 = { TRAINYARD_S3_ENDPOINT: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' };
const KEY = randomBytes(32).toString('base64');

describe('payload codec configuration', () => {
  it('asks for no codec unless a bucket or a key is set', () => {
    assert.equal(loadConfig({ ...S3 }).payloads, undefined);
    assert.equal(loadConfig({ ...S3, TRAINYARD_PAYLOAD_THRESHOLD: '1000' }).payloads, undefined);
  });

  it('reads the bucket with the default threshold, and a key', () => {
    const config = loadConfig({ ...S3, TRAINYARD_PAYLOAD_BUCKET: 'trainyard-payloads', TRAINYARD_PAYLOAD_KEY: `${KEY}\n` });
    assert.equal(config.payloads?.bucket, 'trainyard-payloads');
    assert.equal(config.payloads?.threshold, 131072);
    assert.ok(config.payloads?.key?.bytes.equals(Buffer.from(KEY, 'base64')));
    assert.match(config.payloads?.key?.id ?? '', /^[0-9a-f]{16}$/);
    const keyOnly = loadConfig({ TRAINYARD_PAYLOAD_KEY: KEY, TRAINYARD_PAYLOAD_THRESHOLD: '0' }).payloads;
    assert.deepEqual({ bucket: keyOnly?.bucket, threshold: keyOnly?.threshold }, { bucket: undefined, threshold: 0 });
  });

  it('names the variable and the fix for each bad value, never echoing a key', () => {
    const withBucket = { ...S3, TRAINYARD_PAYLOAD_BUCKET: 'payloads' };
    for (const bad of ['12kb', '-1', '1.5', '3000000']) {
      assert.throws(
        () => loadConfig({ ...withBucket, TRAINYARD_PAYLOAD_THRESHOLD: bad }),
        new RegExp(`^Error: TRAINYARD_PAYLOAD_THRESHOLD '${bad.replace('.', '\\.')}' is not a byte count from 0 to 2097152 .*like 131072$`),
      );
    }
    assert.throws(() => loadConfig({ ...S3, TRAINYARD_PAYLOAD_BUCKET: 'Not_A_Bucket' }), /TRAINYARD_PAYLOAD_BUCKET 'Not_A_Bucket' is not an S3 bucket name/);
    assert.throws(() => loadConfig({ TRAINYARD_PAYLOAD_BUCKET: 'payloads' }), /TRAINYARD_PAYLOAD_BUCKET needs S3 access: set TRAINYARD_S3_ENDPOINT/);
    const short = randomBytes(16).toString('base64');
    const cases: [string, string][] = [[short, 'decodes to 16 bytes, not 32'], ['not base64!', 'is not base64'], [KEY.slice(1), 'is not base64']];
    for (const [value, problem] of cases) {
      const err = (() => {
        try {
          loadConfig({ TRAINYARD_PAYLOAD_KEY: value });
        } catch (e) {
          return e as Error;
        }
        assert.fail(`key '${value}' was accepted`);
      })();
      assert.ok(err instanceof PayloadKeyError);
      assert.equal(err.message, `TRAINYARD_PAYLOAD_KEY ${problem}; it must be base64 of 32 random bytes (AES-256), e.g. the output of: openssl rand -base64 32`);
      assert.ok(!err.message.includes(value), 'the message shows the key');
    }
  });

  it('derives one id per key', () => {
    const other = randomBytes(32).toString('base64');
    assert.equal(payloadKeyFromBase64(KEY).id, payloadKeyFromBase64(` ${KEY} `).id);
    assert.notEqual(payloadKeyFromBase64(KEY).id, payloadKeyFromBase64(other).id);
  });

  it('stops the worker and the API at start, in one line, on a malformed key', async () => {
    for (const [name, main] of [['worker', 'worker/main.js'], ['api', 'api/main.js']] as const) {
      const { child, output } = spawnNode(path.resolve(__dirname, '..', '..', main), {
        TRAINYARD_PIPELINES: 'test/fixtures/echo-pipeline.js',
        TRAINYARD_STATE_DIR: tempStateDir(),
        TEMPORAL_ADDRESS: '127.0.0.1:9',
        TRAINYARD_PAYLOAD_KEY: 'short',
      });
      assert.equal(await exitCode(child), 1);
      assert.equal(
        output().stderr,
        `trainyard ${name}: TRAINYARD_PAYLOAD_KEY is not base64; it must be base64 of 32 random bytes (AES-256), e.g. the output of: openssl rand -base64 32\n`,
      );
    }
  });
});
