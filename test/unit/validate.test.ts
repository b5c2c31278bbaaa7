import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type PipelineBuilder,
  type PipelineDraft,
  PipelineValidationError,
  type StepDraft,
  type ValidateOptions,
  defineTask,
  pipeline,
  pipelineProblems,
  validatePipeline,
} from '../../pipeline';

/** A valid process step; tests change one thing at a time. */
function step(id: string, changes: Partial<StepDraft> = {}): StepDraft {
  return {
    id,
    kind: 'process',
    upstream: [],
    triggerRule: 'all_success',
    retry: { retries: 0, retryDelay: '5m', backoffCoefficient: 1, maxRetryDelay: '1h' },
    timeout: '24h',
    heartbeatTimeout: '10s',
    config: { command: ['python', 'run.py'] },
    ...changes,
    // A partial step of any kind over a process step: the kind and config the test gave travel together.
  } as StepDraft;
}

function spec(steps: StepDraft[], changes: Partial<PipelineDraft> = {}): PipelineDraft {
  return { id: 'p', params: { threshold: { default: 0.5 } }, steps, ...changes };
}

/** The problems validatePipeline throws for a raw spec; fails the test if it does not throw. */
function problemsOf(raw: PipelineDraft, opts: ValidateOptions = {}): readonly string[] {
  try {
    validatePipeline(raw, opts);
  } catch (err) {
    assert.ok(err instanceof PipelineValidationError, `expected a PipelineValidationError, got ${String(err)}`);
    assert.equal(err.pipelineId, String(raw.id));
    assert.deepEqual(err.problems, pipelineProblems(raw, opts));
    return err.problems;
  }
  assert.fail('validatePipeline accepted an invalid spec');
}

/** The problems pipeline() throws for a builder definition; fails the test if it does not throw. */
function builderProblems(define: (p: PipelineBuilder) => void, options: Partial<Parameters<typeof pipeline>[0]> = {}): readonly string[] {
  try {
    pipeline({ id: 'built', params: { threshold: 0.5 }, ...options }, define);
  } catch (err) {
    assert.ok(err instanceof PipelineValidationError, `expected a PipelineValidationError, got ${String(err)}`);
    assert.equal(err.pipelineId, 'built');
    return err.problems;
  }
  assert.fail('pipeline() accepted an invalid definition');
}

/** Asserts exactly one problem, that it names the step, and that it matches. */
function assertOnly(problems: readonly string[], stepId: string, pattern: RegExp): void {
  assert.equal(problems.length, 1, `expected one problem, got:\n${problems.join('\n')}`);
  assert.ok(problems[0]?.includes(`step '${stepId}'`), `'${problems[0]}' does not name step '${stepId}'`);
  assert.match(problems[0] ?? '', pattern);
}

const cmd = { command: ['python', 'run.py'] };
const train = defineTask('validate_test.train', (_args: unknown) => ({ acc: 1 }));

