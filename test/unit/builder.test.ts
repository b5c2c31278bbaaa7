import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PipelineBuilder, type StepSpec, defineTask, pipeline, specVersion } from '../../pipeline';

const load = defineTask('builder_test.load', (_args: { path: string }) => ({ rows: 10, path: 'x' }));
const summarise = defineTask('builder_test.summarise', (args: { rows: number; all: { rows: number; path: string } }) => args.rows);
const pick = defineTask('builder_test.pick', (_args: { n: number }): string[] => ['yes']);

function byId(steps: readonly StepSpec[], id: string): StepSpec {
  const found = steps.find((s) => s.id === id);
  assert.ok(found, `no step '${id}' in ${steps.map((s) => s.id).join(', ')}`);
  return found;
}

describe('builder: ids and groups', () => {
  it('prefixes ids with the group name and records the group', () => {
    const { spec } = pipeline({ id: 'ml' }, (p) => {
      p.group('data_preparation', (g) => {
        g.process('validate_data', { command: ['python', 'validate.py'] });
      });
      p.process('top', { command: ['true'] });
    });
    assert.deepEqual(spec.steps.map((s) => s.id), ['data_preparation.validate_data', 'top']);
    assert.equal(byId(spec.steps, 'data_preparation.validate_data').group, 'data_preparation');
    assert.equal('group' in byId(spec.steps, 'top'), false);
  });

  it('nests group prefixes', () => {
    const { spec } = pipeline({ id: 'ml' }, (p) => {
      p.group('outer', (o) => {
        o.process('a', { command: ['true'] });
        o.group('inner', (i) => {
          i.process('b', { command: ['true'] });
          i.group('deepest', (d) => d.process('c', { command: ['true'] }));
        });
      });
    });
    assert.deepEqual(spec.steps.map((s) => [s.id, s.group]), [
      ['outer.a', 'outer'],
      ['outer.inner.b', 'outer.inner'],
      ['outer.inner.deepest.c', 'outer.inner.deepest'],
    ]);
  });

  it('returns a group handle carrying what the group function returned, with handles carrying full ids', () => {
    pipeline({ id: 'ml' }, (p) => {
      const group = p.group('prep', (g) => g.process('split', { command: ['true'] }));
      assert.equal(group.group, 'prep');
      const handle = group.result;
      assert.equal(handle.id, 'prep.split');
      assert.deepEqual(handle.output, { $xcom: 'prep.split' });
      assert.deepEqual(handle.get('rows' as never), { $xcom: 'prep.split', key: 'rows' });
    });
  });
});

describe('builder: dependencies', () => {
  it('infers dependencies from typed references, whole outputs and single keys', () => {
    const { spec } = pipeline({ id: 'etl' }, (p) => {
      const a = p.task('load', load, { path: '/data' });
      const b = p.task('load_more', load, { path: '/more' });
      p.task('stats', summarise, { rows: a.get('rows'), all: b.output });
    });
    assert.deepEqual(byId(spec.steps, 'load').upstream, []);
    assert.deepEqual([...byId(spec.steps, 'stats').upstream].sort(), ['load', 'load_more']);
    assert.deepEqual(byId(spec.steps, 'stats').config, {
      fn: 'builder_test.summarise',
      args: { rows: { $xcom: 'load', key: 'rows' }, all: { $xcom: 'load_more' } },
    });
  });

  it('finds references nested in arrays and objects of any config', () => {
    const { spec } = pipeline({ id: 'etl' }, (p) => {
      const a = p.process('a', { command: ['true'] });
      const b = p.process('b', { command: ['true'] });
      p.pod('c', { image: 'i', cmds: ['x'], podTemplate: { deep: [{ ref: a.get('k' as never) }, [b.output]] } });
    });
    assert.deepEqual([...byId(spec.steps, 'c').upstream].sort(), ['a', 'b']);
  });

  it('adds explicit after, by handle and by full id, to inferred ones without duplicates', () => {
    const { spec } = pipeline({ id: 'etl' }, (p) => {
      const a = p.task('a', load, { path: '/a' });
      p.group('g', (g) => g.process('b', { command: ['true'] }));
      p.process('c', { command: ['true'] });
      p.task('d', summarise, { rows: a.get('rows'), all: a.output }, { after: [a, 'g.b', 'c', 'c'] });
    });
    assert.deepEqual([...byId(spec.steps, 'd').upstream].sort(), ['a', 'c', 'g.b']);
  });

  it('does not make a step depend on anything it does not reference', () => {
    const { spec } = pipeline({ id: 'etl' }, (p) => {
      p.process('a', { command: ['true'] });
      p.process('b', { command: ['true'] });
    });
    assert.deepEqual(byId(spec.steps, 'b').upstream, []);
  });

  it('makes a branch target depend on the branch, and the branch on what its conditions read when given after', () => {
    const { spec } = pipeline({ id: 'br', params: { n: 1 } }, (p) => {
      const score = p.task('score', load, { path: '/x' });
      const choose = p.branch('choose', { cases: [{ if: 'xcom.score.rows > params.n', then: 'yes' }], otherwise: 'no' }, { after: [score] });
      p.process('yes', { command: ['true'] }, { after: [choose] });
      p.process('no', { command: ['true'] }, { after: [choose] });
    });
    assert.deepEqual(byId(spec.steps, 'choose').upstream, ['score']);
    assert.equal(byId(spec.steps, 'choose').kind, 'branch');
    assert.deepEqual(byId(spec.steps, 'yes').upstream, ['choose']);
  });
});

