/** The MLflow pipeline option, the registry kinds' fields and the worker's MLflow settings: each problem names the field and the fix. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xcomMetrics } from '../../activities/mlflow/tracking';
import { quoteFilterValue } from '../../activities/mlflow/client';
import { type PipelineBuilder, pipeline, pipelineProblems } from '../../pipeline';
import { mlflowSettingsFrom } from '../../worker/config';

const problemsOf = (define: (p: PipelineBuilder) => void, options: Record<string, unknown> = {}): string[] => {
  try {
    pipeline({ id: 'p', ...options }, define);
    return [];
  } catch (err) {
    return (err as { problems?: string[] }).problems ?? [String(err)];
  }
};

describe('the mlflow pipeline option', () => {
  it('takes an experiment whose templates read the run', () => {
    const p = pipeline({ id: 'p', mlflow: { experiment: 'daily-{{ ds }}-{{ params.team }}' }, params: { team: 'ml' } }, (b) => {
      b.process('a', { command: ['true'] });
    });
    assert.deepEqual(p.spec.mlflow, { experiment: 'daily-{{ ds }}-{{ params.team }}' });
  });

  it('names the field and the fix', () => {
    const define = (b: PipelineBuilder): void => void b.process('a', { command: ['true'] });
    assert.match(problemsOf(define, { mlflow: { experiment: '' } }).join('\n'), /mlflow.experiment must be the MLflow experiment's name/);
    assert.match(problemsOf(define, { mlflow: 'x' }).join('\n'), /mlflow must be an object like \{ experiment: 'daily-training' \}/);
    assert.match(problemsOf(define, { mlflow: { experiment: 'e-{{ params.nope }}' } }).join('\n'), /mlflow.experiment: .*nope/);
    // A step's XCom does not exist when the run starts.
    assert.match(problemsOf(define, { mlflow: { experiment: 'e-{{ xcom.a.x }}' } }).join('\n'), /mlflow.experiment: /);
  });
});

describe('the registry kinds', () => {
  it('compile with their defaults, references and templates', () => {
    const p = pipeline({ id: 'r', params: { min: 0.9 } }, (b) => {
      const reg = b.registerModel('register', { model: 'production-model', source: 's3://b/m', runId: '{{ run_id }}' });
      b.compareBaseline('compare', { model: 'production-model', version: reg.get('version'), metric: 'test_accuracy', minValue: '{{ params.min }}' });
      b.promote('promote', { model: 'production-model', version: reg.get('version') }, { after: ['compare'] });
    });
    const [, compare, promote] = p.spec.steps;
    assert.deepEqual(compare?.config, {
      model: 'production-model',
      version: { $xcom: 'register', key: 'version' },
      metric: 'test_accuracy',
      minValue: '{{ params.min }}',
      alias: 'champion',
      mode: 'max',
      minImprovement: 0,
    });
    assert.deepEqual(promote?.config, { model: 'production-model', version: { $xcom: 'register', key: 'version' }, alias: 'champion' });
    // Reading another step's XCom makes it upstream.
    assert.deepEqual(compare?.upstream, ['register']);
  });

  it('name the step, the field and the fix', () => {
    const problems = problemsOf((b) => {
      b.registerModel('register', { model: 'bad name!', source: '' });
      b.compareBaseline('compare', { model: 'm', version: 'latest', metric: '', mode: 'up' as never, minValue: 'lots', alias: 'v2' });
      b.promote('promote', { model: 'm', version: 0, alias: 'latest' });
      b.registerModel('tagged', { model: 'm', source: 's', tags: { 'trainyard.run_id': 'x' } });
    }).join('\n');
    assert.match(problems, /step 'register': model must be a registered model's name/);
    assert.match(problems, /step 'register': source must be a non-empty string/);
    assert.match(problems, /step 'compare': version must be a model version/);
    assert.match(problems, /step 'compare': metric must name the metric to compare/);
    assert.match(problems, /step 'compare': mode 'up' must be one of 'max', 'min'/);
    assert.match(problems, /step 'compare': minValue must be a number/);
    assert.match(problems, /step 'compare': alias "v2" must be a name like 'champion'/);
    assert.match(problems, /step 'promote': version must be a model version/);
    assert.match(problems, /step 'promote': alias "latest"/);
    assert.match(problems, /step 'tagged': tags may not start with 'trainyard.'/);
  });

  it('cannot be mapped', () => {
    const problems = pipelineProblems({
      id: 'm',
      params: {},
      steps: [
        {
          id: 'register',
          kind: 'registerModel',
          upstream: [],
          triggerRule: 'all_success',
          retry: { retries: 0, retryDelay: '1m', backoffCoefficient: 1, maxRetryDelay: '1h' },
          timeout: '1h',
          heartbeatTimeout: '10s',
          config: { model: 'm', source: '{{ map.source }}' },
          map: { expand: { source: ['a', 'b'] } },
        },
      ],
    });
    assert.match(problems.join('\n'), /a registerModel step cannot be mapped/);
  });
});

describe("the worker's MLflow settings", () => {
  it('are off without a tracking URI, and read every URL with it', () => {
    assert.equal(mlflowSettingsFrom({}, 'default'), undefined);
    assert.deepEqual(
      mlflowSettingsFrom({ TRAINYARD_MLFLOW_TRACKING_URI: 'http://mlflow:5000', TRAINYARD_MLFLOW_POD_TRACKING_URI: 'http://mlflow.ml.svc:5000', TRAINYARD_TEMPORAL_UI_URL: 'http://ui:8233', TRAINYARD_API_URL: 'http://api:3000' }, 'prod'),
      { trackingUri: 'http://mlflow:5000', podTrackingUri: 'http://mlflow.ml.svc:5000', links: { namespace: 'prod', temporalUiUrl: 'http://ui:8233', apiUrl: 'http://api:3000' } },
    );
  });

  it('name the variable and the fix', () => {
    assert.throws(() => mlflowSettingsFrom({ TRAINYARD_MLFLOW_TRACKING_URI: 'file:///mlruns' }, 'd'), /TRAINYARD_MLFLOW_TRACKING_URI='file:\/\/\/mlruns' must be an http:\/\/ or https:\/\/ URL/);
    assert.throws(() => mlflowSettingsFrom({ TRAINYARD_MLFLOW_POD_TRACKING_URI: 'http://x' }, 'd'), /needs TRAINYARD_MLFLOW_TRACKING_URI/);
  });
});

describe('MLflow helpers', () => {
  it("log an XCom's numbers by path, skipping text and lists", () => {
    assert.deepEqual(xcomMetrics({ accuracy: 0.9, label: 'x', nested: { f1: 0.8, deep: { deeper: { x: 1 } } }, list: [1, 2], ok: true }), { 'xcom.accuracy': 0.9, 'xcom.nested.f1': 0.8 });
    assert.deepEqual(xcomMetrics(3), { xcom: 3 });
    assert.deepEqual(xcomMetrics(undefined), {});
  });

  it('quote filter values with the quote they do not hold', () => {
    assert.equal(quoteFilterValue('a b'), "'a b'");
    assert.equal(quoteFilterValue("it's"), '"it\'s"');
    assert.throws(() => quoteFilterValue(`it's "x"`), /both kinds of quote/);
  });
});
