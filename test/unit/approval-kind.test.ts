/** The approval kind's compile step: its defaults, one try, and every problem naming the step, the field and the fix. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApprovalConfig, type PipelineDraft, type StepDraft, pipeline, pipelineProblems, validatePipeline } from '../../pipeline';
import { echo, noop } from '../support/tasks';

/** A spec with a register step and an approval step `gate` after it, whose config the test gives. */
function withGate(config: unknown, changes: Partial<StepDraft> = {}): PipelineDraft {
  const base = {
    upstream: [] as string[],
    triggerRule: 'all_success' as const,
    retry: { retries: 2, retryDelay: '5m', backoffCoefficient: 1, maxRetryDelay: '1h' },
    timeout: '24h',
    heartbeatTimeout: '10s',
  };
  return {
    id: 'p',
    params: { model: { default: 'churn' } },
    steps: [
      { ...base, id: 'register', kind: 'process', config: { command: ['register'] } },
      { ...base, id: 'gate', kind: 'approval', upstream: ['register'], config: config as ApprovalConfig, ...changes } as StepDraft,
    ],
  };
}

const good: ApprovalConfig = { model: '{{ params.model }}', version: '{{ xcom.register.version }}' };

describe('the approval kind', () => {
  it('fills its defaults once, makes the step one try whatever the retries, and compiles a compiled spec unchanged', () => {
    const compiled = validatePipeline(withGate(good));
    const gate = compiled.steps.find((s) => s.id === 'gate');
    assert.deepEqual(gate?.config, { ...good, timeout: '7d', onTimeout: 'fail', details: {} });
    assert.equal(gate?.retry.retries, 0, 'a human decision is not retried');
    const register = compiled.steps.find((s) => s.id === 'register');
    assert.equal(register?.retry.retries, 2, 'other kinds keep their retries');
    assert.deepEqual(validatePipeline(compiled), compiled);
  });

  it('takes a typed reference as the version, which makes the step depend on it, and returns the decision record type', () => {
    const built = pipeline({ id: 'built' }, (p) => {
      const register = p.task('register', echo, { version: 3 });
      const gate = p.approval('gate', { model: 'churn', version: register.get('version'), remindEvery: '1d', notify: { url: 'https://hooks.example/x' } });
      p.task('deploy', noop, { approver: gate.get('approver') });
    });
    const gate = built.spec.steps.find((s) => s.id === 'gate');
    assert.deepEqual(gate?.upstream, ['register']);
    assert.deepEqual(built.spec.steps.find((s) => s.id === 'deploy')?.upstream, ['gate']);
  });

  const cases: { name: string; config: unknown; problem: RegExp }[] = [
    { name: 'a missing model', config: { version: 3 }, problem: /model is required: the registered model's name/ },
    { name: 'a blank model', config: { model: ' ', version: 3 }, problem: /model is required/ },
    { name: 'a missing version', config: { model: 'churn' }, problem: /version is required: the model version to approve, a whole number ≥ 1/ },
    { name: 'a version that is no whole number', config: { model: 'churn', version: 1.5 }, problem: /version is required/ },
    { name: 'a version of 0', config: { model: 'churn', version: 0 }, problem: /version is required/ },
    { name: 'a timeout that is no duration', config: { ...good, timeout: 'a week' }, problem: /timeout 'a week' is not a positive duration; write it like '30s'/ },
    { name: 'a zero timeout', config: { ...good, timeout: '0s' }, problem: /timeout '0s' is not a positive duration/ },
    { name: 'an unknown onTimeout', config: { ...good, onTimeout: 'approve' }, problem: /onTimeout 'approve' must be one of 'reject', 'fail'/ },
    { name: 'remindEvery that is no duration', config: { ...good, remindEvery: 'daily', notify: { url: 'https://h.example' } }, problem: /remindEvery 'daily' is not a positive duration/ },
    { name: 'remindEvery without notify', config: { ...good, remindEvery: '1h' }, problem: /remindEvery needs notify, where the reminders go/ },
    { name: 'notify without remindEvery', config: { ...good, notify: { url: 'https://h.example' } }, problem: /notify is set but remindEvery is not, so nothing would be sent; set remindEvery/ },
    { name: 'remindEvery not shorter than timeout', config: { ...good, timeout: '1h', remindEvery: '1h', notify: { url: 'https://h.example' } }, problem: /remindEvery '1h' is not shorter than timeout '1h', so no reminder would be sent/ },
    { name: 'remindEvery against the default timeout', config: { ...good, remindEvery: '8d', notify: { url: 'https://h.example' } }, problem: /not shorter than timeout '7d'/ },
    { name: 'too many reminders', config: { ...good, remindEvery: '1m', notify: { url: 'https://h.example' } }, problem: /makes 10079 reminders, more than 500; remind less often/ },
    { name: 'both webhook targets', config: { ...good, remindEvery: '1h', notify: { url: 'https://h.example', webhookEnv: 'HOOK' } }, problem: /give exactly one of notify\.webhookEnv .* or notify\.url/ },
    { name: 'neither webhook target', config: { ...good, remindEvery: '1h', notify: {} }, problem: /give exactly one of notify\.webhookEnv/ },
    { name: 'a notify url that is no URL', config: { ...good, remindEvery: '1h', notify: { url: 'hooks.example' } }, problem: /notify\.url must start with http:\/\/ or https:\/\// },
    { name: 'a notify webhookEnv that is no variable name', config: { ...good, remindEvery: '1h', notify: { webhookEnv: 'my hook' } }, problem: /notify\.webhookEnv must be an environment variable name/ },
    { name: 'notify that is no object', config: { ...good, remindEvery: '1h', notify: 'https://h.example' }, problem: /notify must be \{ webhookEnv \} or \{ url \}/ },
    { name: 'details that are a list', config: { ...good, details: [1, 2] }, problem: /details must be an object of what approvers see/ },
  ];
  cases.forEach(({ name, config, problem }) => {
    it(`refuses ${name}, naming the step and the fix`, () => {
      const problems = pipelineProblems(withGate(config));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0]?.startsWith("step 'gate': "), problems[0]);
      assert.match(problems[0] ?? '', problem);
    });
  });

  it('refuses a mapped approval step', () => {
    const problems = pipelineProblems(withGate(good, { map: { expand: { v: [1, 2] } } }));
    assert.ok(problems.some((p) => /^step 'gate': an approval step cannot be mapped/.test(p)), problems.join('\n'));
  });

  it("checks its templates like any step's: a version read from a step that is not upstream", () => {
    const problems = pipelineProblems(withGate(good, { upstream: [] }));
    assert.deepEqual(problems, ["step 'gate': reads XCom of 'register', which is not upstream of it; add 'register' to its after list"]);
  });

  it('keeps the notify kind refusing what it refused, in its own words', () => {
    const draft = withGate(good);
    draft.steps.push({ ...draft.steps[0], id: 'tell', kind: 'notify', config: { text: 'x', url: 'ftp://h' } } as StepDraft);
    assert.deepEqual(pipelineProblems(draft), ["step 'tell': url must start with http:// or https://"]);
  });
});
