/**
 * Every trigger rule against every pair of upstream states, run for real: one
 * pipeline whose sources end in each state (success, failed, skipped by a
 * branch, upstream_failed) and one target step per rule and pair.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TRIGGER_RULES, type TriggerRule, pipeline } from '../../pipeline';
import { fail, noop } from '../support/tasks';
import { type Finished, type TestWorker, runToEnd, startDevServer, startWorker, step } from '../support/temporal';

type Source = 'S' | 'F' | 'K' | 'U';
const PAIRS: [Source, Source][] = [
  ['S', 'S'], ['S', 'F'], ['S', 'K'], ['S', 'U'], ['F', 'F'],
  ['F', 'K'], ['F', 'U'], ['K', 'K'], ['K', 'U'], ['U', 'U'],
];
const s = 'success';
const k = 'skipped';
const uf = 'upstream_failed';
/** Expected final state of the target, per rule, in PAIRS order (Airflow's semantics). */
const EXPECTED: Record<TriggerRule, string[]> = {
  //                           SS  SF  SK  SU  FF  FK  FU  KK  KU  UU
  all_success:                 [s,  uf, k,  uf, uf, uf, uf, k,  uf, uf],
  all_failed:                  [k,  k,  k,  k,  s,  k,  s,  k,  k,  s],
  all_done:                    [s,  s,  s,  s,  s,  s,  s,  s,  s,  s],
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

describe('trigger rules in a real run', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  let run: Finished;
  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [table]);
    run = await runToEnd(env, worker, table);
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
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
});
