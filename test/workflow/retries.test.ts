import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineTask, pipeline } from '../../pipeline';
import { runStateQuery } from '../../contract';
import { fail, flaky } from '../support/tasks';
import { eventually, runToEnd, startRun, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

const flakyPipeline = pipeline({ id: 'flaky', defaults: { retries: 3, retryDelay: '5m', retryBackoff: 2 } }, (p) => {
  p.task('sometimes', flaky, { succeedOn: 3 });
  p.task('never', fail, { message: 'broken on purpose' }, { retries: 2 });
});

describe('retries on the time-skipping server (5-minute delays pass at once)', () => {
  const temporal = useWorkflowWorker([flakyPipeline], { server: 'time-skipping' });

  it('retries a failing step and records the try that succeeded', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, flakyPipeline);
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
  const quick = pipeline({ id: 'flaky_live' }, (p) => {
    p.task('sometimes', flaky, { succeedOn: 2 }, { retries: 1, retryDelay: '2s' });
  });
  const temporal = useWorkflowWorker([quick]);

  it('shows the step up for retry after its first try, then its second try', async () => {
    const handle = await startRun(temporal.env, temporal.worker, quick);
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

/** The tries of each run whose signal aborted while the task was running, in order. */
const abortedTries = new Map<string, number[]>();
/** Runs for a minute unless its signal aborts, and records the try whose signal did. */
const slowTask = defineTask('test.slow', async (_args: null, ctx) => {
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    ctx.signal.addEventListener('abort', () => {
      abortedTries.set(ctx.runId, [...(abortedTries.get(ctx.runId) ?? []), ctx.attempt]);
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  return 'finished';
});

describe('task step timeouts', () => {
  const timed = pipeline({ id: 'task_timeout' }, (p) => {
    p.task('too_slow', slowTask, null, { timeout: '500ms', retries: 1, retryDelay: '100ms' });
  });
  const temporal = useWorkflowWorker([timed]);

  it('fails a task try that runs past its timeout, aborts its signal, and retries it as a new try', async () => {
    const started = Date.now();
    const { state } = await runToEnd(temporal.env, temporal.worker, timed);
    const s = step(state, 'too_slow');
    assert.equal(s.state, 'failed');
    assert.equal(s.attempt, 2);
    assert.match(s.error ?? '', /timed out after 500ms/);
    assert.ok(Date.now() - started < 20_000, 'the tries ended at their timeout, not at the server backstop');
    assert.deepEqual(abortedTries.get(state.run.runId), [1, 2], 'each timed-out try saw its signal abort');
  });
});
