/**
 * The flagship example for the local KWOK cluster (`npm run demo -- --kubernetes`).
 * KWOK plays the kubelets and runs no container, so each pod step carries, as
 * annotations, the result its container would report; everything else (pods,
 * GPU scheduling, volumes, termination-message XCom, clean-up) is the real thing.
 */
import { type Pipeline, type PodConfig, specVersion, validatePipeline } from '../../pipeline';
import { pipeline as example } from './pipeline';

/** Where the best trial's model would be, under the worker's TRAINYARD_ARTIFACTS_URI. */
const MODEL_URI = 's3://trainyard-artifacts/ml_training_pipeline_kwok/RUN/model_training.train_model/1/mlp-lr0.001-bs32-adam-i1.joblib';

/** What each container would write to /airflow/xcom/return.json. */
const RESULTS: Record<string, unknown> = {
  'data_preparation.validate_data': { valid: true, rows: 1797, features: 64, classes: 10, nan_count: 0 },
  'data_preparation.preprocess_data': { train_rows: 1347, test_rows: 450, data_dir: '/shared/data' },
  'model_training.train_model': { accuracy: 0.9655, f1_score: 0.9653, loss: 0.004, model_path: MODEL_URI, device: 'cuda:simulated' },
  'model_training.evaluate_model': {
    accuracy: 0.9778, f1_score: 0.9777, baseline_accuracy: 0, improvement: 0.9778, should_deploy: true,
    model_path: MODEL_URI,
  },
  deploy_model: { version: 1, path: '/serving/production-model/v1/model.joblib', deployed: true },
};

/** The example with each pod step's simulated result attached. */
export function onKwok(base: Pipeline, id: string): Pipeline {
  const spec = structuredClone(base.spec);
  spec.id = id;
  delete spec.schedule;
  for (const step of spec.steps) {
    if (step.kind !== 'pod') continue;
    const config = step.config as PodConfig;
    config.annotations = {
      ...config.annotations,
      'sim.trainyard.io/run-for': '1s',
      ...(RESULTS[step.id] !== undefined ? { 'sim.trainyard.io/message': JSON.stringify(RESULTS[step.id]) } : {}),
    };
  }
  validatePipeline(spec, { taskNames: [...base.tasks.keys()] });
  return { spec, version: specVersion(spec), tasks: base.tasks };
}

export const pipeline = onKwok(example, 'ml_training_pipeline_kwok');
