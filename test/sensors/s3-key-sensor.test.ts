/** s3Key sensors on a real Temporal dev server and a real S3 server (versitygw). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type S3KeyMatches, pipeline } from '../../pipeline';
import { PIPELINE_RUN_WORKFLOW, type RunState, runStateQuery } from '../../contract';
import { pipeline as pokeResume } from '../fixtures/poke-sensor-pipeline';
import { type NodeProcess, exitCode, spawnNode } from '../support/process';
import { type TestS3, startTestS3 } from '../support/s3';
import { echo } from '../support/tasks';
import { type TestWorker, eventually, runToEnd, startDevServer, startRun, startWorker, states, step, tempStateDir } from '../support/temporal';
import { sensorHistory } from './history';

const BUCKET = 'sensor-data';
const DAY = '2026-03-01';
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

const reschedule = pipeline({ id: 's3_sensor_reschedule' }, (p) => {
  const data = p.s3KeySensor('wait_for_training_data', { bucket: BUCKET, key: 'daily/{{ ds }}/features.csv', pokeInterval: '1s', timeout: '2m' });
  p.task('use_data', echo, { found: data.output });
});

const poke = pipeline({ id: 's3_sensor_poke' }, (p) => {
  p.s3KeySensor('wait', { bucket: BUCKET, key: 'poke/{{ ds }}/a.csv', mode: 'poke', pokeInterval: '1s', timeout: '2m' });
});

const wildcard = pipeline({ id: 's3_sensor_wildcard' }, (p) => {
  p.s3KeySensor('wait', { bucket: BUCKET, key: 'batch/{{ ds_nodash }}/part-*.parquet', wildcard: true, minSize: 10, pokeInterval: '1s', timeout: '2m' });
});

const timeouts = pipeline({ id: 's3_sensor_timeouts', defaults: { retries: 2, retryDelay: '1s' } }, (p) => {
  p.s3KeySensor('hard', { bucket: BUCKET, key: 'never/{{ ds }}.csv', pokeInterval: '500ms', timeout: '2s' });
  const soft = p.s3KeySensor('soft', { bucket: BUCKET, key: 'never/{{ ds }}.csv', mode: 'poke', pokeInterval: '500ms', timeout: '2s', softFail: true });
  p.task('after_soft', echo, { x: 1 }, { after: [soft] });
});

async function sensorNote(handle: { query: (q: typeof runStateQuery) => Promise<RunState> }, id: string, pattern: RegExp): Promise<string> {
  return eventually(`sensor '${id}' to report ${pattern}`, async () => {
    const note = step(await handle.query(runStateQuery), id).note;
    return note !== undefined && pattern.test(note) ? note : undefined;
  }, 30_000);
}

describe('s3Key sensor', { timeout: 240_000 }, () => {
  let env: TestWorkflowEnvironment;
  let s3: TestS3;
  let worker: TestWorker;
  before(async () => {
    [env, s3] = await Promise.all([startDevServer(), startTestS3([BUCKET])]);
    worker = await startWorker(env, [reschedule, poke, wildcard, timeouts], { s3: s3.options });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    await s3?.stop();
  });

  it('reschedule mode: waits on durable timers with no activity open, and proceeds once the key lands', async () => {
    const handle = await startRun(env, worker, reschedule);
    const note = await sensorNote(handle, 'wait_for_training_data', /\(2 checks\); next check in/);
    assert.match(note, new RegExp(`no object at s3://${BUCKET}/daily/${DAY}/features.csv`));
    assert.equal(step(await handle.query(runStateQuery), 'use_data').state, 'queued');
    await s3.put(BUCKET, `daily/${DAY}/features.csv`, 'a,b\n1,2\n');
    const result = (await handle.result()) as RunState;
    assert.equal(result.status, 'success');
    const found = step(result, 'wait_for_training_data').output as unknown as S3KeyMatches;
    assert.equal(found.bucket, BUCKET);
    assert.equal(found.matches.length, 1);
    assert.deepEqual({ key: found.matches[0]?.key, size: found.matches[0]?.size, etag: found.matches[0]?.etag }, {
      key: `daily/${DAY}/features.csv`,
      size: 8,
      etag: md5('a,b\n1,2\n'),
    });
    assert.deepEqual((step(result, 'use_data').output as { found: unknown }).found, found);
    const history = await sensorHistory(handle);
    const checks = history.scheduled.filter((t) => t === 'checkSensor').length;
    assert.ok(checks >= 3, `expected at least 3 checks, saw ${checks}`);
    assert.ok(history.timers >= checks - 1, `a timer between checks: ${history.timers} timers for ${checks} checks`);
    assert.equal(history.timersWithOpenActivity, 0, 'no activity is open while the sensor waits on a timer');
  });

  it('poke mode: one heartbeating activity checks until the key lands', async () => {
    const handle = await startRun(env, worker, poke);
    await eventually('the poke activity to report two checks', async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.activityType?.name === 'pokeSensor' && a.heartbeatDetails) ? true : undefined;
    }, 30_000);
    await s3.put(BUCKET, `poke/${DAY}/a.csv`, 'x');
    const result = (await handle.result()) as RunState;
    assert.equal((step(result, 'wait').output as unknown as S3KeyMatches).matches[0]?.key, `poke/${DAY}/a.csv`);
    const history = await sensorHistory(handle);
    assert.deepEqual(history.scheduled, ['pokeSensor'], 'one activity for the whole wait');
  });

  it('wildcard keys match as globs, and objects under minSize do not count', async () => {
    await s3.put(BUCKET, 'batch/20260301/part-0.parquet', 'tiny');
    await s3.put(BUCKET, 'batch/20260301/other.parquet', 'x'.repeat(50));
    const handle = await startRun(env, worker, wildcard);
    const note = await sensorNote(handle, 'wait', /\(2 checks\)/);
    assert.match(note, /nothing matches s3:\/\/sensor-data\/batch\/20260301\/part-\*\.parquet with at least 10 bytes/);
    await s3.put(BUCKET, 'batch/20260301/part-1.parquet', 'y'.repeat(20));
    const result = (await handle.result()) as RunState;
    const found = step(result, 'wait').output as unknown as S3KeyMatches;
    assert.deepEqual(found.matches.map((m) => [m.key, m.size]), [['batch/20260301/part-1.parquet', 20]]);
  });

  it('a timeout fails the sensor without retries; with softFail it is skipped and so are its followers', async () => {
    const { state, error } = await runToEnd(env, worker, timeouts);
    assert.deepEqual(states(state), { hard: 'failed', soft: 'skipped', after_soft: 'skipped' });
    assert.match(step(state, 'hard').error ?? '', /^sensor timed out after 2\.0s: no object at s3:\/\/sensor-data\/never\/2026-03-01\.csv \(\d+ checks\)$/);
    assert.equal(step(state, 'hard').attempt, 1, 'a sensor timeout is not retried');
    assert.match(step(state, 'soft').error ?? '', /softFail/);
    assert.match(error ?? '', /hard/);
  });

  it('a worker without S3 access fails the sensor clearly, naming the settings', async () => {
    const bare = await startWorker(env, [reschedule]);
    try {
      const { state } = await runToEnd(env, bare, reschedule);
      assert.equal(step(state, 'wait_for_training_data').state, 'failed');
      assert.match(step(state, 'wait_for_training_data').error ?? '', /no S3 access; set TRAINYARD_S3_ENDPOINT .* or TRAINYARD_S3_REGION/);
    } finally {
      await bare.stop();
    }
  });

  it('poke mode: a killed worker is replaced and the same sensor try resumes and matches', async () => {
    const main = path.resolve(__dirname, '../../worker/main.js');
    const queue = `poke-resume-${Date.now()}`;
    const start = (): NodeProcess =>
      spawnNode(main, {
        TEMPORAL_ADDRESS: env.address,
        TRAINYARD_TASK_QUEUE: queue,
        TRAINYARD_PIPELINES: 'test/fixtures/poke-sensor-pipeline.js',
        TRAINYARD_STATE_DIR: tempStateDir(),
        ...s3.env,
      });
    const first = start();
    const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: queue,
      workflowId: queue,
      args: [{ spec: pokeResume.spec, params: { bucket: BUCKET }, logicalDate: DAY }],
    });
    await eventually('the first worker to be poking', async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.heartbeatDetails) ? true : undefined;
    }, 60_000);
    first.child.kill('SIGKILL');
    await exitCode(first.child);
    const second = start();
    try {
      await eventually('the try to resume on the second worker', async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.some((a) => (a.attempt ?? 0) >= 2 && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) ? true : undefined;
      }, 60_000);
      await s3.put(BUCKET, `resume/${DAY}/ready.csv`, 'ok');
      const result = (await handle.result()) as RunState;
      assert.equal(step(result, 'wait_for_file').state, 'success');
      assert.equal(step(result, 'wait_for_file').attempt, 1, 'a lost worker does not cost the step a try');
      const history = await sensorHistory(handle);
      assert.deepEqual(history.scheduled, ['pokeSensor']);
      assert.ok(history.startedAttempts.some((a) => a >= 2), `the activity was resumed: attempts ${history.startedAttempts.join(', ')}`);
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
    }
  });
});
