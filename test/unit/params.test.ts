import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PipelineSpec, resolveParams } from '../../pipeline';

const spec: PipelineSpec = {
  id: 'train',
  params: {
    lr: { default: 0.01 },
    model: { default: 'resnet' },
    epochs: { default: 3 },
    dry_run: { default: false },
    layers: { default: [64, 32] },
    extra: { default: { a: 1 } },
    anything: { default: null },
  },
  steps: [],
};

describe('resolveParams', () => {
  it('returns the defaults when nothing is given', () => {
    assert.deepEqual(resolveParams(spec), {
      params: { lr: 0.01, model: 'resnet', epochs: 3, dry_run: false, layers: [64, 32], extra: { a: 1 }, anything: null },
      problems: [],
    });
    assert.deepEqual(resolveParams(spec, {}).problems, []);
  });

  it('lets given values of the same type override the defaults', () => {
    const { params, problems } = resolveParams(spec, { lr: 0.1, model: 'vit', dry_run: true, layers: [], extra: { b: 2 } });
    assert.deepEqual(problems, []);
    assert.deepEqual(params, { lr: 0.1, model: 'vit', epochs: 3, dry_run: true, layers: [], extra: { b: 2 }, anything: null });
  });

  it('does not change the spec defaults', () => {
    resolveParams(spec, { lr: 0.5 });
    assert.equal(spec.params.lr?.default, 0.01);
  });

  it('accepts any type for a param whose default is null', () => {
    for (const value of [1, 'x', true, [1], { k: 'v' }, null]) {
      const { params, problems } = resolveParams(spec, { anything: value });
      assert.deepEqual(problems, []);
      assert.deepEqual(params.anything, value);
    }
  });

  it('reports an unknown param, naming it and the declared ones', () => {
    const { params, problems } = resolveParams(spec, { learning_rate: 0.1 });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^params\.learning_rate is not a param of 'train'; declared: lr, model, epochs/);
    assert.equal('learning_rate' in params, false);
  });

  it('says (none) when the pipeline declares no params', () => {
    const { problems } = resolveParams({ id: 'empty', params: {}, steps: [] }, { x: 1 });
    assert.deepEqual(problems, ["params.x is not a param of 'empty'; declared: (none)"]);
  });

  it('does not take inherited object members for declared params', () => {
    const { params, problems } = resolveParams(spec, { toString: 'x', constructor: 1 });
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^params\.toString is not a param of 'train'/);
    assert.match(problems[1] ?? '', /^params\.constructor is not a param of 'train'/);
    assert.equal(Object.hasOwn(params, 'toString'), false);
  });

  const wrong: [string, unknown, RegExp][] = [
    ['lr', '0.1', /^params\.lr must be a number like its default 0\.01, not "0\.1"$/],
    ['model', 5, /^params\.model must be a string like its default "resnet", not 5$/],
    ['dry_run', 'yes', /^params\.dry_run must be a boolean/],
    ['layers', { 0: 64 }, /^params\.layers must be a array/],
    ['extra', [1], /^params\.extra must be a object/],
    ['epochs', null, /^params\.epochs must be a number like its default 3, not null$/],
  ];
  for (const [name, value, pattern] of wrong) {
    it(`reports params.${name} given as ${JSON.stringify(value)}, keeping the default`, () => {
      const { params, problems } = resolveParams(spec, { [name]: value });
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', pattern);
      assert.deepEqual(params[name], spec.params[name]?.default);
    });
  }

  it('reports every problem, and still applies the good values', () => {
    const { params, problems } = resolveParams(spec, { lr: 'fast', nope: 1, epochs: 10 });
    assert.equal(problems.length, 2);
    assert.ok(problems.some((p) => p.startsWith('params.lr ')));
    assert.ok(problems.some((p) => p.startsWith('params.nope ')));
    assert.equal(params.epochs, 10);
    assert.equal(params.lr, 0.01);
  });
});
