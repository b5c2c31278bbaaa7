import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipeline } from '../../pipeline';
import { echo, noop } from '../support/tasks';
import { runToEnd, states, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

describe('smoke', () => {
  const p = pipeline({ id: 'smoke', params: { who: 'world' } }, (b) => {
    const a = b.task('a', echo, { greeting: 'hello {{ params.who }} on {{ ds }}' });
    b.task('b', echo, { got: a.get('greeting') });
    b.task('c', noop, null, { after: ['b'] });
  });
  const temporal = useWorkflowWorker([p]);

  it('runs a chain and passes XCom', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, p);
    assert.equal(error, undefined);
    assert.deepEqual(states(state), { a: 'success', b: 'success', c: 'success' });
    assert.deepEqual(step(state, 'b').output, { got: 'hello world on 2026-03-01' });
  });
});
