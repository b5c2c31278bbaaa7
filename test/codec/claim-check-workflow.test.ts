/**
 * The payload codec on a real Temporal server and a real S3 server: a 5 MB
 * XCom passes between steps while history holds only references; with a key,
 * history and the bucket hold only ciphertext; signals, child inputs and
 * activity results all go through the codec.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { type Payload, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  CLAIM_CHECK_ENCODING,
  DEFAULT_PAYLOAD_THRESHOLD,
  ENCRYPTED_ENCODING,
  PayloadDecryptionError,
  TrainyardPayloadCodec,
  encodingOf,
  payloadKeyOf,
  payloadToBytes,
  referenceOf,
} from '../../codec';
import { defineTask, mapValue, pipeline } from '../../pipeline';
import type { RunState } from '../../contract';
import { type TestS3, keysUnder, objectBytes, startTestS3 } from '../support/s3';
import { echo, train } from '../support/tasks';
import { type TestWorker, codecClient, runToEnd, startDevServer, startWorker, step } from '../support/temporal';

const BUCKET = 'codec-runs';
const FIVE_MB = 5 * 1024 * 1024;
const MARKER = 'tok-codec-3f9a-do-not-leak';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A big XCom: `bytes` characters of random hex, with its hash. */
const bigXCom = defineTask('codec.big_xcom', (args: { bytes: number }) => {
  const blob = randomBytes(args.bytes / 2).toString('hex');
  return { blob, sha256: sha256(blob), length: blob.length };
});
/** Checks an XCom it received against the hash its producer computed. */
const checkXCom = defineTask('codec.check_xcom', (args: { blob: string; sha256: string; n?: number }) => ({
  length: args.blob.length,
  intact: sha256(args.blob) === args.sha256,
  n: args.n ?? null,
}));

const bigPipeline = pipeline({ id: 'codec_big_xcom' }, (p) => {
  const produce = p.task('produce', bigXCom, { bytes: FIVE_MB });
  p.task('consume', checkXCom, { blob: produce.get('blob'), sha256: produce.get('sha256') });
  p.task('fan', checkXCom, { blob: produce.get('blob'), sha256: produce.get('sha256'), n: mapValue<number>('n') }, { map: { expand: { n: [1, 2] } } });
});

const secretPipeline = pipeline({ id: 'codec_secret', params: { token: 'none' } }, (p) => {
  const made = p.task('make', bigXCom, { bytes: 300 * 1024 });
  p.task('show', echo, { token: '{{ params.token }}', length: made.get('length'), head: made.get('sha256') });
});

const signalled = pipeline({ id: 'codec_signals' }, (p) => {
  // Long enough (3 s) that the weak trial is judged while it still runs.
  p.task('trial', train, { quality: mapValue<number>('q'), steps: 30, everyMs: 100 }, {
    map: { expand: { q: [0.9, 0.92, 0.91, 0.1] }, maxActive: 4, earlyStopping: { metric: 'score', mode: 'max', minSteps: 3, minTrials: 3 } },
  });
});


type History = temporal.api.history.v1.IHistory;

/** Every payload in a history except search attributes (which Temporal indexes, so no codec touches them). */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const maybe = value as Payload;
  if (maybe.metadata && typeof maybe.metadata === 'object' && maybe.metadata.encoding instanceof Uint8Array) {
    found.push(maybe);
    return found;
  }
  for (const [key, child] of Object.entries(value)) if (key !== 'searchAttributes') payloadsIn(child, found);
  return found;
}

const historyBytes = (history: History): Buffer => Buffer.from(temporal.api.history.v1.History.encode(history).finish());

/** The one payload of the first event with these attributes. */
function firstPayload(history: History, pick: (e: temporal.api.history.v1.IHistoryEvent) => temporal.api.common.v1.IPayloads | null | undefined): Payload {
  for (const event of history.events ?? []) {
    const payload = pick(event)?.payloads?.[0];
    if (payload) return payload;
  }
  assert.fail('no such event in history');
}