describe('validatePipeline: a valid spec', () => {
  it('returns the spec compiled (a process step has no defaults to fill) and reports no problems', () => {
    const good = spec([step('a'), step('b', { upstream: ['a'] })], { schedule: '@daily', maxActiveRuns: 2 });
    assert.deepEqual(pipelineProblems(good), []);
    assert.deepEqual(validatePipeline(good), good);
  });

  it('fills every default of every kind once, and compiling a compiled spec gives it back unchanged', () => {
    const draft = spec([
      step('pod', { kind: 'pod', config: { image: 'trainer:1', cmds: ['python', 't.py'] } }),
      step('task', { kind: 'task', config: { fn: 'train' } }),
      step('s3', { kind: 'sensor.s3Key', config: { bucket: 'ml-data', key: 'k' } }),
      step('other', { kind: 'sensor.pipeline', config: { pipelineId: 'up', stepId: 'x' } }),
    ]);
    const compiled = validatePipeline(draft);
    const config = (id: string): unknown => compiled.steps.find((st) => st.id === id)?.config;
    assert.deepEqual(config('pod'), {
      image: 'trainer:1', cmds: ['python', 't.py'], scheduleTimeout: '5m', startupTimeout: '5m', getLogs: true, onFinishAction: 'delete_pod', xcom: true,
    });
    assert.deepEqual(config('task'), { fn: 'train', args: null });
    assert.deepEqual(config('s3'), {
      bucket: 'ml-data', key: 'k', mode: 'reschedule', pokeInterval: '60s', timeout: '7d', softFail: false, exponentialBackoff: false, maxPokeInterval: '1h',
      wildcard: false, minSize: 0, startRunOnEvent: false,
    });
    assert.deepEqual(config('other'), {
      pipelineId: 'up', stepId: 'x', mode: 'reschedule', pokeInterval: '60s', timeout: '7d', softFail: false, exponentialBackoff: false, maxPokeInterval: '1h',
      allowedStates: ['success'], failedStates: ['failed', 'upstream_failed'], executionDelta: '0s',
    });
    assert.deepEqual(validatePipeline(compiled), compiled);
  });

  it('checks every duration and enum of a pod step, naming the step and the field', () => {
    const problems = pipelineProblems(
      spec([
        step('train', {
          kind: 'pod',
          config: { image: 'trainer:1', cmds: ['python'], scheduleTimeout: '5 minutes', startupTimeout: '0s', onFinishAction: 'delete' as never, getLogs: 'yes' as never, xcom: 1 as never },
        }),
      ]),
    );
    assert.deepEqual(problems, [
      `step 'train': scheduleTimeout '5 minutes' is not a positive duration; write it like '30s', '5m', '4h' or '1h30m'`,
      `step 'train': startupTimeout '0s' is not a positive duration; write it like '30s', '5m', '4h' or '1h30m'`,
      `step 'train': onFinishAction 'delete' must be one of 'delete_pod', 'delete_succeeded_pod', 'keep_pod'`,
      `step 'train': getLogs must be true or false`,
      `step 'train': xcom must be true or false`,
    ]);
  });

  it('checks the shapes of a pod step\'s manifest fields and a process step\'s env', () => {
    const problems = pipelineProblems(
      spec([
        step('train', {
          kind: 'pod',
          config: { image: 'trainer:1', cmds: ['python'], tolerations: {} as never, nodeSelector: { pool: 1 } as never, imagePullSecrets: 'regcred' as never, namespace: '' },
        }),
        step('proc', { config: { command: ['run'], env: { 'BAD-NAME': 'x', GOOD: 2 as never } } }),
      ]),
    );
    assert.deepEqual(problems, [
      `step 'train': tolerations must be a list of objects, as in a pod manifest`,
      `step 'train': nodeSelector must be an object of string values, e.g. { 'node-pool': 'gpu' }`,
      `step 'train': imagePullSecrets must be a list of Secret names`,
      `step 'train': namespace must be a non-empty string`,
      `step 'proc': env 'BAD-NAME' is not a variable name`,
      `step 'proc': env 'GOOD' must be a string`,
    ]);
  });

  it('checks the pipeline\'s runner', () => {
    assert.deepEqual(pipelineProblems(spec([step('a')], { runner: 'docker' as never })), [`runner 'docker' must be one of 'local', 'kubernetes'`]);
    assert.deepEqual(pipelineProblems(spec([step('a')], { runner: 'kubernetes' })), []);
  });

  it('accepts every kind of step when well configured', () => {
    const good = spec([
      step('proc'),
      step('pod', { kind: 'pod', config: { image: 'trainer:1', cmds: ['python'], arguments: ['t.py'], env: [{ name: 'A', value: '1' }] } }),
      step('task', { kind: 'task', config: { fn: 'train', args: { x: 1 } } }),
      step('br', { kind: 'branch', upstream: ['task'], config: { cases: [{ if: 'xcom.task.acc > params.threshold', then: 'yes' }], otherwise: ['no'] } }),
      step('yes', { upstream: ['br'] }),
      step('no', { upstream: ['br'] }),
      step('tell', { kind: 'notify', upstream: ['yes'], config: { webhookEnv: 'SLACK_URL', text: 'done {{ ds }}' } }),
    ]);
    assert.deepEqual(pipelineProblems(good, { taskNames: ['train'] }), []);
  });
});

