import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '../../../pipeline';
import { ANNOTATIONS, LABELS, identityKey as identityKeyOf, labelValue, podLabels as podLabelsOf, podName as podNameOf, runSelector } from '../../../activities/kubernetes/naming';
import { type FlatIdentity as PodIdentity, nested } from '../../support/identity';

const podName = (id: PodIdentity): string => podNameOf(nested(id));
const podLabels = (id: PodIdentity): Record<string, string> => podLabelsOf(nested(id));
const identityKey = (id: PodIdentity): string => identityKeyOf(nested(id));

/** RFC 1123 label, as Kubernetes checks pod names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value: empty, or up to 63 of [A-Za-z0-9._-] with alphanumerics at both ends. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function assertDnsLabel(name: string, context: unknown): void {
  assert.ok(name.length >= 1 && name.length <= 63, `length ${name.length} of ${JSON.stringify(name)} for ${JSON.stringify(context)}`);
  assert.match(name, DNS_LABEL, `for ${JSON.stringify(context)}`);
}

function assertLabelValue(value: string, context: unknown): void {
  assert.ok(value.length <= 63, `length ${value.length} of ${JSON.stringify(value)} for ${JSON.stringify(context)}`);
  assert.match(value, LABEL_VALUE, `for ${JSON.stringify(context)}`);
}

/** Deterministic pseudo-random numbers, so a failing case can be replayed. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Text mixing ASCII (punctuation and dots included), Latin-1, Greek, CJK, emoji and control characters. */
function randomText(next: () => number, maxLength: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x2d, 0x2e],
    [0x5f, 0x5f],
    [0x30, 0x39],
    [0x61, 0x7a],
    [0x41, 0x5a],
    [0x00, 0x1f],
    [0xc0, 0x17f],
    [0x370, 0x3ff],
    [0x4e00, 0x9fff],
    [0x1f300, 0x1faff],
  ];
  const length = Math.floor(next() * (maxLength + 1));
  let text = '';
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[Math.floor(next() * ranges.length)] ?? [0x61, 0x7a];
    text += String.fromCodePoint(low + Math.floor(next() * (high - low + 1)));
  }
  return text;
}

const base: PodIdentity = { pipelineId: 'ml_training', runId: 'manual__2024-05-01T00:00:00+00:00', stepId: 'train_model', attempt: 1 };