describe('payload codec in workflows', () => {
  let env: TestWorkflowEnvironment;
  let s3: TestS3;
  let claimCheck: TestWorker;
  let encrypted: TestWorker;
  const key = payloadKeyOf(randomBytes(32));

  before(async () => {
    [env, s3] = await Promise.all([startDevServer(), startTestS3()]);
    await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const storage = { s3: s3.client, bucket: BUCKET };
    claimCheck = await startWorker(env, [bigPipeline], { payloadCodec: new TrainyardPayloadCodec({ storage: { ...storage, prefix: 'plain' } }) });
    encrypted = await startWorker(env, [secretPipeline, signalled], { payloadCodec: new TrainyardPayloadCodec({ storage: { ...storage, prefix: 'sealed' }, key }) });
  });
  after(async () => {
    await claimCheck?.stop();
    await encrypted?.stop();
    await env?.teardown();
    await s3?.stop();
  });

  it('passes a 5 MB XCom between steps and into child workflows while history keeps only references', async (t) => {
    const { state, error } = await runToEnd(env, claimCheck, bigPipeline);
    assert.equal(error, undefined);
    assert.deepEqual(step(state, 'consume').output, { length: FIVE_MB, intact: true, n: null });
    assert.deepEqual(step(state, 'fan').output, [{ length: FIVE_MB, intact: true, n: 1 }, { length: FIVE_MB, intact: true, n: 2 }]);

    const run = claimCheck.client.workflow.getHandle(state.run.runId);
    const history = await run.fetchHistory();
    const payloads = payloadsIn(history);
    const largest = Math.max(...payloads.map((p) => payloadToBytes(p).length));
    assert.ok(largest <= DEFAULT_PAYLOAD_THRESHOLD, `a payload of ${largest} bytes is in history`);
    const produced = firstPayload(history, (e) => e.activityTaskCompletedEventAttributes?.result);
    assert.equal(encodingOf(produced), CLAIM_CHECK_ENCODING, 'the 5 MB activity result is a reference');
    const ref = referenceOf(produced);
    assert.ok(ref && ref.size > FIVE_MB, JSON.stringify(ref));
    assert.equal(ref.bucket, BUCKET);
    assert.equal(ref.key, `plain/sha256/${ref.sha256}`);
    const childInput = firstPayload(history, (e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.input);
    assert.equal(encodingOf(childInput), CLAIM_CHECK_ENCODING, 'the coordinator child input (with the 5 MB XCom) is a reference');
    const consumeInput = payloadsIn(history.events?.filter((e) => e.activityTaskScheduledEventAttributes));
    assert.ok(consumeInput.some((p) => encodingOf(p) === CLAIM_CHECK_ENCODING), 'the 5 MB activity input is a reference');
    assert.equal(encodingOf(firstPayload(history, (e) => e.workflowExecutionCompletedEventAttributes?.result)), CLAIM_CHECK_ENCODING);

    const coordinatorId = step(state, 'fan').map?.coordinatorId ?? '';
    const coordinator = await claimCheck.client.workflow.getHandle(coordinatorId).fetchHistory();
    assert.equal(encodingOf(firstPayload(coordinator, (e) => e.workflowExecutionStartedEventAttributes?.input)), CLAIM_CHECK_ENCODING);
    assert.ok(payloadsIn(coordinator).every((p) => payloadToBytes(p).length <= DEFAULT_PAYLOAD_THRESHOLD));

    const stored = await keysUnder(s3.client, BUCKET, 'plain/');
    assert.ok(stored.includes(ref.key));
    assert.ok(stored.every((k) => /^plain\/sha256\/[0-9a-f]{64}$/.test(k)));
    const result = (await run.result()) as RunState;
    assert.equal((step(result, 'produce').output as { length: number }).length, FIVE_MB, 'the client decodes the result through the codec');
    t.diagnostic(
      `5 MB activity result -> reference of ${payloadToBytes(produced).length} bytes; run history ${historyBytes(history).length} bytes ` +
        `in ${history.events?.length} events, largest payload ${largest} bytes; ${stored.length} objects in the bucket`,
    );
  });

  it('with a key, keeps the values in history and in the bucket unreadable without it', async () => {
    const { state, error } = await runToEnd(env, encrypted, secretPipeline, { params: { token: MARKER } });
    assert.equal(error, undefined);
    const shown = step(state, 'show').output as { token: string; head: string };
    assert.equal(shown.token, MARKER);
    const history = await encrypted.client.workflow.getHandle(state.run.runId).fetchHistory();
    assert.ok(!historyBytes(history).includes(MARKER), 'the token is in history as plaintext');
    assert.ok(!historyBytes(history).includes(shown.head), 'an XCom is in history as plaintext');
    const payloads = payloadsIn(history);
    assert.ok(payloads.length > 5);
    for (const p of payloads) assert.ok([ENCRYPTED_ENCODING, CLAIM_CHECK_ENCODING].includes(encodingOf(p)), `a ${encodingOf(p)} payload is in history`);
    const ref = referenceOf(firstPayload(history, (e) => e.activityTaskCompletedEventAttributes?.result));
    assert.ok(ref, 'the 300 KB XCom was stored');
    const object = await objectBytes(s3.client, BUCKET, ref.key);
    assert.ok(object.includes(ENCRYPTED_ENCODING) && !object.includes(shown.head), 'the object in S3 is not ciphertext');

    // Without the codec: the result is a reference, and an inline value is ciphertext.
    await assert.rejects(env.client.workflow.getHandle(state.run.runId).result(), /Unknown encoding: binary\/trainyard-claim-check/);
    const input = firstPayload(history, (e) => e.workflowExecutionStartedEventAttributes?.input);
    assert.throws(() => defaultPayloadConverter.fromPayload(input), /Unknown encoding: binary\/trainyard-encrypted/);
    const otherKey = new TrainyardPayloadCodec({ storage: { s3: s3.client, bucket: BUCKET }, key: payloadKeyOf(randomBytes(32)) });
    await assert.rejects(codecClient(env, otherKey).workflow.getHandle(state.run.runId).result(), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError, String(err));
      assert.match(err.message, new RegExp(`payload was encrypted with key id ${key.id}, but TRAINYARD_PAYLOAD_KEY here is key id`));
      return true;
    });
  });

  it('sends signals through the codec: trials report metrics, the coordinator reads them and prunes', async () => {
    const { state, error } = await runToEnd(env, encrypted, signalled);
    assert.equal(error, undefined);
    const trial = step(state, 'trial');
    assert.deepEqual((trial.map?.prunedIndices ?? []).map((p) => p.index), [3], JSON.stringify(trial.map));
    const coordinator = await encrypted.client.workflow.getHandle(trial.map?.coordinatorId ?? '').fetchHistory();
    const signals = (coordinator.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
    assert.ok(signals.length >= 3, `only ${signals.length} signals`);
    for (const p of payloadsIn(signals)) assert.equal(encodingOf(p), ENCRYPTED_ENCODING);
    assert.equal(coordinator.events?.filter((e) => e.workflowTaskFailedEventAttributes).length, 0, 'the coordinator failed to decode something');
  });
});