describe('validatePipeline: ids and dependencies', () => {
  it('reports a duplicate id (raw spec)', () => {
    assertOnly(problemsOf(spec([step('a'), step('a')])), 'a', /duplicate id/);
  });

  it('reports a duplicate id (builder)', () => {
    const problems = builderProblems((p) => {
      p.process('train', cmd);
      p.process('train', cmd);
    });
    assertOnly(problems, 'train', /duplicate id/);
  });

  it('reports a duplicate id made by a group prefix', () => {
    const problems = builderProblems((p) => {
      p.process('g.x', cmd);
      p.group('g', (g) => g.process('x', cmd));
    });
    assertOnly(problems, 'g.x', /duplicate id/);
  });

  it('reports an unknown dependency, naming the step and the missing one', () => {
    assertOnly(problemsOf(spec([step('a'), step('b', { upstream: ['ghost'] })])), 'b', /depends on unknown step 'ghost'/);
  });

  it('reports an unknown dependency given in after (builder)', () => {
    assertOnly(builderProblems((p) => p.process('b', cmd, { after: ['ghost'] })), 'b', /depends on unknown step 'ghost'/);
  });

  it('reports a self-dependency', () => {
    const problems = problemsOf(spec([step('a', { upstream: ['a'] })]));
    assert.ok(problems.some((p) => p === "step 'a': depends on itself"), problems.join('\n'));
  });

  it('reports a cycle with its path in run order', () => {
    // a runs after c, b after a, c after b.
    const problems = problemsOf(spec([step('a', { upstream: ['c'] }), step('b', { upstream: ['a'] }), step('c', { upstream: ['b'] })]));
    assert.deepEqual(problems, ['the steps form a cycle: a -> b -> c -> a']);
  });

  it('names only the steps of the cycle, not the steps leading into it', () => {
    const problems = problemsOf(
      spec([step('x', { upstream: ['c'] }), step('a', { upstream: ['c'] }), step('b', { upstream: ['a'] }), step('c', { upstream: ['b'] })]),
    );
    assert.deepEqual(problems, ['the steps form a cycle: c -> a -> b -> c']);
  });

  it('reports a cycle built with after (builder)', () => {
    const problems = builderProblems((p) => {
      const a = p.process('a', cmd, { after: ['b'] });
      p.process('b', cmd, { after: [a] });
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /cycle: (a -> b -> a|b -> a -> b)/);
  });

  it('reports an id with characters that are not allowed', () => {
    assertOnly(problemsOf(spec([step('has space')])), 'has space', /id must use letters/);
  });

  it('reports a bad pipeline id and a pipeline without steps', () => {
    const problems = problemsOf({ id: 'bad id!', params: {}, steps: [] });
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /pipeline id 'bad id!'/);
    assert.match(problems[1] ?? '', /no steps/);
  });
});

describe('validatePipeline: retry and durations', () => {
  const fields: [string, Partial<StepDraft>][] = [
    ['retryDelay', { retry: { retries: 1, retryDelay: 'soon', backoffCoefficient: 1, maxRetryDelay: '1h' } }],
    ['maxRetryDelay', { retry: { retries: 1, retryDelay: '5m', backoffCoefficient: 1, maxRetryDelay: '60' } }],
    ['timeout', { timeout: '4 hours' }],
    ['heartbeatTimeout', { heartbeatTimeout: '' }],
  ];
  for (const [field, change] of fields) {
    it(`reports an invalid ${field}`, () => {
      const problems = problemsOf(spec([step('train', change)]));
      assertOnly(problems, 'train', new RegExp(`${field} '.*' is not a duration`));
    });
  }

  it('reports a duration that is not a string', () => {
    assertOnly(problemsOf(spec([step('train', { timeout: 3600 as unknown as string })])), 'train', /timeout '3600' is not a duration/);
  });

  it('reports invalid durations given as step options (builder)', () => {
    const problems = builderProblems((p) => p.process('train', cmd, { retryDelay: '5', timeout: '1x' }));
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /step 'train': retryDelay '5'/);
    assert.match(problems[1] ?? '', /step 'train': timeout '1x'/);
  });

  it('reports invalid durations that come from the pipeline defaults, on every step', () => {
    const problems = builderProblems(
      (p) => {
        p.process('a', cmd);
        p.process('b', cmd, { heartbeatTimeout: '30s' });
      },
      { defaults: { heartbeatTimeout: 'never' } },
    );
    assertOnly(problems, 'a', /heartbeatTimeout 'never'/);
  });

  it('reports negative or fractional retries and a backoff below 1', () => {
    assertOnly(problemsOf(spec([step('r', { retry: { retries: -1, retryDelay: '1s', backoffCoefficient: 1, maxRetryDelay: '1h' } })])), 'r', /retries/);
    assertOnly(problemsOf(spec([step('r', { retry: { retries: 1.5, retryDelay: '1s', backoffCoefficient: 1, maxRetryDelay: '1h' } })])), 'r', /retries/);
    assertOnly(problemsOf(spec([step('r', { retry: { retries: 1, retryDelay: '1s', backoffCoefficient: 0.5, maxRetryDelay: '1h' } })])), 'r', /backoff/);
  });
});

