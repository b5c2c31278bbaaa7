import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EarlyStoppingSpec, MedianStopping, type StoppingState } from '../../pipeline';

const spec: EarlyStoppingSpec = { metric: 'val_accuracy', mode: 'max' };

/** Starts trial `index` at time 0 and reports `curve[i]` at step i + 1. */
function run(rule: MedianStopping, index: number, curve: number[], startedAtMs = 0): void {
  rule.start(index, startedAtMs);
  curve.forEach((value, i) => rule.report(index, i + 1, value));
}

/** Five peers whose running averages at step 4 are 0.7, 0.75, 0.8, 0.85, 0.9 (median 0.8). */
function withPeers(rule: MedianStopping): void {
  [0.7, 0.75, 0.8, 0.85, 0.9].forEach((level, i) => run(rule, i, [level, level, level, level, level]));
}

describe('MedianStopping: who gets judged', () => {
  it('does not stop without enough other trials at the step', () => {
    const rule = new MedianStopping(spec);
    run(rule, 0, [0.9, 0.9, 0.9, 0.9]);
    run(rule, 1, [0.9, 0.9, 0.9, 0.9]);
    run(rule, 9, [0.1, 0.1, 0.1, 0.1]);
    assert.deepEqual(rule.judge(9, 0), { stop: false }, 'two peers, minTrials 3');
    run(rule, 2, [0.9, 0.9, 0.9, 0.9]);
    assert.equal(rule.judge(9, 0).stop, true, 'a third peer makes it count');
  });

  it('ignores peers that have not reached the step yet', () => {
    const rule = new MedianStopping(spec);
    [0, 1, 2].forEach((i) => run(rule, i, [0.9, 0.9]));
    run(rule, 9, [0.1, 0.1, 0.1, 0.1]);
    assert.deepEqual(rule.judge(9, 0), { stop: false });
  });

  it('waits for minSteps reports', () => {
    const rule = new MedianStopping({ ...spec, minSteps: 4 });
    withPeers(rule);
    run(rule, 9, [0.1, 0.1, 0.1]);
    assert.deepEqual(rule.judge(9, 0), { stop: false });
    rule.report(9, 4, 0.1);
    assert.equal(rule.judge(9, 0).stop, true);
  });

  it('waits for the grace period', () => {
    const rule = new MedianStopping({ ...spec, gracePeriod: '10m' });
    withPeers(rule);
    run(rule, 9, [0.1, 0.1, 0.1, 0.1], 1_000_000);
    assert.deepEqual(rule.judge(9, 1_000_000 + 599_999), { stop: false });
    assert.equal(rule.judge(9, 1_000_000 + 600_000).stop, true);
  });

  it('never stops a finished trial, or one never started', () => {
    const rule = new MedianStopping(spec);
    withPeers(rule);
    run(rule, 9, [0.1, 0.1, 0.1, 0.1]);
    rule.finish(9);
    assert.deepEqual(rule.judge(9, 0), { stop: false });
    assert.deepEqual(rule.judge(42, 0), { stop: false });
  });

  it('respects minTrials', () => {
    const rule = new MedianStopping({ ...spec, minTrials: 6 });
    withPeers(rule);
    run(rule, 9, [0.1, 0.1, 0.1, 0.1]);
    assert.deepEqual(rule.judge(9, 0), { stop: false });
  });
});

describe('MedianStopping: the verdict', () => {
  it('stops a clearly bad trial and says why', () => {
    const rule = new MedianStopping(spec);
    withPeers(rule);
    run(rule, 9, [0.5, 0.55, 0.612, 0.6]);
    assert.deepEqual(rule.judge(9, 0), {
      stop: true,
      reason: "val_accuracy best 0.612 by step 4 is below the median 0.8 of 5 other trials' running averages (mode max)",
    });
  });

  it('keeps a good trial, and one exactly at the median', () => {
    const rule = new MedianStopping(spec);
    withPeers(rule);
    run(rule, 9, [0.6, 0.7, 0.85, 0.82]);
    assert.deepEqual(rule.judge(9, 0), { stop: false });
    run(rule, 10, [0.5, 0.8, 0.6, 0.6]);
    assert.deepEqual(rule.judge(10, 0), { stop: false }, 'best 0.8 equals the median: not strictly worse');
  });

  it('compares with running averages, not latest values', () => {
    // Peers climb 0.1 → 0.9: latest 0.9, but the mean over steps 1..3 is 0.5.
    const rule = new MedianStopping(spec);
    [0, 1, 2].forEach((i) => run(rule, i, [0.1, 0.5, 0.9, 0.95]));
    run(rule, 9, [0.6, 0.6, 0.6]);
    assert.deepEqual(rule.judge(9, 0), { stop: false }, 'best 0.6 beats the running average 0.5 at step 3');
    run(rule, 10, [0.3, 0.4, 0.45]);
    assert.equal(rule.judge(10, 0).stop, true);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    const rule = new MedianStopping(spec);
    [0.6, 0.7, 0.9, 1.0].forEach((level, i) => run(rule, i, [level, level, level]));
    run(rule, 9, [0.79, 0.79, 0.79]);
    const verdict = rule.judge(9, 0);
    assert.equal(verdict.stop, true);
    assert.match(verdict.stop ? verdict.reason : '', /below the median 0\.8 of 4 other trials/);
    run(rule, 10, [0.8, 0.8, 0.8]);
    assert.deepEqual(rule.judge(10, 0), { stop: false });
  });

  it('stops a trial in min mode when its lowest loss is above the median', () => {
    const rule = new MedianStopping({ metric: 'loss', mode: 'min' });
    [0.2, 0.3, 0.4].forEach((level, i) => run(rule, i, [level, level, level]));
    run(rule, 8, [0.9, 0.5, 0.35]);
    run(rule, 9, [1.5, 1.2, 1.1]);
    assert.deepEqual(rule.judge(8, 0), { stop: false }, 'peers 0.2, 0.3, 0.4 and trial 9 (1.27) have median 0.35: a tie is not worse');
    assert.deepEqual(rule.judge(9, 0), {
      stop: true,
      reason: "loss best 1.1 by step 3 is above the median 0.35 of 4 other trials' running averages (mode min)",
    });
  });

  it('counts finished and pruned trials as data', () => {
    const rule = new MedianStopping(spec);
    withPeers(rule);
    [0, 1, 2, 3, 4].forEach((i) => rule.finish(i));
    run(rule, 9, [0.1, 0.1, 0.1]);
    assert.equal(rule.judge(9, 0).stop, true);
  });
});

