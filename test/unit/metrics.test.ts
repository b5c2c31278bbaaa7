import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METRIC_LINE_PREFIX, parseMetricLine } from '../../pipeline';

describe('parseMetricLine', () => {
  it('reads the step and the numeric metrics', () => {
    assert.equal(METRIC_LINE_PREFIX, 'trainyard.metric ');
    assert.deepEqual(parseMetricLine('trainyard.metric {"step": 3, "val_accuracy": 0.91, "loss": 0.3}'), {
      step: 3,
      values: { val_accuracy: 0.91, loss: 0.3 },
    });
  });

  it('tolerates leading whitespace and a trailing carriage return', () => {
    assert.deepEqual(parseMetricLine('   \ttrainyard.metric {"step": 0, "loss": 1e-3}\r'), { step: 0, values: { loss: 0.001 } });
  });

  it('is undefined for lines that are not metric lines', () => {
    for (const line of ['', 'epoch 3 loss 0.3', 'INFO trainyard.metric {"step": 1, "loss": 1}', 'trainyard.metric{"step": 1}', 'trainyard.metrics {"step": 1}']) {
      assert.equal(parseMetricLine(line), undefined, line);
    }
  });

  it('is undefined for malformed JSON, a non-object, or a missing or bad step', () => {
    for (const body of ['{"step": 1, "loss": }', '{"step": 1, "loss": NaN}', '[1, 2]', '3', 'null', '{"loss": 0.3}', '{"step": -1, "loss": 1}', '{"step": 1.5, "loss": 1}', '{"step": "3", "loss": 1}']) {
      assert.equal(parseMetricLine(METRIC_LINE_PREFIX + body), undefined, body);
    }
  });

  it('drops keys whose values are not numbers and keeps the rest', () => {
    assert.deepEqual(parseMetricLine('trainyard.metric {"step": 2, "acc": 0.5, "phase": "val", "ok": true, "nested": {"a": 1}, "none": null}'), {
      step: 2,
      values: { acc: 0.5 },
    });
    assert.deepEqual(parseMetricLine('trainyard.metric {"step": 2}'), { step: 2, values: {} });
  });

  it('keeps a metric named __proto__ as a plain key', () => {
    const parsed = parseMetricLine('trainyard.metric {"step": 1, "__proto__": 5}');
    assert.deepEqual(Object.keys(parsed?.values ?? {}), ['__proto__']);
    assert.equal(Object.getPrototypeOf(parsed?.values), Object.prototype);
  });
});