describe('validatePipeline: trigger rules and kinds', () => {
  it('reports an unknown trigger rule', () => {
    const problems = problemsOf(spec([step('join', { triggerRule: 'all_sucess' as StepDraft['triggerRule'] })]));
    assertOnly(problems, 'join', /unknown trigger rule 'all_sucess'/);
  });

  it('reports an unknown trigger rule given in step options (builder)', () => {
    const problems = builderProblems((p) => p.process('join', cmd, { triggerRule: 'whenever' as never }));
    assertOnly(problems, 'join', /unknown trigger rule 'whenever'/);
  });

  it('reports an unknown kind', () => {
    const problems = problemsOf(spec([step('sh', { kind: 'bash' as StepDraft['kind'] })]));
    assertOnly(problems, 'sh', /unknown kind 'bash'/);
  });
});

describe('validatePipeline: config per kind', () => {
  it('reports a process without command', () => {
    assertOnly(problemsOf(spec([step('run', { config: {} as never })])), 'run', /command must be a non-empty list/);
  });

  it('reports a process with an empty command (builder)', () => {
    assertOnly(builderProblems((p) => p.process('run', { command: [] })), 'run', /command must be a non-empty list/);
  });

  it('reports a process command that is not all strings', () => {
    assertOnly(problemsOf(spec([step('run', { config: { command: ['python', 3] } as never })])), 'run', /command must be a non-empty list of strings/);
  });

  it('reports a pod without image', () => {
    const problems = problemsOf(spec([step('pod', { kind: 'pod', config: { cmds: ['python'] } as never })]));
    assertOnly(problems, 'pod', /image is required/);
  });

  it('reports a pod with an empty image (builder)', () => {
    assertOnly(builderProblems((p) => p.pod('pod', { image: '', cmds: ['echo'] })), 'pod', /image is required/);
  });

  it('reports a pod with nothing to run', () => {
    assertOnly(builderProblems((p) => p.pod('pod', { image: 'trainer:1' })), 'pod', /give cmds/);
  });

  it('reports pod cmds that are not strings and bad env entries', () => {
    const problems = builderProblems((p) =>
      p.pod('pod', {
        image: 'trainer:1',
        cmds: 'python train.py' as never,
        arguments: ['x'],
        env: [{ name: '1BAD', value: 'x' }, { name: 'BOTH', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'NEITHER' }],
      }),
    );
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.every((p) => p.startsWith("step 'pod': ")));
    assert.match(problems[0] ?? '', /cmds must be a list of strings/);
    assert.match(problems[1] ?? '', /env\[0\]\.name/);
    assert.match(problems[2] ?? '', /env 'BOTH' needs exactly one/);
    assert.match(problems[3] ?? '', /env 'NEITHER' needs exactly one/);
  });

  it('reports a task whose function is not registered with the worker', () => {
    const problems = problemsOf(spec([step('t', { kind: 'task', config: { fn: 'train' } })]), { taskNames: ['evaluate', 'deploy'] });
    assertOnly(problems, 't', /fn 'train' is not registered with the worker; registered: evaluate, deploy/);
  });

  it('reports a task without a function name', () => {
    assertOnly(problemsOf(spec([step('t', { kind: 'task', config: { fn: '' } })])), 't', /fn must name a registered task function/);
  });

  it('accepts any task name when no registry is given', () => {
    assert.deepEqual(pipelineProblems(spec([step('t', { kind: 'task', config: { fn: 'anything' } })])), []);
  });

  it('reports a branch function given by a name the pipeline did not register (builder)', () => {
    const problems = builderProblems((p) => {
      const b = p.branch('choose', { fn: 'pick_one' });
      p.process('x', cmd, { after: [b] });
    });
    assertOnly(problems, 'choose', /fn 'pick_one' is not registered/);
  });
});

