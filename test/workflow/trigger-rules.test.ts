/**
 * Every trigger rule against every pair of upstream states, run for real: one
 * pipeline whose sources end in each state (success, failed, skipped by a
 * branch, upstream_failed) and one target step per rule and pair. A second
 * pipeline shows a step settling early, while one of its upstreams still runs.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { TRIGGER_RULES, type TriggerRule, pipeline } from '../../pipeline';
import { runStateQuery } from '../../contract';
import { fail, hold, noop } from '../support/tasks';
import { type Finished, eventually, runToEnd, startRun, states, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

type Source = 'S' | 'F' | 'K' | 'U';
const PAIRS: [Source, Source][] = [
  ['S', 'S'], ['S', 'F'], ['S', 'K'], ['S', 'U'], ['F', 'F'],
  ['F', 'K'], ['F', 'U'], ['K', 'K'], ['K', 'U'], ['U', 'U'],
];
const s = 'success';
const k = 'skipped';
const uf = 'upstream_failed';
/**
 * Expected final state of the target, per rule, in PAIRS order (Airflow's semantics).
 * The branch skips K1 and K2 in the run's first workflow task, before any failing
 * task's activity has returned, and Airflow settles a step on what has finished so
 * far: so all_success is already skipped by the time F1 fails or U2 is upstream_failed
 * (FK, KU). Only when a failure and a skip are seen together does the failure win.
 */
const EXPECTED: Record<TriggerRule, string[]> = {
  //                           SS  SF  SK  SU  FF  FK  FU  KK  KU  UU
  all_success:                 [s,  uf, k,  uf, uf, k,  uf, k,  k,  uf],
  all_failed:                  [k,  k,  k,  k,  s,  k,  s,  k,  k,  s],
  all_done:                    [s,  s,  s,  s,  s,  s,  s,  s,  s,  s],
  all_done_min_one_success:    [s,  s,  k,  s,  uf, k,  uf, k,  k,  uf],
  all_skipped:                 [k,  k,  k,  k,  k,  k,  k,  s,  k,  k],
  one_success:                 [s,  s,  s,  s,  uf, uf, uf, k,  uf, uf],
  one_failed:                  [k,  s,  k,  s,  s,  s,  s,  k,  s,  s],
  one_done:                    [s,  s,  s,  s,  s,  s,  s,  k,  k,  k],
  none_failed:                 [s,  uf, s,  uf, uf, uf, uf, s,  uf, uf],
  none_failed_min_one_success: [s,  uf, s,  uf, uf, uf, uf, k,  uf, uf],
  none_skipped:                [s,  s,  k,  s,  s,  k,  s,  k,  k,  s],
  always:                      [s,  s,  s,  s,  s,  s,  s,  s,  s,  s],
};

const table = pipeline({ id: 'trigger_rule_table' }, (p) => {
  p.task('S1', noop, null);
  p.task('S2', noop, null);
  p.task('F1', fail, null);
  p.task('F2', fail, null);
  p.branch('gate', { cases: [], otherwise: [] });
  p.task('K1', noop, null, { after: ['gate'] });
  p.task('K2', noop, null, { after: ['gate'] });
  p.task('U1', noop, null, { after: ['F1'] });
  p.task('U2', noop, null, { after: ['F2'] });
  for (const rule of TRIGGER_RULES) {
    for (const [a, b] of PAIRS) {
      p.task(`${rule}__${a}${b}`, noop, null, { after: [`${a}1`, `${b}2`], triggerRule: rule });
    }
  }
});

/**
 * quick_fail fails at once and the branch skips passed_over, while slow holds for
 * seconds: strict (all_success) and no_skips (none_skipped) are decided by the
 * upstreams already finished, so they settle before slow ends; the run must still
 * wait for slow, whose result and follower count.
 */
const SLOW_MS = 3_000;
const early = pipeline({ id: 'trigger_rule_early' }, (p) => {
  p.task('quick_fail', fail, null);
  p.task('slow', hold, { ms: SLOW_MS, value: 'late' });
  p.branch('gate', { cases: [], otherwise: [] });
  p.task('passed_over', noop, null, { after: ['gate'] });
  p.task('strict', noop, null, { after: ['quick_fail', 'slow'] });
  p.task('no_skips', noop, null, { after: ['passed_over', 'slow'], triggerRule: 'none_skipped' });
  p.task('after_slow', noop, null, { after: ['slow'] });
});

describe('trigger rules in a real run', () => {
  let run: Finished;
  const temporal = useWorkflowWorker([table, early]);
  before(async () => {
    run = await runToEnd(temporal.env, temporal.worker, table);
  });

  it('puts the sources in the four upstream states', () => {
    assert.equal(step(run.state, 'S1').state, 'success');
    assert.equal(step(run.state, 'F1').state, 'failed');
    assert.equal(step(run.state, 'K1').state, 'skipped');
    assert.equal(step(run.state, 'U1').state, 'upstream_failed');
  });

  for (const rule of TRIGGER_RULES) {
    it(`${rule} settles every pair of upstream states as Airflow does`, () => {
      const got = PAIRS.map(([a, b]) => step(run.state, `${rule}__${a}${b}`).state);
      assert.deepEqual(got, EXPECTED[rule]);
    });
  }

  it('fails the run because leaves failed, naming the failed steps', () => {
    assert.equal(run.state.status, 'failed');
    assert.match(run.error ?? '', /F1/);
    assert.match(run.error ?? '', /F2/);
  });

  it('settles a step as soon as its finished upstreams decide, while another still runs, and ends only after it', async () => {
    const handle = await startRun(temporal.env, temporal.worker, early);
    const settled = await eventually(
      'strict upstream_failed and no_skips skipped',
      async () => {
        const state = await handle.query(runStateQuery);
        return step(state, 'strict').state === 'upstream_failed' && step(state, 'no_skips').state === 'skipped' ? state : undefined;
      },
      SLOW_MS * 5,
    );
    assert.equal(step(settled, 'slow').state, 'running', 'the early decisions came before slow ended');
    assert.equal(settled.status, 'running');

    await assert.rejects(handle.result(), WorkflowFailedError);
    const end = await handle.query(runStateQuery);
    assert.equal(end.status, 'failed');
    assert.deepEqual(states(end), {
      quick_fail: 'failed',
      slow: 'success',
      gate: 'success',
      passed_over: 'skipped',
      strict: 'upstream_failed',
      no_skips: 'skipped',
      after_slow: 'success',
    });
    assert.deepEqual(step(end, 'slow').output, { index: null, value: 'late' });
    assert.deepEqual(end.failedSteps, ['quick_fail']);
    const endedAt = (id: string): number => Date.parse(step(end, id).endedAt ?? '');
    assert.ok(endedAt('strict') < endedAt('slow'), 'strict settled before slow ended');
    assert.ok(Date.parse(end.endedAt ?? '') >= endedAt('after_slow'), 'the run ended after slow and its follower');
  });
});
