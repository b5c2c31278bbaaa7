/**
 * decideTrigger against Airflow's trigger rules. Every expected decision below
 * was written by hand from the rule evaluation in Airflow's scheduler
 * (`airflow/ti_deps/deps/trigger_rule_dep.py`, which judges a task by the
 * upstreams finished so far and flags it skipped or upstream_failed as soon as
 * they decide it), not copied from the implementation. "Failure" means failed
 * or upstream_failed; "unfinished" means queued, running or up_for_retry.
 *
 *   all_success       runs when every upstream succeeded. Settles early: upstream_failed
 *                     on the first failure; otherwise skipped on the first skip (a failure
 *                     seen together with a skip wins)
 *   all_failed        runs when every upstream is a failure. Settles early: skipped on the
 *                     first success or skip
 *   all_done          runs when every upstream finished, whatever its state; never settles
 *                     without running
 *   all_done_min_one_success
 *                     runs when every upstream finished and one succeeded; all finished
 *                     without a success: upstream_failed. Settles early: skipped on the
 *                     first skip (Airflow counts a skipped upstream as not done here)
 *   all_skipped       runs when every upstream skipped. Settles early: skipped on the first
 *                     success or failure
 *   one_success       runs on the first success, without waiting for the rest; all finished
 *                     without one: skipped if all skipped, else upstream_failed
 *   one_failed        runs on the first failure; all finished without one: skipped
 *   one_done          runs on the first success or failed (upstream_failed and skipped do
 *                     not count); all finished without one: skipped
 *   none_failed       runs when every upstream succeeded or skipped. Settles early:
 *                     upstream_failed on the first failure
 *   none_failed_min_one_success
 *                     as none_failed (upstream_failed early on a failure), and skipped when
 *                     every upstream skipped, which needs them all finished
 *   none_skipped      runs when every upstream finished and none skipped (failures are
 *                     fine). Settles early: skipped on the first skip
 *   always            runs at any time
 *
 * A step without upstreams has no trigger-rule dependency in Airflow: it runs,
 * whatever its rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type StepState, TRIGGER_RULES, type TriggerDecision, type TriggerRule, decideTrigger } from '../../pipeline';

const S: StepState = 'success';
const F: StepState = 'failed';
const K: StepState = 'skipped';
const U: StepState = 'upstream_failed';
const Q: StepState = 'queued';
const R: StepState = 'running';
const Y: StepState = 'up_for_retry';

/** Upstream combinations, named by the columns of the table below. */
const COMBOS = {
  none: [],
  S: [S],
  F: [F],
  K: [K],
  U: [U],
  SS: [S, S],
  SF: [S, F],
  SK: [S, K],
  SU: [S, U],
  FF: [F, F],
  FU: [F, U],
  UU: [U, U],
  KK: [K, K],
  FK: [F, K],
  KU: [K, U],
  SFK: [S, F, K],
  // Some upstream not finished yet: where the finished ones already decide, the step settles early.
  Q: [Q],
  R: [R],
  Y: [Y],
  SR: [S, R],
  SY: [S, Y],
  FR: [F, R],
  FY: [F, Y],
  UR: [U, R],
  UQ: [U, Q],
  KQ: [K, Q],
  KR: [K, R],
  SSR: [S, S, R],
  SKR: [S, K, R],
  FKR: [F, K, R],
  KKR: [K, K, R],
} satisfies Record<string, StepState[]>;
type Combo = keyof typeof COMBOS;

const run: TriggerDecision = 'run';
const wait: TriggerDecision = 'wait';
const skip: TriggerDecision = 'skipped';
const upf: TriggerDecision = 'upstream_failed';

