/**
 * The codec endpoints over HTTP: what a worker wrote to history decodes to its
 * value, encode and decode round-trip, CORS for the Web UI, clear 400s; and
 * api/main wiring the codec from the environment.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { type Payload, defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CLAIM_CHECK_ENCODING, ENCRYPTED_ENCODING, TrainyardPayloadCodec, payloadKeyOf, referenceOf } from '../../codec';
import { defineTask, pipeline } from '../../pipeline';
import { createRegistry } from '../../worker';
import { exitCode, spawnNode } from '../support/process';
import { type TestS3, keysUnder, startTestS3 } from '../support/s3';
import { startApi } from '../support/api';
import { type TestWorker, eventually, runToEnd, startDevServer, startWorker, step } from '../support/temporal';

const BUCKET = 'codec-api';
const execFileAsync = promisify(execFile);
const UI = 'http://127.0.0.1:8233';

const report = defineTask('codec.report', (args: { rows: number }) => ({ rows: args.rows, table: 'r'.repeat(args.rows * 100) }));
const reporting = pipeline({ id: 'codec_api_report' }, (p) => {
  p.task('report', report, { rows: 2000 });
});

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});
const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});
const encodingOf = (p: JsonPayload | undefined): string => Buffer.from(p?.metadata.encoding ?? '', 'base64').toString();

interface Reply {
  status: number;
  headers: Headers;
  body: { payloads?: JsonPayload[]; message?: string | string[] };
}

async function post(base: string, route: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Reply['body'] };
}

describe('codec endpoints', () => {
  let env: TestWorkflowEnvironment;
  let s3: TestS3;
  let worker: TestWorker;
  let app: INestApplication;
  let base: string;
  let codec: TrainyardPayloadCodec;

  before(async () => {
    [env, s3] = await Promise.all([startDevServer(), startTestS3()]);
    await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    codec = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET }, key: payloadKeyOf(randomBytes(32)) });
    worker = await startWorker(env, [reporting], { payloadCodec: codec });
    ({ app, base } = await startApi({ client: worker.client, registry: createRegistry([{ pipeline: reporting }]), taskQueue: worker.taskQueue, payloadCodec: codec }));
  });
  after(async () => {
    await app?.close();
    await worker?.stop();
    await env?.teardown();
    await s3?.stop();
  });

  it('decodes what the worker wrote to history: a stored, encrypted activity result', async () => {
    const { state, error } = await runToEnd(env, worker, reporting);
    assert.equal(error, undefined);
    const history = await worker.client.workflow.getHandle(state.run.runId).fetchHistory();
    const completed = history.events?.find((e) => e.activityTaskCompletedEventAttributes)?.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    assert.ok(completed);
    const encoded = toJson(completed);
    assert.equal(encodingOf(encoded), CLAIM_CHECK_ENCODING);
    const reply = await post(base, '/codec/decode', { payloads: [encoded] });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.payloads?.length, 1);
    const decoded = reply.body.payloads?.[0];
    assert.equal(encodingOf(decoded), 'json/plain');
    const { xcom } = defaultPayloadConverter.fromPayload<{ xcom: { rows: number; table: string } }>(fromJson(decoded as JsonPayload));
    assert.equal(xcom.table.length, 200_000);
    assert.ok(isDeepStrictEqual(xcom, step(state, 'report').output), 'the decoded activity result is not the step output');
  });

  it('serves the Temporal CLI as its --codec-endpoint: `temporal workflow show` gets decoded payloads', async () => {
    const { state } = await runToEnd(env, worker, reporting);
    const cli = process.env.TRAINYARD_TEMPORAL_BIN;
    assert.ok(cli, 'TRAINYARD_TEMPORAL_BIN is not set; run the tests with npm test');
    /** The activity result as `temporal workflow show --output json` prints it (proto JSON). */
    const shown = async (...extra: string[]): Promise<JsonPayload> => {
      const args = ['workflow', 'show', '--workflow-id', state.run.runId, '--address', env.address, '--output', 'json', ...extra];
      const { stdout } = await execFileAsync(cli, args, { maxBuffer: 64 * 1024 * 1024 });
      const { events } = JSON.parse(stdout) as { events: { activityTaskCompletedEventAttributes?: { result: { payloads: JsonPayload[] } } }[] };
      const result = events.find((e) => e.activityTaskCompletedEventAttributes)?.activityTaskCompletedEventAttributes?.result.payloads[0];
      assert.ok(result, 'no activity result in the CLI output');
      return result;
    };
    assert.equal(encodingOf(await shown()), CLAIM_CHECK_ENCODING);
    const decoded = await shown('--codec-endpoint', `${base}/codec`);
    assert.equal(encodingOf(decoded), 'json/plain');
    const { xcom } = defaultPayloadConverter.fromPayload<{ xcom: { rows: number; table: string } }>(fromJson(decoded));
    assert.equal(xcom.table, 'r'.repeat(200_000));
  });

  it('encodes and decodes over HTTP: a large payload comes back a reference, then itself', async () => {
    const big = toJson(defaultPayloadConverter.toPayload({ pad: 'x'.repeat(1024 * 1024) }));
    const small = toJson(defaultPayloadConverter.toPayload('hello'));
    const encoded = await post(base, '/codec/encode', { payloads: [big, small] });
    assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
    const [ref, sealed] = encoded.body.payloads ?? [];
    assert.equal(encodingOf(ref), CLAIM_CHECK_ENCODING);
    assert.equal(encodingOf(sealed), ENCRYPTED_ENCODING);
    assert.ok((await keysUnder(s3.client, BUCKET, '')).includes(referenceOf(fromJson(ref as JsonPayload))?.key ?? '?'));
    const decoded = await post(base, '/codec/decode', { payloads: [ref, sealed] });
    assert.equal(decoded.status, 200);
    assert.deepEqual(decoded.body.payloads, [big, small]);
    const empty = await post(base, '/codec/decode', { payloads: [] });
    assert.deepEqual([empty.status, empty.body], [200, { payloads: [] }]);
  });

  it('answers the Web UI: preflight and POST carry CORS for allowed origins only', async () => {
    const preflight = await fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.deepEqual((preflight.headers.get('access-control-allow-headers') ?? '').split(/,\s*/).sort(), ['authorization', 'content-type', 'x-namespace']);
    const localhost = await post(base, '/codec/decode', { payloads: [] }, { origin: 'http://localhost:8233' });
    assert.equal(localhost.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const stranger = await fetch(`${base}/codec/encode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(stranger.status, 403);
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
    const strangerPost = await post(base, '/codec/decode', { payloads: [] }, { origin: 'http://evil.example' });
    assert.equal(strangerPost.headers.get('access-control-allow-origin'), null, 'a browser would let another site read the answer');
    const runs = await fetch(`${base}/pipelines`, { headers: { origin: UI } });
    assert.equal(runs.headers.get('access-control-allow-origin'), null, 'CORS reaches beyond the codec endpoints');
  });

  it('answers 400 with what is wrong: bad JSON shapes, a missing object, a payload it cannot decrypt', async () => {
    const noArray = await post(base, '/codec/decode', { payloads: 'nope' });
    assert.equal(noArray.status, 400);
    assert.match(JSON.stringify(noArray.body.message), /payloads must be an array/);
    const badData = await post(base, '/codec/decode', { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'not base64!' }] });
    assert.equal(badData.status, 400);
    assert.match(JSON.stringify(badData.body.message), /data must be base64/);
    const badMeta = await post(base, '/codec/decode', { payloads: [{ metadata: { encoding: 7 } }] });
    assert.match(JSON.stringify(badMeta.body.message), /metadata must be an object of key to base64 text/);
    const notJson = await post(base, '/codec/decode', '{"payloads": [');
    assert.equal(notJson.status, 400);

    const sha = 'ab'.repeat(32);
    const dangling = toJson({
      metadata: { encoding: Buffer.from(CLAIM_CHECK_ENCODING) },
      data: Buffer.from(JSON.stringify({ bucket: BUCKET, key: `trainyard/payloads/sha256/${sha}`, size: 10, sha256: sha })),
    });
    const missing = await post(base, '/codec/decode', { payloads: [dangling] });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.message, `payload s3://${BUCKET}/trainyard/payloads/sha256/${sha}: the stored payload is missing (deleted, expired by a lifecycle rule, or another bucket?)`);
    const [foreign] = await new TrainyardPayloadCodec({ key: payloadKeyOf(randomBytes(32)) }).encode([defaultPayloadConverter.toPayload('x')]);
    const wrongKey = await post(base, '/codec/decode', { payloads: [toJson(foreign ?? {})] });
    assert.equal(wrongKey.status, 400);
    assert.match(String(wrongKey.body.message), /payload was encrypted with key id [0-9a-f]{16}, but TRAINYARD_PAYLOAD_KEY here is key id/);
  });

  it('api/main builds the codec from TRAINYARD_PAYLOAD_*, creating the bucket, and serves it', async () => {
    const key = randomBytes(32).toString('base64');
    const { child, output } = spawnNode(path.resolve(__dirname, '..', '..', 'api', 'main.js'), {
      TEMPORAL_ADDRESS: env.address,
      TRAINYARD_API_PORT: '0',
      TRAINYARD_PIPELINES: 'test/fixtures/echo-pipeline.js',
      TRAINYARD_S3_ENDPOINT: s3.options.endpoint ?? '',
      AWS_ACCESS_KEY_ID: s3.options.accessKeyId ?? '',
      AWS_SECRET_ACCESS_KEY: s3.options.secretAccessKey ?? '',
      TRAINYARD_PAYLOAD_BUCKET: 'api-main-payloads',
      TRAINYARD_PAYLOAD_THRESHOLD: '1024',
      TRAINYARD_PAYLOAD_KEY: key,
      // The AWS SDK warns about Node 20 on stderr; the check below is for Trainyard's own output.
      NODE_NO_WARNINGS: '1',
    });
    try {
      const url = await eventually('the startup line', () => /^trainyard api on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(output().stdout)?.[1], 30_000);
      const value = toJson(defaultPayloadConverter.toPayload('y'.repeat(2048)));
      const encoded = await post(url, '/codec/encode', { payloads: [value] }, { origin: UI });
      assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
      assert.equal(encoded.headers.get('access-control-allow-origin'), UI);
      const ref = referenceOf(fromJson(encoded.body.payloads?.[0] as JsonPayload));
      assert.equal(ref?.bucket, 'api-main-payloads');
      assert.deepEqual(await keysUnder(s3.client, 'api-main-payloads', ''), [ref?.key]);
      const decoded = await post(url, '/codec/decode', { payloads: encoded.body.payloads });
      assert.deepEqual(decoded.body.payloads, [value]);
      child.kill('SIGTERM');
      assert.equal(await exitCode(child), 0);
      assert.equal(output().stderr, '');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
