/** POST /events/s3 over HTTP, against a real Temporal dev server, S3 server and worker. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type S3KeyMatches, pipeline } from '../../pipeline';
import { createRegistry } from '../../worker';
import { type RunState, runStateQuery } from '../../contract';
import { type TestS3, startTestS3 } from '../support/s3';
import { startApi } from '../support/api';
import { type TestWorker, eventually, startDevServer, startRun, startWorker, step } from '../support/temporal';

const BUCKET = 'landing-zone';
const TOKEN = 'events-token-0d1e2f';

// Only an event can end this wait quickly: the sensor looks once an hour.
const waiting = pipeline({ id: 'event_waits' }, (p) => {
  p.s3KeySensor('wait_for_drop', { bucket: BUCKET, key: 'drops/{{ ds }}/data.csv', pokeInterval: '1h', timeout: '2h' });
});

const waitingPoke = pipeline({ id: 'event_waits_poke' }, (p) => {
  p.s3KeySensor('wait_for_drop', { bucket: BUCKET, key: 'drops/{{ ds }}/data.csv', mode: 'poke', pokeInterval: '1h', timeout: '2h' });
});

const triggered = pipeline({ id: 'event_starts', params: { bucket: BUCKET } }, (p) => {
  p.s3KeySensor('wait_for_batch', { bucket: '{{ params.bucket }}', key: 'incoming/{{ ds_nodash }}/batch-*.csv', wildcard: true, pokeInterval: '1h', timeout: '2h', startRunOnEvent: true });
});

function record(key: string, eventName = 'ObjectCreated:Put', bucket = BUCKET): unknown {
  return { eventVersion: '2.1', eventSource: 'aws:s3', eventName, s3: { bucket: { name: bucket }, object: { key, size: 3, eTag: 'abc' } } };
}

describe('S3 event endpoint', { timeout: 120_000 }, () => {
  let env: TestWorkflowEnvironment;
  let s3: TestS3;
  let worker: TestWorker;
  let app: INestApplication;
  let base: string;

  before(async () => {
    [env, s3] = await Promise.all([startDevServer(), startTestS3([BUCKET])]);
    worker = await startWorker(env, [waiting, waitingPoke, triggered], { s3: s3.options });
    ({ app, base } = await startApi({
      client: env.client,
      registry: createRegistry([{ pipeline: waiting }, { pipeline: waitingPoke }, { pipeline: triggered }]),
      taskQueue: worker.taskQueue,
      eventsToken: TOKEN,
    }));
  });
  after(async () => {
    await app?.close();
    await worker?.stop();
    await env?.teardown();
    await s3?.stop();
  });

  async function post(body: unknown, token: string | null = TOKEN, url = base): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${url}/events/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('refuses a missing or wrong token, and is off without one configured', async () => {
    assert.equal((await post({ Records: [] }, null)).status, 401);
    const wrong = await post({ Records: [] }, 'nope');
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.body.message), /Authorization: Bearer <TRAINYARD_EVENTS_TOKEN>/);
    const off = await startApi({ client: env.client, registry: createRegistry([{ pipeline: waiting }]), taskQueue: worker.taskQueue });
    try {
      const reply = await post({ Records: [] }, TOKEN, off.base);
      assert.equal(reply.status, 503);
      assert.match(String(reply.body.message), /set TRAINYARD_EVENTS_TOKEN/);
    } finally {
      await off.app.close();
    }
  });

  it('names the field of a malformed notification', async () => {
    const reply = await post({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: {}, object: { key: 'x' } } }] });
    assert.equal(reply.status, 400);
    assert.deepEqual(reply.body.message, ['Records[0].s3.bucket.name must be the bucket\'s name']);
    const notList = await post({ records: [] });
    assert.equal(notList.status, 400);
    assert.match(JSON.stringify(notList.body.message), /Records is missing or not a list/);
  });

  it('wakes waiting sensors at once, in both modes, instead of at their next check', async () => {
    const handle = await startRun(env, worker, waiting, { logicalDate: '2026-06-01T00:00:00Z' });
    const poking = await startRun(env, worker, waitingPoke, { logicalDate: '2026-06-01T00:00:00Z' });
    await eventually('the sensor to wait for its next check', async () => {
      const note = step(await handle.query(runStateQuery), 'wait_for_drop').note ?? '';
      return note.includes('next check in 1h') ? note : undefined;
    }, 30_000);
    await eventually('the poke-mode sensor to have looked once', async () => {
      const pending = (await poking.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.heartbeatDetails) ? true : undefined;
    }, 30_000);
    await s3.put(BUCKET, 'drops/2026-06-01/data.csv', 'a,b');
    const began = Date.now();
    const reply = await post({ Records: [record('drops/2026-06-01/data.csv'), record('drops/2026-06-01/data.csv', 'ObjectRemoved:Delete'), record('elsewhere/x.csv')] });
    assert.equal(reply.status, 202);
    const outcome = (pipelineId: string, runId: string) => ({
      bucket: BUCKET, key: 'drops/2026-06-01/data.csv', pipelineId, stepId: 'wait_for_drop', date: '2026-06-01', action: 'signalled', runIds: [runId],
    });
    assert.deepEqual(reply.body.outcomes, [outcome('event_waits', handle.workflowId), outcome('event_waits_poke', poking.workflowId)]);
    assert.equal(reply.body.ignored, 2);
    for (const run of [handle, poking]) assert.equal(((await run.result()) as RunState).status, 'success');
    assert.ok(Date.now() - began < 30_000, 'the runs ended soon after the event, not at the hourly check');
  });

  it('starts a run for the date in the key, once, however often the event repeats', async () => {
    const key = 'incoming/20260602/batch-001.csv';
    await s3.put(BUCKET, key, 'x,y');
    const reply = await post({ Records: [record(encodeURIComponent(key).replace(/%2F/g, '/'))] });
    assert.equal(reply.status, 202);
    const runId = 'event_starts-s3-2026-06-02';
    assert.deepEqual((reply.body.outcomes as { action: string; runIds: string[] }[]).map((o) => [o.action, o.runIds]), [['started', [runId]]]);
    const handle = env.client.workflow.getHandle(runId);
    const result = (await handle.result()) as RunState;
    assert.equal(result.run.logicalDate, '2026-06-02T00:00:00.000Z');
    assert.deepEqual((step(result, 'wait_for_batch').output as unknown as S3KeyMatches).matches.map((m) => m.key), [key]);
    const again = await post({ Records: [record(key)] });
    assert.deepEqual((again.body.outcomes as { action: string }[]).map((o) => o.action), ['already-ran']);
  });
});
