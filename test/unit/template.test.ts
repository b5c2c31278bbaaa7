import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RunContext, TemplateError, renderString, renderValue, scanValue } from '../../pipeline';

function context(overrides: Partial<RunContext> = {}): RunContext {
  return {
    run: {
      pipelineId: 'train_model',
      pipelineVersion: 'v1',
      runId: 'manual-42',
      logicalDate: '2026-03-01T06:30:00.000Z',
      params: { threshold: 0.9, model: 'resnet', epochs: 3, flags: ['a', 'b'] },
      runner: 'local',
    },
    xcom: {
      evaluate: { accuracy: 0.97, nested: { f1: 0.8 }, tag: 'ok' },
      count: 12,
      name: 'plain text',
      'prep.split': { rows: 100 },
      prep: { split: { rows: 'from prep' } },
      'prep.split.more': { rows: 7 },
      nothing: null,
      list: [1, 2, 3],
    },
    stepIds: ['evaluate', 'count', 'name', 'prep', 'prep.split', 'prep.split.more', 'nothing', 'list', 'skipped_step'],
    ...overrides,
  };
}

/** Asserts that rendering throws a TemplateError whose message matches `pattern`. */
function assertTemplateError(text: string, pattern: RegExp, ctx: RunContext = context()): void {
  assert.throws(
    () => renderString(text, ctx),
    (err: unknown) => {
      assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('renderString: built-in variables', () => {
  it('{{ ds }} is the date part of the logical date', () => {
    assert.equal(renderString('--date {{ ds }}', context()), '--date 2026-03-01');
  });

  it('{{ ds_nodash }} drops the dashes', () => {
    assert.equal(renderString('part-{{ ds_nodash }}.csv', context()), 'part-20260301.csv');
  });

  it('{{ logical_date }} and {{ ts }} are the full timestamp', () => {
    assert.equal(renderString('{{ logical_date }}', context()), '2026-03-01T06:30:00.000Z');
    assert.equal(renderString('{{ ts }}', context()), '2026-03-01T06:30:00.000Z');
  });

  it('{{ run_id }} and {{ pipeline_id }} name the run and pipeline', () => {
    assert.equal(renderString('{{ pipeline_id }}/{{ run_id }}', context()), 'train_model/manual-42');
  });

  it('does not need spaces inside the braces', () => {
    assert.equal(renderString('{{ds}}|{{run_id}}', context()), '2026-03-01|manual-42');
  });

  it('leaves text without templates unchanged', () => {
    assert.equal(renderString('python train.py --epochs 3', context()), 'python train.py --epochs 3');
    assert.equal(renderString('', context()), '');
  });
});

describe('renderString: params', () => {
  it('renders strings bare and numbers as their JSON text', () => {
    assert.equal(renderString('{{ params.model }}', context()), 'resnet');
    assert.equal(renderString('{{ params.threshold }}', context()), '0.9');
    assert.equal(renderString('--epochs={{ params.epochs }}', context()), '--epochs=3');
  });

  it('renders array params as JSON', () => {
    assert.equal(renderString('{{ params.flags }}', context()), '["a","b"]');
  });

  it('rejects a param that is not declared, naming it', () => {
    assertTemplateError('{{ params.missing }}', /unknown param 'missing'/);
  });
});

describe('renderString: xcom', () => {
  it('renders a whole object XCom as JSON text', () => {
    assert.equal(renderString('{{ xcom.evaluate }}', context()), '{"accuracy":0.97,"nested":{"f1":0.8},"tag":"ok"}');
  });

  it('renders scalar XComs as text', () => {
    assert.equal(renderString('{{ xcom.count }}', context()), '12');
    assert.equal(renderString('{{ xcom.name }}', context()), 'plain text');
    assert.equal(renderString('{{ xcom.nothing }}', context()), 'null');
    assert.equal(renderString('{{ xcom.list }}', context()), '[1,2,3]');
  });

  it('reads one key, and nested keys', () => {
    assert.equal(renderString('acc={{ xcom.evaluate.accuracy }}', context()), 'acc=0.97');
    assert.equal(renderString('{{ xcom.evaluate.tag }}', context()), 'ok');
    assert.equal(renderString('{{ xcom.evaluate.nested.f1 }}', context()), '0.8');
    assert.equal(renderString('{{ xcom.evaluate.nested }}', context()), '{"f1":0.8}');
  });

  it('resolves step ids with dots to the longest matching step', () => {
    // 'prep.split' exists as a step, so xcom.prep.split.rows reads its key, not prep's nested key.
    assert.equal(renderString('{{ xcom.prep.split.rows }}', context()), '100');
    assert.equal(renderString('{{ xcom.prep.split.more.rows }}', context()), '7');
    assert.equal(renderString('{{ xcom.prep.split }}', context()), '{"rows":100}');
  });

  it('falls back to the nested key when the longer step id does not exist', () => {
    const ctx = context({ stepIds: ['prep'] });
    assert.equal(renderString('{{ xcom.prep.split.rows }}', ctx), 'from prep');
  });

  it('uses default(...) when a step has no XCom', () => {
    assert.equal(renderString('{{ xcom.skipped_step | default("none") }}', context()), 'none');
    assert.equal(renderString("{{ xcom.skipped_step | default('single') }}", context()), 'single');
    assert.equal(renderString('{{ xcom.skipped_step | default(0) }}', context()), '0');
    assert.equal(renderString('{{ xcom.skipped_step | default(false) }}', context()), 'false');
    assert.equal(renderString('{{ xcom.skipped_step | default(null) }}', context()), 'null');
  });

  it('uses default(...) when a key is missing, but not when the value is there', () => {
    assert.equal(renderString('{{ xcom.evaluate.url | default("n/a") }}', context()), 'n/a');
    assert.equal(renderString('{{ xcom.evaluate.tag | default("n/a") }}', context()), 'ok');
  });

  it('rejects an xcom of a step the pipeline does not have, even with a default', () => {
    assertTemplateError('{{ xcom.ghost }}', /'xcom\.ghost' names no step/);
    assertTemplateError('{{ xcom.ghost | default("x") }}', /names no step/);
  });

  it('rejects a step that produced no XCom, naming the step', () => {
    assertTemplateError('{{ xcom.skipped_step }}', /step 'skipped_step' has no XCom/);
  });

  it('rejects a missing key, naming the step and the key path', () => {
    assertTemplateError('{{ xcom.evaluate.url }}', /XCom of step 'evaluate' has no key 'url'/);
    assertTemplateError('{{ xcom.evaluate.nested.recall }}', /has no key 'nested\.recall'/);
  });

  it('rejects keys into values that are not objects', () => {
    assertTemplateError('{{ xcom.count.value }}', /has no key 'value'/);
    assertTemplateError('{{ xcom.name.length }}', /has no key 'length'/);
    assertTemplateError('{{ xcom.list.0 }}', /has no key '0'/);
    assertTemplateError('{{ xcom.nothing.x }}', /has no key 'x'/);
  });

  it('does not read inherited object properties as keys', () => {
    assertTemplateError('{{ xcom.evaluate.constructor }}', /has no key 'constructor'/);
    assertTemplateError('{{ xcom.evaluate.toString }}', /has no key 'toString'/);
  });

  it('treats a step named like an Object.prototype member as having no XCom when it produced none', () => {
    const ctx = context({ stepIds: ['constructor'], xcom: {} });
    assertTemplateError('{{ xcom.constructor }}', /step 'constructor' has no XCom/, ctx);
    assert.equal(renderString('{{ xcom.constructor | default("x") }}', ctx), 'x');
  });
});

describe('renderString: errors', () => {
  it('rejects an unknown variable instead of rendering an empty string', () => {
    assertTemplateError('{{ nope }}', /unknown variable 'nope'/);
    assertTemplateError('a {{ dag_id }} b', /unknown variable 'dag_id'/);
  });

  it('rejects an unknown variable even with a default', () => {
    assertTemplateError('{{ nope | default("x") }}', /unknown variable 'nope'/);
  });

  it('rejects an unknown filter', () => {
    assertTemplateError('{{ ds | upper }}', /unknown filter 'upper'/);
    assertTemplateError('{{ ds | default(bare) }}', /unknown filter 'default\(bare\)'/);
  });

  it('rejects a template that is not a variable', () => {
    assertTemplateError('{{ }}', /is not a variable/);
    assertTemplateError('{{ 1 + 2 }}', /is not a variable/);
  });

  it('reports the first bad template in a string with several', () => {
    assertTemplateError('{{ ds }} {{ bad_one }} {{ bad_two }}', /bad_one/);
  });
});

describe('renderValue', () => {
  it('renders strings and resolves typed references anywhere in nested arrays and objects', () => {
    const value = {
      date: '{{ ds }}',
      whole: { $xcom: 'evaluate' },
      acc: { $xcom: 'evaluate', key: 'accuracy' },
      list: ['{{ params.model }}', { $xcom: 'count' }, [{ deep: { $xcom: 'prep.split', key: 'rows' } }]],
      n: 1,
      flag: true,
      none: null,
    };
    assert.deepEqual(renderValue(value, context()), {
      date: '2026-03-01',
      whole: { accuracy: 0.97, nested: { f1: 0.8 }, tag: 'ok' },
      acc: 0.97,
      list: ['resnet', 12, [{ deep: 100 }]],
      n: 1,
      flag: true,
      none: null,
    });
  });

  it('keeps the XCom type of a typed reference (no conversion to text)', () => {
    assert.equal(renderValue({ $xcom: 'count' }, context()), 12);
    assert.deepEqual(renderValue({ $xcom: 'list' }, context()), [1, 2, 3]);
  });

  it('does not change the value it was given', () => {
    const value = { a: ['{{ ds }}'] };
    renderValue(value, context());
    assert.deepEqual(value, { a: ['{{ ds }}'] });
  });

  it('throws for a reference to a step without XCom or a missing key', () => {
    assert.throws(() => renderValue({ x: { $xcom: 'skipped_step' } }, context()), TemplateError);
    assert.throws(() => renderValue([{ $xcom: 'evaluate', key: 'nope' }], context()), /has no key 'nope'/);
  });
});

describe('scanValue', () => {
  const scope = { stepIds: ['a', 'grp.b', 'c'], paramNames: ['lr'] };

  it('collects the steps read by templates and typed references', () => {
    const found = scanValue(
      {
        cmd: ['run', '--x={{ xcom.a.value }}', '--lr={{ params.lr }}', '{{ ds }}'],
        ref: { $xcom: 'grp.b', key: 'k' },
        deep: [{ again: { $xcom: 'a' } }],
        n: 3,
        nil: null,
      },
      scope,
    );
    assert.deepEqual([...found.xcomSteps].sort(), ['a', 'grp.b']);
    assert.deepEqual(found.problems, []);
  });

  it('reports each template problem with the text it came from', () => {
    const found = scanValue(['{{ nope }}', 'ok {{ ds }}', '{{ params.missing }}', '{{ xcom.ghost }}'], scope);
    assert.equal(found.problems.length, 3);
    assert.match(found.problems[0] ?? '', /in '\{\{ nope \}\}'.*unknown variable 'nope'/);
    assert.match(found.problems[1] ?? '', /unknown param 'missing'/);
    assert.match(found.problems[2] ?? '', /xcom\.ghost/);
    assert.equal(found.xcomSteps.size, 0);
  });

  it('reports a typed reference to a step that does not exist', () => {
    const found = scanValue({ ref: { $xcom: 'ghost' } }, scope);
    assert.deepEqual([...found.xcomSteps], []);
    assert.equal(found.problems.length, 1);
    assert.match(found.problems[0] ?? '', /'ghost', which is no step/);
  });

  it('adds to the collection it is given', () => {
    const found = { xcomSteps: new Set(['c']), problems: ['earlier'] };
    scanValue('{{ xcom.a }}', scope, found);
    assert.deepEqual([...found.xcomSteps].sort(), ['a', 'c']);
    assert.deepEqual(found.problems, ['earlier']);
  });
});