describe('validatePipeline: branches', () => {
  it('reports a branch with both cases and fn', () => {
    const problems = builderProblems((p) => {
      const b = p.branch('choose', { fn: 'pick', cases: [{ if: 'true', then: 'x' }] });
      p.process('x', cmd, { after: [b] });
    });
    assert.ok(problems.includes("step 'choose': give either cases (with an optional otherwise) or fn, not both and not neither"), problems.join('\n'));
  });

  it('reports a branch with neither cases nor fn', () => {
    const problems = builderProblems((p) => {
      const b = p.branch('choose', {});
      p.process('x', cmd, { after: [b] });
    });
    assertOnly(problems, 'choose', /either cases .* or fn/);
  });

  it('reports a branch target that is not a direct follower', () => {
    const problems = builderProblems((p) => {
      const b = p.branch('choose', { cases: [{ if: 'true', then: 'near' }], otherwise: 'far' });
      const near = p.process('near', cmd, { after: [b] });
      p.process('far', cmd, { after: [near] });
    });
    assertOnly(problems, 'choose', /branch target 'far' is not a direct follower; followers: near/);
  });

  it('reports a branch target that is no step at all, and a target that is not a string', () => {
    const problems = problemsOf(
      spec([step('choose', { kind: 'branch', config: { cases: [{ if: 'true', then: ['ghost', 7 as never] }] } })]),
    );
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0] ?? '', /step 'choose': branch target 'ghost' is not a direct follower; followers: \(none\)/);
    assert.match(problems[1] ?? '', /step 'choose': branch targets must be step ids/);
  });

  it('reports a malformed condition with the case index', () => {
    const problems = builderProblems((p) => {
      const b = p.branch('choose', { cases: [{ if: 'true', then: 'x' }, { if: 'params.threshold >', then: 'x' }] });
      p.process('x', cmd, { after: [b] });
    });
    assertOnly(problems, 'choose', /cases\[1\]\.if: .*ends too early/);
  });

  it('reports a condition with an unknown variable', () => {
    const problems = builderProblems((p) => {
      const b = p.branch('choose', { cases: [{ if: 'params.nope > 1', then: 'x' }] });
      p.process('x', cmd, { after: [b] });
    });
    assertOnly(problems, 'choose', /cases\[0\]\.if: unknown param 'nope'/);
  });

  it('reports a condition reading the XCom of a step that is not upstream', () => {
    const problems = builderProblems((p) => {
      p.process('score', cmd);
      const b = p.branch('choose', { cases: [{ if: 'xcom.score.acc > 0.5', then: 'x' }] });
      p.process('x', cmd, { after: [b] });
    });
    assertOnly(problems, 'choose', /reads XCom of 'score', which is not upstream of it/);
  });

  it('reports cases that are not a list, and a case without a condition', () => {
    assertOnly(problemsOf(spec([step('b', { kind: 'branch', config: { cases: 'x' as never } })])), 'b', /cases must be a list/);
    const problems = problemsOf(spec([step('b', { kind: 'branch', config: { cases: [{ then: 'y' } as never] } }), step('y', { upstream: ['b'] })]));
    assertOnly(problems, 'b', /cases\[0\]\.if must be a condition string/);
  });
});

