/**
 * The flagship example for the local KWOK cluster (`npm run demo -- --kubernetes`).
 * KWOK plays the kubelets and runs no container, so each pod step carries, as
 * annotations, the result its container would report; everything else (pods,
 * GPU scheduling, volumes, termination-message XCom, clean-up) is the real thing.
 * No container runs, so no model reaches MLflow: the registry and approval steps
 * become tasks that answer what they would (a first model, promoted, approved).
 */
import { type Pipeline, type PodConfig, type StepSpec, type TaskDefinition, defineTask, specVersion, validatePipeline } from '../../pipeline';
import { pipeline as example } from './pipeline';

/** Where the best trial's model would be, under the worker's TRAINYARD_ARTIFACTS_URI. */
const MODEL_SOURCE = 'mlflow-artifacts:/1/models/m-simulated/artifacts';

/** What each container would write to /airflow/xcom/return.json. */
const RESULTS: Record<string, unknown> = {
  'data_preparation.validate_data': { valid: true, rows: 1797, features: 64, classes: 10, nan_count: 0 },
  'data_preparation.preprocess_data': { train_rows: 1347, test_rows: 450, data_dir: '/shared/data' },
  'model_training.train_model': {
    accuracy: 0.9655, f1_score: 0.9653, loss: 0.004, mlflow_run_id: 'simulated', model_id: 'm-simulated', model_source: MODEL_SOURCE, device: 'cuda:simulated',
  },
  'model_training.evaluate_model': { accuracy: 0.9778, f1_score: 0.9777, model_uri: 'models:/production-model/1', version: '1' },
  deploy_model: { version: 1, path: '/serving/production-model/v1/model.joblib', deployed: true, alias: 'champion' },
};

/** What the registry and approval steps would answer for a first model. */
const ANSWERS: Record<string, unknown> = {
  'model_training.register_model': { model: 'production-model', version: '1', source: MODEL_SOURCE, runId: 'simulated', created: true },
  'model_training.compare_baseline': {
    model: 'production-model', metric: 'test_accuracy', mode: 'max',
    candidate: { version: '1', value: 0.9778, runId: 'simulated' }, baseline: { alias: 'champion', version: null, value: 0 },
    minValue: 0.9, minImprovement: 0.001, improvement: 0.9778, shouldPromote: true, reason: 'test_accuracy 0.9778 against no @champion yet (baseline 0): improvement 0.9778 ≥ 0.001',
  },
  approve_deployment: { decision: 'approved', approver: 'simulated-reviewer', decidedAt: '2026-01-01T00:00:00.000Z', comment: 'simulated', modelName: 'production-model', version: '1' },
  promote_model: { model: 'production-model', alias: 'champion', version: '1', previous: null, changed: true },
};

/** Answers a registry or approval step would give, for the simulation. */
const simulated = defineTask('kwok.simulated_answer', (args: { answer: unknown }) => args.answer as never);
const SIMULATED_KINDS = new Set<StepSpec['kind']>(['registerModel', 'compareBaseline', 'promote', 'approval']);

/** The example with each pod step's simulated result attached. */
export function onKwok(base: Pipeline, id: string): Pipeline {
  const spec = structuredClone(base.spec);
  spec.id = id;
  delete spec.schedule;
  delete spec.mlflow;
  spec.steps = spec.steps.map((step): StepSpec => {
    if (!SIMULATED_KINDS.has(step.kind)) return step;
    return { ...step, kind: 'task', config: { fn: simulated.name, args: { answer: ANSWERS[step.id] ?? null } } };
  });
  for (const step of spec.steps) {
    if (step.kind !== 'pod') continue;
    const config = step.config as PodConfig;
    config.annotations = {
      ...config.annotations,
      'sim.trainyard.io/run-for': '1s',
      ...(RESULTS[step.id] !== undefined ? { 'sim.trainyard.io/message': JSON.stringify(RESULTS[step.id]) } : {}),
    };
  }
  const tasks = new Map<string, TaskDefinition<never, unknown>>([...base.tasks, [simulated.name, simulated]]);
  validatePipeline(spec, { taskNames: [...tasks.keys()] });
  return { spec, version: specVersion(spec), tasks };
}

export const pipeline = onKwok(example, 'ml_training_pipeline_kwok');