describe('builder: typed references in container steps', () => {
  it('ref() renders to the XCom template and makes the step depend on the referenced one, in arguments, env values and cmds', () => {
    const { spec } = pipeline({ id: 'refs' }, (p) => {
      const model = p.task('load', load, { path: '/m' });
      const other = p.process('other', { command: ['true'] });
      const report = p.process('report', { command: ['true'] });
      p.pod('serve', {
        image: 'serve:1',
        cmds: ['serve', report.ref()],
        arguments: ['--path', model.ref('path'), '--rows=' + model.ref('rows')],
        env: [{ name: 'FROM', value: other.ref() }],
      });
      p.process('local', { command: ['echo', model.ref('rows')], env: { ROWS: model.ref('rows') } });
    });
    const serve = byId(spec.steps, 'serve');
    assert.deepEqual([...serve.upstream].sort(), ['load', 'other', 'report']);
    assert.deepEqual(serve.config, {
      image: 'serve:1',
      cmds: ['serve', '{{ xcom.report }}'],
      arguments: ['--path', '{{ xcom.load.path }}', '--rows={{ xcom.load.rows }}'],
      env: [{ name: 'FROM', value: '{{ xcom.other }}' }],
      scheduleTimeout: '5m', startupTimeout: '5m', getLogs: true, onFinishAction: 'delete_pod', xcom: true,
    });
    assert.deepEqual(byId(spec.steps, 'local').upstream, ['load']);
  });

  it('checks the key of a typed output at compile time, and allows any key of an untyped one', () => {
    pipeline({ id: 'keys' }, (p) => {
      const typed = p.task('load', load, { path: '/m' });
      const untyped = p.process('raw', { command: ['true'] });
      // @ts-expect-error 'size' is no key of load's output ({ rows, path })
      typed.ref('size');
      // @ts-expect-error the same check for get
      typed.get('size');
      assert.equal(typed.ref('rows'), '{{ xcom.load.rows }}');
      assert.equal(untyped.ref('anything'), '{{ xcom.raw.anything }}');
    });
  });

  it('a plain template string with the same XCom adds no dependency: the validator still asks for after', () => {
    assert.throws(
      () =>
        pipeline({ id: 'strings' }, (p) => {
          p.process('a', { command: ['true'] });
          p.process('b', { command: ['echo', '{{ xcom.a }}'] });
        }),
      /step 'b': reads XCom of 'a', which is not upstream of it; add 'a' to its after list/,
    );
  });
});