describe('validatePipeline: notify', () => {
  it('reports a notify without text', () => {
    const problems = problemsOf(spec([step('tell', { kind: 'notify', config: { url: 'https://hooks.example.com/x' } as never })]));
    assertOnly(problems, 'tell', /text is required/);
  });

  it('reports a notify with both url and webhookEnv', () => {
    const problems = builderProblems((p) => p.notify('tell', { url: 'https://hooks.example.com/x', webhookEnv: 'SLACK_URL', text: 'hi' }));
    assertOnly(problems, 'tell', /exactly one of webhookEnv .* or url/);
  });

  it('reports a notify with neither url nor webhookEnv', () => {
    assertOnly(builderProblems((p) => p.notify('tell', { text: 'hi' })), 'tell', /exactly one of webhookEnv/);
  });

  it('reports a url that is not http(s) and a webhookEnv that is not a variable name', () => {
    assertOnly(builderProblems((p) => p.notify('tell', { url: 'ftp://x', text: 'hi' })), 'tell', /url must start with http/);
    assertOnly(builderProblems((p) => p.notify('tell', { webhookEnv: 'not-a-var', text: 'hi' })), 'tell', /webhookEnv must be an environment variable name/);
  });
});

describe('validatePipeline: templates and XCom', () => {
  it('reports a template with an unknown variable', () => {
    const problems = builderProblems((p) => p.process('run', { command: ['python', 'run.py', '--date', '{{ date }}'] }));
    assertOnly(problems, 'run', /in '\{\{ date \}\}': unknown variable 'date'/);
  });

  it('reports templates in nested config fields', () => {
    const problems = builderProblems((p) => p.notify('tell', { webhookEnv: 'HOOK', text: 'ok', fields: { deep: ['{{ params.missing }}'] } }));
    assertOnly(problems, 'tell', /unknown param 'missing'/);
  });

  it('reports an XCom template read from a step that is not upstream', () => {
    const problems = builderProblems((p) => {
      p.process('extract', cmd);
      p.process('load', { command: ['load', '{{ xcom.extract.path }}'] });
    });
    assertOnly(problems, 'load', /reads XCom of 'extract', which is not upstream of it; add 'extract' to its after list/);
  });

  it('reports a step reading its own XCom', () => {
    assertOnly(builderProblems((p) => p.process('loop', { command: ['x', '{{ xcom.loop }}'] })), 'loop', /reads XCom of 'loop'/);
  });

  it('accepts an XCom read from a transitive upstream', () => {
    const built = pipeline({ id: 'ok' }, (p) => {
      const a = p.process('a', cmd);
      const b = p.process('b', cmd, { after: [a] });
      p.process('c', { command: ['x', '{{ xcom.a.path }}'] }, { after: [b] });
    });
    assert.deepEqual(built.spec.steps.map((s) => s.id), ['a', 'b', 'c']);
  });

  it('reports a typed reference to a step that does not exist', () => {
    const problems = problemsOf(spec([step('t', { kind: 'task', config: { fn: 'f', args: { x: { $xcom: 'ghost' } } } })]));
    assertOnly(problems, 't', /'ghost', which is no step of this pipeline/);
  });
});

describe('validatePipeline: schedule and maxActiveRuns', () => {
  for (const good of ['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '0 3 * * *', '*/15 * * * 1-5', '0 0 1,15 * *']) {
    it(`accepts schedule '${good}'`, () => {
      assert.deepEqual(pipelineProblems(spec([step('a')], { schedule: good })), []);
    });
  }

  for (const bad of ['every day', '* * * *', '* * * * * *', '@fortnightly', '', 'toString', 'constructor']) {
    it(`reports schedule '${bad}'`, () => {
      const problems = problemsOf(spec([step('a')], { schedule: bad }));
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^schedule '.*' is neither a 5-field cron expression/);
    });
  }

  it('reports a bad schedule given to pipeline()', () => {
    const problems = builderProblems((p) => p.process('a', cmd), { schedule: 'daily' });
    assert.deepEqual(problems.length, 1);
    assert.match(problems[0] ?? '', /schedule 'daily'/);
  });

  for (const bad of [0, -1, 1.5, Number.NaN]) {
    it(`reports maxActiveRuns ${bad}`, () => {
      const problems = problemsOf(spec([step('a')], { maxActiveRuns: bad }));
      assert.deepEqual(problems, ['maxActiveRuns must be a whole number of at least 1']);
    });
  }

  it('accepts maxActiveRuns 1 and 16', () => {
    assert.deepEqual(pipelineProblems(spec([step('a')], { maxActiveRuns: 1 })), []);
    assert.deepEqual(pipelineProblems(spec([step('a')], { maxActiveRuns: 16 })), []);
  });
});

