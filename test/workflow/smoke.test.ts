import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pipeline } from '../../pipeline';
import { echo, noop } from '../support/tasks';
import { type TestWorker, runToEnd, startDevServer, startWorker, states, step } from '../support/temporal';

describe('smoke', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  const p = pipeline({ id: 'smoke', params: { who: 'world' } }, (b) => {
    const a = b.task('a', echo, { greeting: 'hello {{ params.who }} on {{ ds }}' });
    b.task('b', echo, { got: a.get('greeting') });
    b.task('c', noop, null, { after: ['b'] });
  });
  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [p]);
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
  });

  it('runs a chain and passes XCom', async () => {
    const { state, error } = await runToEnd(env, worker, p);
    assert.equal(error, undefined);
    assert.deepEqual(states(state), { a: 'success', b: 'success', c: 'success' });
    assert.deepEqual(step(state, 'b').output, { got: 'hello world on 2026-03-01' });
  });
});