describe('builder: group handles', () => {
  it('after: [group] waits for every leaf of the group, nested groups included', () => {
    const { spec } = pipeline({ id: 'groups' }, (p) => {
      const prep = p.group('prep', (g) => {
        const a = g.process('a', { command: ['true'] });
        g.process('b', { command: ['true'] }, { after: [a] });
        g.process('c', { command: ['true'] });
        g.group('inner', (i) => i.process('d', { command: ['true'] }));
      });
      p.process('train', { command: ['true'] }, { after: [prep] });
      p.process('by_name', { command: ['true'] }, { after: ['prep.inner'] });
    });
    assert.deepEqual([...byId(spec.steps, 'train').upstream].sort(), ['prep.b', 'prep.c', 'prep.inner.d']);
    assert.deepEqual(byId(spec.steps, 'by_name').upstream, ['prep.inner.d']);
  });

  it('a step id wins over a group of the same name in after', () => {
    const { spec } = pipeline({ id: 'names' }, (p) => {
      p.process('x', { command: ['true'] });
      p.group('x', (g) => g.process('y', { command: ['true'] }));
      p.process('z', { command: ['true'] }, { after: ['x'] });
    });
    assert.deepEqual(byId(spec.steps, 'z').upstream, ['x']);
  });
});

describe('builder: defaults', () => {
  it('applies the built-in defaults when nothing is given', () => {
    const { spec } = pipeline({ id: 'd' }, (p) => p.process('a', { command: ['true'] }));
    const a = byId(spec.steps, 'a');
    assert.deepEqual(a.retry, { retries: 0, retryDelay: '5m', backoffCoefficient: 1, maxRetryDelay: '1h' });
    assert.equal(a.timeout, '24h');
    assert.equal(a.heartbeatTimeout, '10s');
    assert.equal(a.triggerRule, 'all_success');
  });

  it('applies pipeline defaults to every step, in groups too, and lets a step override them', () => {
    const { spec } = pipeline(
      { id: 'd', defaults: { retries: 2, retryDelay: '30s', retryBackoff: 2, maxRetryDelay: '10m', timeout: '4h', heartbeatTimeout: '1m', triggerRule: 'all_done' } },
      (p) => {
        p.process('plain', { command: ['true'] });
        p.group('g', (g) => g.process('grouped', { command: ['true'] }));
        p.process('custom', { command: ['true'] }, { retries: 5, timeout: '1h', triggerRule: 'one_success' });
      },
    );
    for (const id of ['plain', 'g.grouped']) {
      const s = byId(spec.steps, id);
      assert.deepEqual(s.retry, { retries: 2, retryDelay: '30s', backoffCoefficient: 2, maxRetryDelay: '10m' }, id);
      assert.equal(s.timeout, '4h', id);
      assert.equal(s.heartbeatTimeout, '1m', id);
      assert.equal(s.triggerRule, 'all_done', id);
    }
    const custom = byId(spec.steps, 'custom');
    assert.deepEqual(custom.retry, { retries: 5, retryDelay: '30s', backoffCoefficient: 2, maxRetryDelay: '10m' });
    assert.equal(custom.timeout, '1h');
    assert.equal(custom.heartbeatTimeout, '1m');
    assert.equal(custom.triggerRule, 'one_success');
  });

  it('keeps a default when a step option is explicitly undefined', () => {
    const { spec } = pipeline({ id: 'd', defaults: { retries: 3 } }, (p) => p.process('a', { command: ['true'] }, { retries: undefined }));
    assert.equal(byId(spec.steps, 'a').retry.retries, 3);
  });

  it('lets a step set a default back to zero', () => {
    const { spec } = pipeline({ id: 'd', defaults: { retries: 3 } }, (p) => p.process('a', { command: ['true'] }, { retries: 0 }));
    assert.equal(byId(spec.steps, 'a').retry.retries, 0);
  });

  it('does not put the after list into the spec', () => {
    const { spec } = pipeline({ id: 'd' }, (p) => {
      p.process('a', { command: ['true'] });
      p.process('b', { command: ['true'] }, { after: ['a'] });
    });
    assert.equal('after' in byId(spec.steps, 'b'), false);
    assert.equal(JSON.stringify(spec).includes('"after"'), false);
  });
});

