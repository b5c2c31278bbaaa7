/**
 * decideTrigger against Airflow's documented trigger-rule semantics. Every
 * expected decision below was written by hand from the Airflow docs, not copied
 * from the implementation:
 *
 *   all_success       every upstream succeeded; a failure upstream makes the step
 *                     upstream_failed, a skip (and no failure) makes it skipped
 *   all_failed        every upstream is failed or upstream_failed, else skipped
 *   all_done          every upstream finished, whatever its state
 *   all_skipped       every upstream skipped, else skipped
 *   one_success       runs as soon as one upstream succeeded (no wait for the rest);
 *                     all finished without success: skipped if all skipped, else upstream_failed
 *   one_failed        runs as soon as one upstream is failed or upstream_failed; none: skipped
 *   one_done          runs as soon as one upstream succeeded or failed (upstream_failed and
 *                     skipped do not count); none: skipped
 *   none_failed       all finished, none failed/upstream_failed (skips are fine), else upstream_failed
 *   none_failed_min_one_success
 *                     as none_failed, and at least one success; all skipped: skipped
 *   none_skipped      all finished and none skipped (failures are fine), else skipped
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
  // Some upstream not finished yet.
  Q: [Q],
  R: [R],
  SR: [S, R],
  FR: [F, R],
  KQ: [K, Q],
  UR: [U, R],
  SY: [S, Y],
  FY: [F, Y],
  SSR: [S, S, R],
} satisfies Record<string, StepState[]>;
type Combo = keyof typeof COMBOS;

const run: TriggerDecision = 'run';
const wait: TriggerDecision = 'wait';
const skip: TriggerDecision = 'skipped';
const upf: TriggerDecision = 'upstream_failed';

const UNFINISHED_WAIT = { Q: wait, R: wait, SR: wait, FR: wait, KQ: wait, UR: wait, SY: wait, FY: wait, SSR: wait } as const;

const TABLE: Record<TriggerRule, Record<Combo, TriggerDecision>> = {
  all_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: upf, SK: skip, SU: upf,
    FF: upf, FU: upf, UU: upf, KK: skip, FK: upf, KU: upf, SFK: upf,
    ...UNFINISHED_WAIT,
  },
  all_failed: {
    none: run, S: skip, F: run, K: skip, U: run, SS: skip, SF: skip, SK: skip, SU: skip,
    FF: run, FU: run, UU: run, KK: skip, FK: skip, KU: skip, SFK: skip,
    ...UNFINISHED_WAIT,
  },
  all_done: {
    none: run, S: run, F: run, K: run, U: run, SS: run, SF: run, SK: run, SU: run,
    FF: run, FU: run, UU: run, KK: run, FK: run, KU: run, SFK: run,
    ...UNFINISHED_WAIT,
  },
  all_skipped: {
    none: run, S: skip, F: skip, K: run, U: skip, SS: skip, SF: skip, SK: skip, SU: skip,
    FF: skip, FU: skip, UU: skip, KK: run, FK: skip, KU: skip, SFK: skip,
    ...UNFINISHED_WAIT,
  },
  one_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: run, SK: run, SU: run,
    FF: upf, FU: upf, UU: upf, KK: skip, FK: upf, KU: upf, SFK: run,
    Q: wait, R: wait, SR: run, FR: wait, KQ: wait, UR: wait, SY: run, FY: wait, SSR: run,
  },
  one_failed: {
    none: run, S: skip, F: run, K: skip, U: run, SS: skip, SF: run, SK: skip, SU: run,
    FF: run, FU: run, UU: run, KK: skip, FK: run, KU: run, SFK: run,
    Q: wait, R: wait, SR: wait, FR: run, KQ: wait, UR: run, SY: wait, FY: run, SSR: wait,
  },
  one_done: {
    none: run, S: run, F: run, K: skip, U: skip, SS: run, SF: run, SK: run, SU: run,
    FF: run, FU: run, UU: skip, KK: skip, FK: run, KU: skip, SFK: run,
    Q: wait, R: wait, SR: run, FR: run, KQ: wait, UR: wait, SY: run, FY: run, SSR: run,
  },
  none_failed: {
    none: run, S: run, F: upf, K: run, U: upf, SS: run, SF: upf, SK: run, SU: upf,
    FF: upf, FU: upf, UU: upf, KK: run, FK: upf, KU: upf, SFK: upf,
    ...UNFINISHED_WAIT,
  },
  none_failed_min_one_success: {
    none: run, S: run, F: upf, K: skip, U: upf, SS: run, SF: upf, SK: run, SU: upf,
    FF: upf, FU: upf, UU: upf, KK: skip, FK: upf, KU: upf, SFK: upf,
    ...UNFINISHED_WAIT,
  },
  none_skipped: {
    none: run, S: run, F: run, K: skip, U: run, SS: run, SF: run, SK: skip, SU: run,
    FF: run, FU: run, UU: run, KK: skip, FK: skip, KU: skip, SFK: skip,
    ...UNFINISHED_WAIT,
  },
  always: {
    none: run, S: run, F: run, K: run, U: run, SS: run, SF: run, SK: run, SU: run,
    FF: run, FU: run, UU: run, KK: run, FK: run, KU: run, SFK: run,
    Q: run, R: run, SR: run, FR: run, KQ: run, UR: run, SY: run, FY: run, SSR: run,
  },
};

describe('decideTrigger', () => {
  it('the table covers all 11 rules and every combination', () => {
    assert.equal(TRIGGER_RULES.length, 11);
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