/** First line of each row: every upstream finished; second line: some unfinished. */
const TABLE: Record<TriggerRule, Record<Combo, TriggerDecision>> = {
  all_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: upf, SK: skip, SU: upf, FF: upf, FU: upf, UU: upf, KK: skip, FK: upf, KU: upf, SFK: upf,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: upf, FY: upf, UR: upf, UQ: upf, KQ: skip, KR: skip, SSR: wait, SKR: skip, FKR: upf, KKR: skip,
  },
  all_failed: {
    none: run, S: skip, F: run, K: skip, U: run, SS: skip, SF: skip, SK: skip, SU: skip, FF: run, FU: run, UU: run, KK: skip, FK: skip, KU: skip, SFK: skip,
    Q: wait, R: wait, Y: wait, SR: skip, SY: skip, FR: wait, FY: wait, UR: wait, UQ: wait, KQ: skip, KR: skip, SSR: skip, SKR: skip, FKR: skip, KKR: skip,
  },
  all_done: {
    none: run, S: run, F: run, K: run, U: run, SS: run, SF: run, SK: run, SU: run, FF: run, FU: run, UU: run, KK: run, FK: run, KU: run, SFK: run,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: wait, FY: wait, UR: wait, UQ: wait, KQ: wait, KR: wait, SSR: wait, SKR: wait, FKR: wait, KKR: wait,
  },
  all_done_min_one_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: run, SK: skip, SU: run, FF: upf, FU: upf, UU: upf, KK: skip, FK: skip, KU: skip, SFK: skip,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: wait, FY: wait, UR: wait, UQ: wait, KQ: skip, KR: skip, SSR: wait, SKR: skip, FKR: skip, KKR: skip,
  },
  all_skipped: {
    none: run, S: skip, F: skip, K: run, U: skip, SS: skip, SF: skip, SK: skip, SU: skip, FF: skip, FU: skip, UU: skip, KK: run, FK: skip, KU: skip, SFK: skip,
    Q: wait, R: wait, Y: wait, SR: skip, SY: skip, FR: skip, FY: skip, UR: skip, UQ: skip, KQ: wait, KR: wait, SSR: skip, SKR: skip, FKR: skip, KKR: wait,
  },
  one_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: run, SK: run, SU: run, FF: upf, FU: upf, UU: upf, KK: skip, FK: upf, KU: upf, SFK: run,
    Q: wait, R: wait, Y: wait, SR: run, SY: run, FR: wait, FY: wait, UR: wait, UQ: wait, KQ: wait, KR: wait, SSR: run, SKR: run, FKR: wait, KKR: wait,
  },
  one_failed: {
    none: run, S: skip, F: run, K: skip, U: run, SS: skip, SF: run, SK: skip, SU: run, FF: run, FU: run, UU: run, KK: skip, FK: run, KU: run, SFK: run,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: run, FY: run, UR: run, UQ: run, KQ: wait, KR: wait, SSR: wait, SKR: wait, FKR: run, KKR: wait,
  },
  one_done: {
    none: run, S: run, F: run, K: skip, U: skip, SS: run, SF: run, SK: run, SU: run, FF: run, FU: run, UU: skip, KK: skip, FK: run, KU: skip, SFK: run,
    Q: wait, R: wait, Y: wait, SR: run, SY: run, FR: run, FY: run, UR: wait, UQ: wait, KQ: wait, KR: wait, SSR: run, SKR: run, FKR: run, KKR: wait,
  },
  none_failed: {
    none: run, S: run, F: upf, K: run, U: upf, SS: run, SF: upf, SK: run, SU: upf, FF: upf, FU: upf, UU: upf, KK: run, FK: upf, KU: upf, SFK: upf,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: upf, FY: upf, UR: upf, UQ: upf, KQ: wait, KR: wait, SSR: wait, SKR: wait, FKR: upf, KKR: wait,
  },
  none_failed_min_one_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: upf, SK: run, SU: upf, FF: upf, FU: upf, UU: upf, KK: skip, FK: upf, KU: upf, SFK: upf,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: upf, FY: upf, UR: upf, UQ: upf, KQ: wait, KR: wait, SSR: wait, SKR: wait, FKR: upf, KKR: wait,
  },
  none_skipped: {
    none: run, S: run, F: run, K: skip, U: run, SS: run, SF: run, SK: skip, SU: run, FF: run, FU: run, UU: run, KK: skip, FK: skip, KU: skip, SFK: skip,
    Q: wait, R: wait, Y: wait, SR: wait, SY: wait, FR: wait, FY: wait, UR: wait, UQ: wait, KQ: skip, KR: skip, SSR: wait, SKR: skip, FKR: skip, KKR: skip,
  },
  always: {
    none: run, S: run, F: run, K: run, U: run, SS: run, SF: run, SK: run, SU: run, FF: run, FU: run, UU: run, KK: run, FK: run, KU: run, SFK: run,
    Q: run, R: run, Y: run, SR: run, SY: run, FR: run, FY: run, UR: run, UQ: run, KQ: run, KR: run, SSR: run, SKR: run, FKR: run, KKR: run,
  },
};

describe('decideTrigger', () => {
  it('the table covers all 12 rules and every combination', () => {
    assert.equal(TRIGGER_RULES.length, 12);
    assert.deepEqual(Object.keys(TABLE).sort(), [...TRIGGER_RULES].sort());
    for (const rule of TRIGGER_RULES) {
      assert.deepEqual(Object.keys(TABLE[rule]).sort(), Object.keys(COMBOS).sort(), `columns of ${rule}`);
    }
  });

  for (const rule of TRIGGER_RULES) {
    describe(rule, () => {
      for (const [combo, upstream] of Object.entries(COMBOS) as [Combo, StepState[]][]) {
        const expected = TABLE[rule][combo];
        const label = upstream.length === 0 ? 'no upstream' : `[${upstream.join(', ')}]`;
        it(`${label} -> ${expected}`, () => {
          assert.equal(decideTrigger(rule, upstream), expected);
        });
      }
    });
  }

  it('does not depend on the order of the upstream states', () => {
    for (const rule of TRIGGER_RULES) {
      for (const upstream of Object.values(COMBOS) as StepState[][]) {
        const reversed = [...upstream].reverse();
        assert.equal(decideTrigger(rule, reversed), decideTrigger(rule, upstream), `${rule} [${upstream.join(', ')}]`);
      }
    }
  });

  it('runs a step without upstreams at once whatever its rule', () => {
    for (const rule of TRIGGER_RULES) assert.equal(decideTrigger(rule, []), 'run', rule);
  });
});
