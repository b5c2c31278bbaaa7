import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../pipeline';

describe('parseDuration', () => {
  it('reads each single unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('4h'), 14_400_000);
    assert.equal(parseDuration('1d'), 86_400_000);
  });

  it('tells minutes from milliseconds', () => {
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1ms'), 1);
  });

  it('adds up compound durations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1d2h3m4s5ms'), 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5);
  });

  it('accepts fractions and zero', () => {
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('0.5h'), 1_800_000);
    assert.equal(parseDuration('0s'), 0);
  });

  it('ignores surrounding whitespace', () => {
    assert.equal(parseDuration('  10s \n'), 10_000);
  });

  for (const bad of ['', '   ', '5', '5x', '-1s', 'm5', 's', '5 s', '1h 30m', '1h30', '1.s', '.5s', '5S', '1h30mx', 'x1h']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.equal(parseDuration(bad), undefined);
    });
  }

  it('can be called again after a rejected input (no leftover regex state)', () => {
    assert.equal(parseDuration('5x'), undefined);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('3m'), 180_000);
  });
});

describe('formatDuration', () => {
  it('writes sub-second values in milliseconds', () => {
    assert.equal(formatDuration(0), '0ms');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(999), '999ms');
  });

  it('writes seconds with one decimal under ten seconds and none above', () => {
    assert.equal(formatDuration(1_000), '1.0s');
    assert.equal(formatDuration(1_500), '1.5s');
    assert.equal(formatDuration(12_000), '12s');
    assert.equal(formatDuration(45_400), '45s');
  });

  it('writes minutes with seconds, leaving out zero seconds', () => {
    assert.equal(formatDuration(60_000), '1m');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(59 * 60_000 + 5_000), '59m5s');
  });

  it('writes hours with minutes', () => {
    assert.equal(formatDuration(3_600_000), '1h0m');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(26 * 3_600_000 + 5 * 60_000), '26h5m');
  });

  it('carries rounded seconds into the minutes instead of writing 60s', () => {
    assert.equal(formatDuration(119_700), '2m');
    assert.equal(formatDuration(60_000 * 59 + 59_800), '1h0m');
  });

  it('round-trips through parseDuration for whole minutes and seconds', () => {
    for (const ms of [60_000, 90_000, 61_000, 600_000, 3_540_000 + 1_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms, `for ${ms}`);
    }
  });
});