describe('podName', () => {
  it('is the same for the same identity, however the object is built', () => {
    const again: PodIdentity = { attempt: 1, stepId: 'train_model', runId: 'manual__2024-05-01T00:00:00+00:00', pipelineId: 'ml_training' };
    assert.equal(podName(base), podName(again));
    assert.equal(podName({ ...base, mapIndex: 3 }), podName({ ...base, mapIndex: 3 }));
  });

  it('has the documented shape: step slug, 10 hex digits of the identity hash, then the try', () => {
    const hash = sha256Hex(identityKey(base)).slice(0, 10);
    assert.equal(podName(base), `train-model-${hash}-t1`);
  });

  it('puts the map index before the try', () => {
    const id = { ...base, mapIndex: 7, attempt: 2 };
    const hash = sha256Hex(identityKey(id)).slice(0, 10);
    assert.equal(podName(id), `train-model-${hash}-m7-t2`);
  });

  it('changes when any one part of the identity changes', () => {
    const variants: PodIdentity[] = [
      { ...base, pipelineId: 'ml_training_v2' },
      { ...base, runId: 'manual__2024-05-01T00:00:01+00:00' },
      { ...base, stepId: 'train_model2' },
      { ...base, stepId: 'group.train_model' },
      { ...base, attempt: 2 },
      { ...base, mapIndex: 0 },
      { ...base, mapIndex: 1 },
    ];
    const names = new Set([podName(base), ...variants.map(podName)]);
    assert.equal(names.size, variants.length + 1);
  });

  it('tells apart steps whose ids slug to the same text', () => {
    const a = podName({ ...base, stepId: 'train_model' });
    const b = podName({ ...base, stepId: 'train-model' });
    const c = podName({ ...base, stepId: 'TRAIN.MODEL' });
    const d = podName({ ...base, stepId: 'other.train_model' });
    assert.equal(new Set([a, b, c, d]).size, 4);
  });

  it('tells apart map index 0 from a plain step and from a different index', () => {
    assert.notEqual(podName({ ...base, mapIndex: 0 }), podName(base));
    assert.notEqual(podName({ ...base, mapIndex: 10 }), podName({ ...base, mapIndex: 1 }));
  });

  it('uses only the last segment of a grouped step id', () => {
    const name = podName({ ...base, stepId: 'data_preparation.validate_data' });
    assert.ok(name.startsWith('validate-data-'), name);
    assert.ok(!name.includes('preparation'), name);
    assertDnsLabel(name, 'grouped');
  });

  it('falls back to "step" when the step id has nothing usable', () => {
    for (const stepId of ['', '___', '训练', 'group.', '..', '🚀🚀', '-']) {
      const name = podName({ ...base, stepId });
      assert.match(name, /^step-[0-9a-f]{10}-t1$/, `${JSON.stringify(stepId)} -> ${name}`);
    }
  });

  it('stays a DNS label for very long step and run ids', () => {
    const longStep = `${'a'.repeat(40)}_${'b'.repeat(40)}_${'c'.repeat(100)}`;
    const longRun = `scheduled__${'x'.repeat(500)}`;
    for (const id of [
      { ...base, stepId: longStep },
      { ...base, stepId: longStep, runId: longRun },
      { ...base, stepId: longStep, mapIndex: 123_456_789, attempt: 99 },
      { ...base, stepId: `${'g'.repeat(300)}.${'s'.repeat(300)}`, mapIndex: 0 },
      { ...base, stepId: `${'a'.repeat(48)}_${'b'.repeat(30)}` },
      { ...base, pipelineId: 'p'.repeat(1000), runId: longRun },
    ]) {
      const name = podName(id);
      assertDnsLabel(name, id);
      assert.match(name, /-[0-9a-f]{10}(-m\d+)?-t\d+$/, name);
    }
  });

  it('never ends the slug with a dash when the cut lands on one', () => {
    // Slug budget with no map index and a one-digit try: 63 - 10 - 3 - 2 = 48 characters.
    for (let cut = 40; cut <= 56; cut++) {
      const stepId = `${'a'.repeat(cut)}__${'b'.repeat(20)}`;
      for (const id of [{ ...base, stepId }, { ...base, stepId, mapIndex: 5 }, { ...base, stepId, mapIndex: 12345, attempt: 10 }]) {
        const name = podName(id);
        assertDnsLabel(name, id);
        assert.ok(!name.includes('--'), name);
      }
    }
  });

  it('keeps the try and map index readable at the end of the name', () => {
    const name = podName({ ...base, stepId: 'x'.repeat(200), mapIndex: 42, attempt: 3 });
    assert.ok(name.endsWith('-m42-t3'), name);
  });

  it('is a DNS label for many generated identities, and unique for distinct ones', () => {
    const next = randomSource(20240501);
    const byKey = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const id: PodIdentity = {
        pipelineId: randomText(next, 80),
        runId: randomText(next, next() < 0.1 ? 400 : 60),
        stepId: Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomText(next, next() < 0.1 ? 150 : 30)).join('.'),
        attempt: 1 + Math.floor(next() * 50),
        ...(next() < 0.5 ? { mapIndex: Math.floor(next() * 100_000) } : {}),
      };
      const name = podName(id);
      assertDnsLabel(name, id);
      assert.equal(podName(id), name);
      byKey.set(identityKey(id), name);
    }
    assert.equal(new Set(byKey.values()).size, byKey.size);
  });
});

describe('identityKey', () => {
  it('lists pipeline, run, step, map index and try in order', () => {
    assert.deepEqual(JSON.parse(identityKey({ ...base, mapIndex: 4, attempt: 2 })), ['ml_training', base.runId, 'train_model', 4, 2]);
  });

  it('records a plain step as a null map index, unlike index 0', () => {
    assert.deepEqual(JSON.parse(identityKey(base)), ['ml_training', base.runId, 'train_model', null, 1]);
    assert.notEqual(identityKey(base), identityKey({ ...base, mapIndex: 0 }));
  });

  it('keeps ids unsanitised and unambiguous', () => {
    const id: PodIdentity = { pipelineId: 'a","b', runId: 'Run ID/ü', stepId: 'Group.Step', attempt: 1 };
    assert.deepEqual(JSON.parse(identityKey(id)), ['a","b', 'Run ID/ü', 'Group.Step', null, 1]);
    assert.notEqual(identityKey({ ...base, pipelineId: 'a', runId: 'b,c' }), identityKey({ ...base, pipelineId: 'a,b', runId: 'c' }));
  });
});