describe('builder: pipeline options and tasks', () => {
  it('copies pipeline options and wraps params as defaults', () => {
    const { spec } = pipeline(
      { id: 'opts', description: 'd', schedule: '@daily', maxActiveRuns: 2, tags: ['ml'], params: { lr: 0.1, name: 'x' } },
      (p) => p.process('a', { command: ['true'] }),
    );
    assert.equal(spec.id, 'opts');
    assert.equal(spec.description, 'd');
    assert.equal(spec.schedule, '@daily');
    assert.equal(spec.maxActiveRuns, 2);
    assert.deepEqual(spec.tags, ['ml']);
    assert.deepEqual(spec.params, { lr: { default: 0.1 }, name: { default: 'x' } });
  });

  it('leaves unset options out of the spec', () => {
    const { spec } = pipeline({ id: 'bare' }, (p) => p.process('a', { command: ['true'] }));
    assert.deepEqual(Object.keys(spec).sort(), ['id', 'params', 'steps']);
    assert.deepEqual(spec.params, {});
  });

  it('produces a spec that survives JSON unchanged', () => {
    const { spec } = pipeline({ id: 'json', params: { n: 1 } }, (p) => {
      const a = p.task('a', load, { path: '{{ ds }}' });
      p.task('b', summarise, { rows: a.get('rows'), all: a.output });
    });
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
  });

  it('collects task functions, including a branch function, by name', () => {
    const built = pipeline({ id: 'tasks' }, (p) => {
      const a = p.task('a', load, { path: '/a' });
      p.task('a_again', load, { path: '/b' });
      const b = p.task('b', summarise, { rows: a.get('rows'), all: a.output });
      const choose = p.branch('choose', { fn: pick, args: { n: 1 } }, { after: [b] });
      p.process('yes', { command: ['true'] }, { after: [choose] });
    });
    assert.deepEqual([...built.tasks.keys()].sort(), ['builder_test.load', 'builder_test.pick', 'builder_test.summarise']);
    assert.equal(built.tasks.get('builder_test.load'), load);
    assert.equal(built.tasks.get('builder_test.pick'), pick);
    assert.deepEqual(byId(built.spec.steps, 'choose').config, { fn: 'builder_test.pick', args: { n: 1 } });
    assert.deepEqual(byId(built.spec.steps, 'a').config, { fn: 'builder_test.load', args: { path: '/a' } });
  });

  it('has no tasks when the pipeline uses none', () => {
    assert.equal(pipeline({ id: 'none' }, (p) => p.process('a', { command: ['true'] })).tasks.size, 0);
  });
});

describe('builder: version', () => {
  const define = (command: string[]) => (p: PipelineBuilder) => {
    const a = p.process('a', { command, env: { A: '1', B: '2' }, cwd: '/w' });
    p.notify('b', { webhookEnv: 'HOOK', text: 'done' }, { after: [a] });
  };

  it('is 12 hex digits of the spec hash', () => {
    const built = pipeline({ id: 'v' }, define(['x']));
    assert.match(built.version, /^[0-9a-f]{12}$/);
    assert.equal(built.version, specVersion(built.spec));
  });

  it('is the same for the same definition', () => {
    assert.equal(pipeline({ id: 'v' }, define(['x'])).version, pipeline({ id: 'v' }, define(['x'])).version);
  });

  it('does not depend on the order of keys in configs, params or options', () => {
    const one = pipeline({ id: 'v', params: { a: 1, b: 2 }, defaults: { retries: 1, timeout: '1h' } }, (p) => {
      p.process('a', { command: ['x'], env: { A: '1', B: '2' }, cwd: '/w' });
    });
    const two = pipeline({ defaults: { timeout: '1h', retries: 1 }, params: { b: 2, a: 1 }, id: 'v' }, (p) => {
      p.process('a', { cwd: '/w', env: { B: '2', A: '1' }, command: ['x'] });
    });
    assert.equal(one.version, two.version);
  });

  it('changes when a step changes', () => {
    const base = pipeline({ id: 'v' }, define(['x'])).version;
    assert.notEqual(pipeline({ id: 'v' }, define(['y'])).version, base);
    assert.notEqual(pipeline({ id: 'v', defaults: { retries: 1 } }, define(['x'])).version, base);
    assert.notEqual(pipeline({ id: 'w' }, define(['x'])).version, base);
    assert.notEqual(pipeline({ id: 'v', params: { n: 1 } }, define(['x'])).version, base);
  });
});
