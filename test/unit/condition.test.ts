import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RunContext, TemplateError, conditionSteps, evaluateCondition, parseCondition } from '../../pipeline';

const ctx: RunContext = {
  run: {
    pipelineId: 'p',
    pipelineVersion: 'v1',
    runId: 'r1',
    logicalDate: '2026-03-01T00:00:00.000Z',
    params: { threshold: 0.9, env: 'prod', enabled: true, limit: 10 },
    runner: 'local',
  },
  xcom: {
    evaluate_model: { accuracy: 0.95, should_deploy: true, label: 'good', zero: 0, empty: '', list: [], obj: {}, full: [1] },
    'grp.check': { ok: false, count: 3 },
    counter: 5,
  },
  stepIds: ['evaluate_model', 'grp.check', 'counter', 'skipped'],
};
const scope = { stepIds: ctx.stepIds, paramNames: Object.keys(ctx.run.params) };

function holds(source: string): boolean {
  return evaluateCondition(parseCondition(source, scope), ctx);
}

function assertParseError(source: string, pattern: RegExp): void {
  assert.throws(
    () => parseCondition(source, scope),
    (err: unknown) => {
      assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('conditions: comparisons', () => {
  const cases: [string, boolean][] = [
    ['1 == 1', true],
    ['1 == 2', false],
    ['1 != 2', true],
    ['1 != 1', false],
    ['2 > 1', true],
    ['1 > 1', false],
    ['1 >= 1', true],
    ['0 >= 1', false],
    ['1 < 2', true],
    ['2 < 2', false],
    ['2 <= 2', true],
    ['3 <= 2', false],
    ['-1 < 0', true],
    ['1.5e2 == 150', true],
    ["'abc' < 'abd'", true],
    ['"b" > "a"', true],
    ["'x' == \"x\"", true],
    ['true == true', true],
    ['null == null', true],
    ['null != false', true],
    // Equality never coerces: a number is not equal to its text.
    ["1 == '1'", false],
    ["1 != '1'", true],
  ];
  for (const [source, expected] of cases) {
    it(`${source} is ${expected}`, () => {
      assert.equal(holds(source), expected);
    });
  }

  it('compares without spaces around operators', () => {
    assert.equal(holds('xcom.counter>=5'), true);
    assert.equal(holds('xcom.counter<5'), false);
  });
});

describe('conditions: boolean operators', () => {
  const cases: [string, boolean][] = [
    ['true && true', true],
    ['true && false', false],
    ['false || true', true],
    ['false || false', false],
    ['!true', false],
    ['!false', true],
    ['!!true', true],
    ['true and false', false],
    ['false or true', true],
    ['not false', true],
    ['not not false', false],
    // && binds tighter than ||.
    ['true || false && false', true],
    ['(true || false) && false', false],
    ['false and true or true', true],
    ['false and (true or true)', false],
    ['not (1 > 2)', true],
    ['not 1 > 2', true],
    ['((1 < 2))', true],
    ['1 < 2 && 3 > 2 && not (2 == 3)', true],
  ];
  for (const [source, expected] of cases) {
    it(`${source} is ${expected}`, () => {
      assert.equal(holds(source), expected);
    });
  }

  it('short-circuits: the right side is not read when the left decides', () => {
    // xcom.skipped has no XCom, so reading it would throw.
    assert.equal(holds('false && xcom.skipped'), false);
    assert.equal(holds('true || xcom.skipped'), true);
    assert.throws(() => holds('true && xcom.skipped'), /has no XCom/);
  });
});

describe('conditions: variables', () => {
  it('reads params and xcom keys', () => {
    assert.equal(holds('xcom.evaluate_model.accuracy >= params.threshold'), true);
    assert.equal(holds('xcom.evaluate_model.accuracy < params.threshold'), false);
    assert.equal(holds("params.env == 'prod'"), true);
    assert.equal(holds("params.env == 'dev'"), false);
    assert.equal(holds('xcom.counter == 5'), true);
  });

  it('reads step ids with dots', () => {
    assert.equal(holds('xcom.grp.check.count == 3'), true);
    assert.equal(holds('not xcom.grp.check.ok'), true);
  });

  it('reads built-in variables', () => {
    assert.equal(holds("ds == '2026-03-01'"), true);
    assert.equal(holds("run_id != 'r1'"), false);
  });

  it('takes a bare variable by its truthiness', () => {
    assert.equal(holds('xcom.evaluate_model.should_deploy'), true);
    assert.equal(holds('params.enabled'), true);
    assert.equal(holds('xcom.evaluate_model.zero'), false);
    assert.equal(holds('xcom.evaluate_model.empty'), false);
    assert.equal(holds('xcom.evaluate_model.label'), true);
    assert.equal(holds('xcom.grp.check.ok'), false);
  });

  it('treats empty arrays and objects as false and non-empty ones as true', () => {
    assert.equal(holds('xcom.evaluate_model.list'), false);
    assert.equal(holds('xcom.evaluate_model.obj'), false);
    assert.equal(holds('xcom.evaluate_model.full'), true);
    assert.equal(holds('xcom.evaluate_model'), true);
  });

  it('takes bare literals by their truthiness', () => {
    assert.equal(holds('0'), false);
    assert.equal(holds('1'), true);
    assert.equal(holds("''"), false);
    assert.equal(holds("'x'"), true);
    assert.equal(holds('null'), false);
  });

  it('lists the steps whose XCom it reads', () => {
    const parsed = parseCondition('xcom.evaluate_model.accuracy > 0.5 && (not xcom.grp.check.ok || params.enabled)', scope);
    assert.deepEqual(conditionSteps(parsed).sort(), ['evaluate_model', 'grp.check']);
    assert.deepEqual(conditionSteps(parseCondition('params.limit > 3', scope)), []);
  });

  it('fails at evaluation when a key is missing', () => {
    assert.throws(() => holds('xcom.evaluate_model.recall > 0.5'), /has no key 'recall'/);
  });
});

describe('conditions: errors', () => {
  it('rejects unknown variables when parsing', () => {
    assertParseError('nope == 1', /unknown variable 'nope'/);
    assertParseError('params.missing > 1', /unknown param 'missing'/);
    assertParseError('xcom.ghost.accuracy > 1', /names no step/);
  });

  it('rejects comparing a number with a string, in either order', () => {
    assert.throws(() => holds("xcom.counter > 'five'"), (err: unknown) => err instanceof TemplateError && /cannot compare/.test(err.message));
    assert.throws(() => holds("'5' <= 5"), /both sides must be numbers or both strings/);
  });

  it('rejects ordering of booleans and null', () => {
    assert.throws(() => holds('true > false'), TemplateError);
    assert.throws(() => holds('null < 1'), TemplateError);
  });

  const malformed: [string, RegExp][] = [
    ['', /ends too early/],
    ['   ', /ends too early/],
    ['1 ==', /ends too early/],
    ['(1 == 1', /ends too early/],
    ['(1 == 1 2', /missing a '\)'/],
    ['1 == 1)', /unexpected '\)'/],
    ['1 1', /unexpected '1'/],
    ['1 < 2 < 3', /unexpected '<'/],
    ['1 = 1', /cannot read condition/],
    ['true & false', /cannot read condition/],
    ['true | false', /cannot read condition/],
    ["'unterminated", /cannot read condition/],
    ['&& true', /unexpected '&&'/],
    ['true &&', /ends too early/],
    ['== 1', /unexpected '=='/],
    ['1 == not 1', /unknown variable 'not'/],
  ];
  for (const [source, pattern] of malformed) {
    it(`rejects malformed ${JSON.stringify(source)}`, () => {
      assertParseError(source, pattern);
    });
  }
});