describe('MedianStopping: reports', () => {
  it('ignores non-finite values and replaces a repeated step', () => {
    const rule = new MedianStopping(spec);
    run(rule, 0, [0.5]);
    rule.report(0, 2, Number.NaN);
    rule.report(0, 2, Number.POSITIVE_INFINITY);
    rule.report(0, 1, 0.6);
    rule.report(0, 3, 0.7);
    rule.report(0, 2, 0.65);
    assert.deepEqual(rule.toJSON().trials['0']?.values, [
      [1, 0.6],
      [2, 0.65],
      [3, 0.7],
    ]);
  });

  it('keeps values sorted by step when they arrive out of order', () => {
    const rule = new MedianStopping(spec);
    rule.start(0, 0);
    for (const step of [5, 1, 3, 4, 2]) rule.report(0, step, step / 10);
    assert.deepEqual(
      rule.toJSON().trials['0']?.values.map(([s]) => s),
      [1, 2, 3, 4, 5],
    );
  });

  it('ignores reports for a trial never started', () => {
    const rule = new MedianStopping(spec);
    rule.report(3, 1, 0.5);
    assert.deepEqual(rule.toJSON(), { trials: {} });
  });

  it('starts a retried trial afresh', () => {
    const rule = new MedianStopping(spec);
    run(rule, 0, [0.1, 0.2, 0.3], 0);
    rule.start(0, 5_000);
    assert.deepEqual(rule.toJSON().trials['0'], { startedAtMs: 5_000, values: [], done: false });
  });

  it('rejects a bad spec', () => {
    assert.throws(() => new MedianStopping({ ...spec, gracePeriod: 'later' }), /gracePeriod 'later' is not a duration/);
    assert.throws(() => new MedianStopping({ ...spec, minSteps: 0 }), /minSteps must be a positive integer/);
    assert.throws(() => new MedianStopping({ ...spec, mode: 'up' as 'max' }), /mode must be 'max' or 'min'/);
  });
});

describe('MedianStopping: state', () => {
  it('survives toJSON, a JSON round trip and a new MedianStopping', () => {
    const rule = new MedianStopping({ ...spec, gracePeriod: '1s' });
    withPeers(rule);
    run(rule, 9, [0.1, 0.2, 0.3], 500);
    const state = JSON.parse(JSON.stringify(rule.toJSON())) as StoppingState;
    const restored = new MedianStopping({ ...spec, gracePeriod: '1s' }, state);
    assert.deepEqual(restored.toJSON(), rule.toJSON());
    assert.deepEqual(restored.judge(9, 1_000), { stop: false }, 'the grace period counts from the original start');
    assert.deepEqual(restored.judge(9, 1_500), rule.judge(9, 1_500));
    assert.equal(restored.judge(9, 1_500).stop, true);
  });

  it('does not share objects with the state it was given or the state it returns', () => {
    const state: StoppingState = { trials: { '0': { startedAtMs: 0, values: [[1, 0.5]], done: false } } };
    const rule = new MedianStopping(spec, state);
    rule.report(0, 2, 0.6);
    assert.deepEqual(state.trials['0']?.values, [[1, 0.5]]);
    const out = rule.toJSON();
    out.trials['0']?.values.push([9, 9]);
    assert.equal(rule.toJSON().trials['0']?.values.length, 2);
  });

  it('uses fresh values after a report (no stale cache)', () => {
    const rule = new MedianStopping(spec);
    [0, 1, 2].forEach((i) => run(rule, i, [0.5, 0.5, 0.5]));
    run(rule, 9, [0.4, 0.4, 0.4]);
    assert.equal(rule.judge(9, 0).stop, true);
    // Peers now average 0.3 over steps 1..3 after corrected reports.
    [0, 1, 2].forEach((i) => [1, 2, 3].forEach((s) => rule.report(i, s, 0.3)));
    assert.deepEqual(rule.judge(9, 0), { stop: false });
  });

  it('judges each of 2,000 trials of 100 steps against the others', () => {
    const rule = new MedianStopping(spec);
    // Trial i holds 0.5 + (i % 13) / 64 (exact in binary, so sums and averages are exact): residues below 6 are under the median.
    for (let i = 0; i < 2_000; i++) run(rule, i, Array.from({ length: 100 }, () => 0.5 + (i % 13) / 64));
    const stopped = Array.from({ length: 2_000 }, (_, i) => rule.judge(i, 0).stop);
    for (let i = 0; i < 2_000; i++) assert.equal(stopped[i], i % 13 < 6, `trial ${i}`);
  });
});
