import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defineTask, pipeline } from '../../pipeline';
import { runStateQuery } from '../../contract';
import { fail, flaky } from '../support/tasks';
import { type TestWorker, eventually, runToEnd, startDevServer, startRun, startTimeSkippingServer, startWorker, step } from '../support/temporal';

const flakyPipeline = pipeline({ id: 'flaky', defaults: { retries: 3, retryDelay: '5m', retryBackoff: 2 } }, (p) => {
  p.task('sometimes', flaky, { succeedOn: 3 });
  p.task('never', fail, { message: 'broken on purpose' }, { retries: 2 });
});

describe('retries on the time-skipping server (5-minute delays pass at once)', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  before(async () => {
    env = await startTimeSkippingServer();
    worker = await startWorker(env, [flakyPipeline]);
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
  });

  it('retries a failing step and records the try that succeeded', async () => {
    const { state, error } = await runToEnd(env, worker, flakyPipeline);
    const sometimes = step(state, 'sometimes');
    assert.equal(sometimes.state, 'success');
    assert.equal(sometimes.attempt, 3);
    assert.deepEqual(sometimes.output, { attempt: 3, calls: 3 });
    const never = step(state, 'never');
    assert.equal(never.state, 'failed');
    assert.equal(never.attempt, 3, 'retries: 2 means three tries');
    assert.match(never.error ?? '', /broken on purpose/);
    assert.match(error ?? '', /never/);
  });
});

describe('retries seen live on the dev server', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  const quick = pipeline({ id: 'flaky_live' }, (p) => {
    p.task('sometimes', flaky, { succeedOn: 2 }, { retries: 1, retryDelay: '2s' });
  });
  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [quick]);
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
  });

  it('shows the step up for retry after its first try, then its second try', async () => {
    const handle = await startRun(env, worker, quick);
    const waiting = await eventually('the step to wait for its retry', async () => {
      const s = step(await handle.query(runStateQuery), 'sometimes');
      return s.state === 'up_for_retry' ? s : undefined;
    });
    assert.equal(waiting.attempt, 1);
    assert.match(waiting.error ?? '', /try 1 fails on purpose/);
    await handle.result();
    const done = step(await handle.query(runStateQuery), 'sometimes');
    assert.equal(done.state, 'success');
    assert.equal(done.attempt, 2);
    assert.equal(done.error, undefined);
  });
});

const slowTask = defineTask('test.slow', async (_args: null, ctx) => {
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  return 'finished';
});

describe('task step timeouts', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  const timed = pipeline({ id: 'task_timeout' }, (p) => {
    p.task('too_slow', slowTask, null, { timeout: '500ms', retries: 1, retryDelay: '100ms' });
  });
  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [timed]);
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
  });

  it('fails a task try that runs past its timeout, aborts its signal, and retries it as a new try', async () => {
    const started = Date.now();
    const { state } = await runToEnd(env, worker, timed);
    const s = step(state, 'too_slow');
    assert.equal(s.state, 'failed');
    assert.equal(s.attempt, 2);
    assert.match(s.error ?? '', /timed out after 500ms/);
    assert.ok(Date.now() - started < 20_000, 'the tries ended at their timeout, not at the server backstop');
  });
});
