import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineTask, pipeline } from '../../pipeline';
import { echo, noop } from '../support/tasks';
import { runToEnd, states, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

const pickRight = defineTask('test.pick_right', (args: { arm: string }) => [args.arm]);

/** start -> gate -> (left -> left2 -> left3 | right -> right2 -> right3) -> join -> final; tail after right3 (all_done). */
function forked(id: string, gate: (p: Parameters<Parameters<typeof pipeline>[1]>[0]) => void) {
  return pipeline({ id, params: { go: 'left', arm: 'right' } }, (p) => {
    p.task('start', echo, { score: 0.95 });
    gate(p);
    p.task('left', noop, null, { after: ['gate'] });
    p.task('left2', noop, null, { after: ['left'] });
    p.task('left3', noop, null, { after: ['left2'] });
    p.task('right', noop, null, { after: ['gate'] });
    p.task('right2', noop, null, { after: ['right'] });
    p.task('right3', noop, null, { after: ['right2'] });
    p.task('join', noop, null, { after: ['left3', 'right3'], triggerRule: 'none_failed_min_one_success' });
    p.task('final', noop, null, { after: ['join'] });
    p.task('tail', noop, null, { after: ['right3'], triggerRule: 'all_done' });
    p.task('strict_join', noop, null, { after: ['left3', 'right3'] });
  });
}

const declarative = forked('branch_declarative', (p) =>
  p.branch(
    'gate',
    { cases: [{ if: "params.go == 'left' && xcom.start.score >= 0.9", then: 'left' }], otherwise: 'right' },
    { after: ['start'] },
  ),
);
const byFunction = forked('branch_function', (p) => p.branch('gate', { fn: pickRight, args: { arm: '{{ params.arm }}' } }, { after: ['start'] }));

describe('branching and skip propagation', () => {
  const temporal = useWorkflowWorker([declarative, byFunction]);

  it('skips the unchosen arm through every level, and joins with none_failed_min_one_success', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, declarative);
    assert.equal(error, undefined);
    assert.deepEqual(states(state), {
      start: 'success',
      gate: 'success',
      left: 'success',
      left2: 'success',
      left3: 'success',
      right: 'skipped',
      right2: 'skipped',
      right3: 'skipped',
      join: 'success',
      final: 'success',
      tail: 'success',
      strict_join: 'skipped',
    });
    assert.deepEqual(step(state, 'gate').output, ['left']);
    assert.match(step(state, 'right').error ?? '', /not chosen by branch 'gate'/);
  });

  it('takes the other arm when the condition is false', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, declarative, { params: { go: 'right' } });
    assert.equal(step(state, 'left').state, 'skipped');
    assert.equal(step(state, 'left3').state, 'skipped');
    assert.equal(step(state, 'right3').state, 'success');
    assert.equal(step(state, 'join').state, 'success');
  });

  it('lets a registered function choose the followers', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, byFunction);
    assert.equal(error, undefined);
    assert.deepEqual(step(state, 'gate').chosen, ['right']);
    assert.equal(step(state, 'left2').state, 'skipped');
    assert.equal(step(state, 'right2').state, 'success');
    assert.equal(step(state, 'final').state, 'success');
  });

  it('fails the branch when the function picks a step that is not a follower', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, byFunction, { params: { arm: 'final' } });
    assert.equal(step(state, 'gate').state, 'failed');
    assert.equal(step(state, 'gate').attempt, 1, 'a wrong choice is not retried');
    assert.match(step(state, 'gate').error ?? '', /final, which is not a direct follower; followers: left, right/);
    assert.equal(step(state, 'left').state, 'upstream_failed');
    assert.match(error ?? '', /gate/);
  });
});
