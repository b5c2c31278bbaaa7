/** The pure part of sensors: defaults, intervals, globs, event keys back to dates, verdicts, validation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_RESCHEDULE_CHECKS,
  PipelineValidationError,
  globPrefix,
  globToRegExp,
  judgeWatchedState,
  matchKeyTemplate,
  nextPokeDelay,
  pipeline,
  rescheduleDelay,
  sensorTiming,
} from '../../pipeline';

describe('sensor timing', () => {
  it('applies the defaults: reschedule mode, 60s interval, 7 days, no soft fail', () => {
    assert.deepEqual(sensorTiming({}), {
      mode: 'reschedule',
      pokeIntervalMs: 60_000,
      timeoutMs: 7 * 86_400_000,
      softFail: false,
      exponentialBackoff: false,
      maxPokeIntervalMs: 3_600_000,
    });
  });

  it('keeps the interval fixed without backoff, and doubles it up to the cap with it', () => {
    const fixed = sensorTiming({ pokeInterval: '30s' });
    assert.deepEqual([1, 2, 5].map((n) => nextPokeDelay(fixed, n)), [30_000, 30_000, 30_000]);
    const backoff = sensorTiming({ pokeInterval: '30s', exponentialBackoff: true, maxPokeInterval: '5m' });
    assert.deepEqual([1, 2, 3, 4, 5, 60].map((n) => nextPokeDelay(backoff, n)), [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });
});

describe('reschedule-mode intervals', () => {
  it('stretch so a try checks at most MAX_RESCHEDULE_CHECKS times, keeping history bounded', () => {
    const week = sensorTiming({ pokeInterval: '60s', timeout: '7d' });
    assert.equal(rescheduleDelay(week, 1), Math.ceil((7 * 86_400_000) / MAX_RESCHEDULE_CHECKS));
    assert.ok(week.timeoutMs / rescheduleDelay(week, 1) <= MAX_RESCHEDULE_CHECKS);
    const short = sensorTiming({ pokeInterval: '30s', timeout: '6h' });
    assert.equal(rescheduleDelay(short, 1), 30_000, 'a short timeout keeps its interval');
    const backoff = sensorTiming({ pokeInterval: '30s', timeout: '6h', exponentialBackoff: true, maxPokeInterval: '5m' });
    assert.equal(rescheduleDelay(backoff, 3), 120_000);
  });
});

describe('glob keys', () => {
  it('matches *, ? and classes, with * crossing /', () => {
    const re = globToRegExp('daily/2026-03-0?/part-[0-9]*.parquet');
    assert.equal(re.test('daily/2026-03-01/part-7.parquet'), true);
    assert.equal(re.test('daily/2026-03-01/part-7/nested.parquet'), true);
    assert.equal(re.test('daily/2026-03-10/part-7.parquet'), false);
    assert.equal(re.test('daily/2026-03-01/part-x.parquet'), false);
    assert.equal(globToRegExp('a/[!b]c').test('a/xc'), true);
    assert.equal(globToRegExp('a/[!b]c').test('a/bc'), false);
    assert.equal(globToRegExp('odd (1).csv').test('odd (1).csv'), true);
  });

  it('lists from the literal prefix before the first wildcard', () => {
    assert.equal(globPrefix('daily/2026/part-*.csv'), 'daily/2026/part-');
    assert.equal(globPrefix('*.csv'), '');
    assert.equal(globPrefix('plain/key.csv'), 'plain/key.csv');
  });
});

describe('S3 event keys back to a logical date', () => {
  it('reads the date from {{ ds }} or {{ ds_nodash }}', () => {
    assert.equal(matchKeyTemplate('daily/{{ ds }}/features.parquet', 'daily/2026-03-01/features.parquet', false), '2026-03-01');
    assert.equal(matchKeyTemplate('in/{{ds_nodash}}.csv', 'in/20260301.csv', false), '2026-03-01');
  });

  it('treats other templates as one path segment and wildcards as globs', () => {
    assert.equal(matchKeyTemplate('{{ params.team }}/{{ ds }}/x', 'vision/2026-03-01/x', false), '2026-03-01');
    assert.equal(matchKeyTemplate('{{ params.team }}/{{ ds }}/x', 'a/b/2026-03-01/x', false), undefined);
    assert.equal(matchKeyTemplate('batch/{{ ds }}/part-*.csv', 'batch/2026-03-01/part-9.csv', true), '2026-03-01');
    assert.equal(matchKeyTemplate('batch/{{ ds }}/part-*.csv', 'batch/2026-03-01/part-9.csv', false), undefined);
  });

  it('gives null for a matching key without a date, and undefined for a key that does not match', () => {
    assert.equal(matchKeyTemplate('static/ready.flag', 'static/ready.flag', false), null);
    assert.equal(matchKeyTemplate('daily/{{ ds }}/features.parquet', 'daily/2026-3-1/features.parquet', false), undefined);
    assert.equal(matchKeyTemplate('daily/{{ ds }}/features.parquet', 'daily/2026-03-01/features.parquet.tmp', false), undefined);
  });
});

describe('pipeline sensor verdicts', () => {
  it('waits for success of a step by default and fails on failed or upstream_failed', () => {
    const config = { pipelineId: 'etl', stepId: 'load' };
    assert.equal(judgeWatchedState(config, 'success'), 'allowed');
    assert.equal(judgeWatchedState(config, 'failed'), 'failed');
    assert.equal(judgeWatchedState(config, 'upstream_failed'), 'failed');
    for (const s of ['absent', 'queued', 'running', 'up_for_retry', 'skipped'] as const) assert.equal(judgeWatchedState(config, s), 'wait');
  });

  it('for a whole run, fails on failed or cancelled; custom lists replace the defaults', () => {
    assert.equal(judgeWatchedState({ pipelineId: 'etl' }, 'cancelled'), 'failed');
    const custom = { pipelineId: 'etl', allowedStates: ['success', 'skipped'] as const, failedStates: ['failed'] as const };
    assert.equal(judgeWatchedState({ ...custom, allowedStates: [...custom.allowedStates], failedStates: [...custom.failedStates] }, 'skipped'), 'allowed');
    assert.equal(judgeWatchedState({ ...custom, allowedStates: [...custom.allowedStates], failedStates: [...custom.failedStates] }, 'upstream_failed'), 'wait');
  });
});

describe('sensor validation', () => {
  function problemsOf(define: Parameters<typeof pipeline>[1]): string[] {
    try {
      pipeline({ id: 'sensors' }, define);
    } catch (err) {
      if (err instanceof PipelineValidationError) return [...err.problems];
      throw err;
    }
    return [];
  }

  it('accepts a full s3Key sensor and a pipeline sensor', () => {
    assert.deepEqual(
      problemsOf((p) => {
        p.s3KeySensor('s3', { bucket: 'ml-datasets', key: ['daily/{{ ds }}/a.parquet', 'daily/{{ ds }}/b.parquet'], mode: 'poke', pokeInterval: '5m', timeout: '6h', softFail: true, exponentialBackoff: true, minSize: 1 });
        p.pipelineSensor('up', { pipelineId: 'etl', stepId: 'load', executionDelta: '1d', mode: 'reschedule' });
      }),
      [],
    );
  });

  it('names the step, the field and the fix for each bad value', () => {
    const problems = problemsOf((p) => {
      p.s3KeySensor('s3', { bucket: 'Bad_Bucket', key: 's3://ml/x', mode: 'sometimes' as 'poke', pokeInterval: 'soon', minSize: -1 });
      p.pipelineSensor('up', { pipelineId: '', allowedStates: ['done' as 'success'], failedStates: ['success'], executionDelta: 'yesterday' });
    });
    const expected = [
      /^step 's3': mode 'sometimes' must be 'poke' or 'reschedule'$/,
      /^step 's3': pokeInterval 'soon' is not a positive duration; write it like '30s'/,
      /^step 's3': bucket 'Bad_Bucket' must be an S3 bucket name/,
      /^step 's3': key 's3:\/\/ml\/x' is a URL; give the bucket in bucket/,
      /^step 's3': minSize must be a whole number of bytes/,
      /^step 'up': pipelineId must name the pipeline to wait for$/,
      /^step 'up': allowedStates has unknown state 'done'/,
      /^step 'up': executionDelta 'yesterday' is not a duration/,
    ];
    for (const pattern of expected) assert.ok(problems.some((p) => pattern.test(p)), `expected a problem like ${pattern}; got:\n${problems.join('\n')}`);
  });

  it('refuses a state that is both allowed and failed', () => {
    const problems = problemsOf((p) => {
      p.pipelineSensor('up', { pipelineId: 'etl', allowedStates: ['success', 'failed'] });
    });
    assert.deepEqual(problems, ["step 'up': failed cannot be both allowed and failed"]);
  });
});