describe('labelValue', () => {
  it('keeps a value that is already valid', () => {
    for (const text of ['ml_training', 'Train.Model-2', 'a', '0', 'A'.repeat(63)]) assert.equal(labelValue(text), text);
  });

  it('replaces each run of invalid characters with one underscore', () => {
    assert.equal(labelValue('manual__2024-05-01T00:00:00+00:00'), 'manual__2024-05-01T00_00_00_00_00');
    assert.equal(labelValue('a  /  b'), 'a_b');
    assert.equal(labelValue('über straße'), 'ber_stra_e');
  });

  it('cuts to 63 characters', () => {
    assert.equal(labelValue('x'.repeat(200)), 'x'.repeat(63));
  });

  it('trims non-alphanumerics from both ends, also after the cut', () => {
    assert.equal(labelValue('--._abc._--'), 'abc');
    assert.equal(labelValue(`${'a'.repeat(62)}-bcd`), 'a'.repeat(62));
    assert.equal(labelValue(`${'a'.repeat(61)}.._`), 'a'.repeat(61));
  });

  it('may be empty', () => {
    for (const text of ['', '---', '...', '🚀', '训练', ' ']) assert.equal(labelValue(text), '', JSON.stringify(text));
  });

  it('is always a valid label value for generated text', () => {
    const next = randomSource(7);
    for (let i = 0; i < 5000; i++) {
      const text = randomText(next, next() < 0.2 ? 200 : 40);
      const value = labelValue(text);
      assertLabelValue(value, text);
      assert.equal(labelValue(value), value, `idempotent for ${JSON.stringify(text)}`);
    }
  });
});

describe('podLabels', () => {
  it('carries manager, pipeline, run, step and try, without a map index for a plain step', () => {
    assert.deepEqual(podLabels(base), {
      [LABELS.managedBy]: 'trainyard',
      [LABELS.pipeline]: 'ml_training',
      [LABELS.runId]: 'manual__2024-05-01T00_00_00_00_00',
      [LABELS.step]: 'train_model',
      [LABELS.attempt]: '1',
    });
  });

  it('adds the map index of a mapped step, 0 included', () => {
    assert.equal(podLabels({ ...base, mapIndex: 0 })[LABELS.mapIndex], '0');
    assert.equal(podLabels({ ...base, mapIndex: 17, attempt: 3 })[LABELS.mapIndex], '17');
    assert.equal(podLabels({ ...base, mapIndex: 17, attempt: 3 })[LABELS.attempt], '3');
  });

  it('keeps the full grouped step id (dots are allowed in label values)', () => {
    assert.equal(podLabels({ ...base, stepId: 'data_preparation.validate_data' })[LABELS.step], 'data_preparation.validate_data');
  });

  it('uses the well-known keys', () => {
    assert.equal(LABELS.managedBy, 'app.kubernetes.io/managed-by');
    assert.equal(ANNOTATIONS.identity, 'trainyard.io/identity');
    assert.deepEqual(Object.keys(podLabels({ ...base, mapIndex: 1 })).sort(), Object.values(LABELS).sort());
  });

  it('only ever holds valid label values', () => {
    const next = randomSource(99);
    for (let i = 0; i < 1000; i++) {
      const id: PodIdentity = { pipelineId: randomText(next, 100), runId: randomText(next, 100), stepId: randomText(next, 100), attempt: 1 + Math.floor(next() * 9), mapIndex: Math.floor(next() * 1000) };
      for (const value of Object.values(podLabels(id))) assertLabelValue(value, id);
    }
  });
});

describe('runSelector', () => {
  it('selects Trainyard pods of one run, with the run id as podLabels writes it', () => {
    const selector = runSelector(base.runId);
    assert.equal(selector, 'app.kubernetes.io/managed-by=trainyard,trainyard.io/run-id=manual__2024-05-01T00_00_00_00_00');
    const labels = podLabels({ ...base, mapIndex: 2 });
    for (const term of selector.split(',')) {
      const [key, value] = term.split('=');
      assert.equal(labels[key ?? ''], value, term);
    }
  });

  it('matches the run label for long and odd run ids too', () => {
    for (const runId of ['r'.repeat(300), 'run with spaces & symbols!', '__x__']) {
      assert.equal(runSelector(runId), `${LABELS.managedBy}=trainyard,${LABELS.runId}=${podLabels({ ...base, runId })[LABELS.runId]}`);
    }
  });
});