describe('validatePipeline: several problems at once', () => {
  it('reports every problem of a raw spec in one error', () => {
    const raw = spec(
      [
        step('a'),
        step('a'),
        step('b', { upstream: ['ghost'], timeout: 'forever' }),
        step('c', { kind: 'pod', config: { cmds: ['x'] } as never }),
        step('d', { triggerRule: 'sometimes' as never }),
      ],
      { schedule: 'whenever', maxActiveRuns: 0 },
    );
    let caught: unknown;
    try {
      validatePipeline(raw);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof PipelineValidationError);
    const expected = [
      /^schedule 'whenever'/,
      /^maxActiveRuns/,
      /^step 'a': duplicate id/,
      /^step 'b': depends on unknown step 'ghost'/,
      /^step 'b': timeout 'forever'/,
      /^step 'c': image is required/,
      /^step 'd': unknown trigger rule 'sometimes'/,
    ];
    assert.equal(caught.problems.length, expected.length, caught.problems.join('\n'));
    for (const pattern of expected) {
      assert.ok(caught.problems.some((p) => pattern.test(p)), `no problem matches ${pattern}`);
    }
    // The message lists them all, one per line.
    for (const problem of caught.problems) assert.ok(caught.message.includes(`  - ${problem}`));
    assert.match(caught.message, /^pipeline 'p' is invalid:\n/);
    assert.equal(caught.name, 'PipelineValidationError');
  });

  it('reports every problem of a built pipeline in one error', () => {
    const problems = builderProblems(
      (p) => {
        p.process('a', { command: [] });
        p.notify('b', { text: '{{ nope }}' });
        p.task('c', train, null, { retryDelay: 'later' });
      },
      { maxActiveRuns: -2 },
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(problems.join('\n'), /maxActiveRuns/);
    assert.match(problems.join('\n'), /step 'a': command/);
    assert.match(problems.join('\n'), /step 'b': give exactly one of webhookEnv/);
    assert.match(problems.join('\n'), /step 'b': in '\{\{ nope \}\}'/);
    assert.match(problems.join('\n'), /step 'c': retryDelay 'later'/);
  });
});

describe('validatePipeline: schedule options', () => {
  const scheduled = (changes: Partial<PipelineDraft>) => spec([step('a')], { schedule: '@daily', ...changes });

  it('accepts a time zone, start and end dates, jitter and each form of catchup', () => {
    for (const catchup of [true, false, '1h', '10s']) {
      assert.deepEqual(pipelineProblems(scheduled({ timezone: 'Europe/Berlin', startDate: '2026-03-01', endDate: '2026-12-31T23:00:00Z', jitter: '5m', catchup })), []);
    }
  });

  it('names the field and the fix for each bad value', () => {
    const problems = pipelineProblems(scheduled({ timezone: 'Mars/Olympus', startDate: '1 March', endDate: '2026-13-45', jitter: 'soon', catchup: '5s' })).join('\n');
    assert.match(problems, /timezone 'Mars\/Olympus' is not an IANA time zone; use a name like 'UTC'/);
    assert.match(problems, /startDate '1 March' is not an ISO date; write it like '2026-03-01'/);
    assert.match(problems, /endDate '2026-13-45' is not an ISO date/);
    assert.match(problems, /jitter 'soon' is not a duration/);
    assert.match(problems, /catchup '5s' must be true, false or a duration of at least 10s/);
  });

  it('wants the end after the start, and a schedule for the options to apply to', () => {
    assert.match(pipelineProblems(scheduled({ startDate: '2026-03-01', endDate: '2026-03-01' })).join('\n'), /endDate '2026-03-01' must be after startDate '2026-03-01'/);
    assert.match(pipelineProblems(spec([step('a')], { timezone: 'UTC', catchup: false })).join('\n'), /timezone, catchup only apply to a scheduled pipeline; add a schedule/);
  });
});
