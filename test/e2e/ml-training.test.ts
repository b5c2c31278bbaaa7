import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawnSync } from 'node:child_process';
import { TRAINING_DATA, localImages, pipeline } from '../../examples/ml-training/pipeline';
import { type S3KeyMatches } from '../../pipeline';
import { artifactsOptionsFrom, loadConfig } from '../../worker/config';
import { type TestArtifactStore, startArtifactStore } from '../support/artifact-store';
import { type WebhookSink, startWebhookSink } from '../support/webhook';
import { type TestWorker, runToEnd, startDevServer, startWorker, states, step, tempStateDir } from '../support/temporal';

describe('the ml-training example, end to end on the local runner', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  let sink: WebhookSink;
  /** The local S3 server: the day's data, and the second worker's artifacts. */
  let store: TestArtifactStore;
  /** A second worker whose artifacts go to the local S3 server. */
  let s3Worker: TestWorker;
  const dataKey = TRAINING_DATA.key.replace('{{ ds }}', '2026-03-01');
  before(async () => {
    sink = await startWebhookSink();
    [env, store] = await Promise.all([startDevServer(), startArtifactStore('trainyard-artifacts', [TRAINING_DATA.bucket])]);
    // The day's data, as the upstream system delivers it: the example's first step waits for it.
    const csv = path.join(tempStateDir(), 'digits.csv');
    const made = spawnSync('python3', ['examples/ml-training/image/make_data.py', '--out', csv], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await store.put(TRAINING_DATA.bucket, dataKey, readFileSync(csv));
    const notifyEnv = { TRAINYARD_SLACK_WEBHOOK_URL: `${sink.url}/hook` };
    // Steps read the day's data from S3 with the worker's credentials; this worker keeps artifacts on disk.
    const dataEnv = store.workerEnv(process.env);
    delete dataEnv.TRAINYARD_ARTIFACTS_URI;
    const stateDir = tempStateDir();
    worker = await startWorker(env, [pipeline], { localImages, notifyEnv, s3: store.options, stateDir, artifacts: artifactsOptionsFrom(dataEnv, stateDir), processEnv: dataEnv });
    const workerEnv = store.workerEnv(process.env);
    s3Worker = await startWorker(env, [pipeline], { localImages, notifyEnv, s3: store.options, artifacts: loadConfig(workerEnv).artifacts, processEnv: workerEnv });
  });
  after(async () => {
    await worker?.stop();
    await s3Worker?.stop();
    await env?.teardown();
    await store?.stop();
    sink?.close();
  });

  it('trains, evaluates and deploys a model that clears the threshold', async () => {
    const { state, error } = await runToEnd(env, worker, pipeline, { params: { threshold: 0.5 } });
    assert.equal(error, undefined, error);
    assert.deepEqual(states(state), {
      wait_for_training_data: 'success',
      'data_preparation.validate_data': 'success',
      'data_preparation.preprocess_data': 'success',
      'model_training.generate_hyperparams': 'success',
      'model_training.train_model': 'success',
      'model_training.select_best_model': 'success',
      'model_training.evaluate_model': 'success',
      deployment_decision: 'success',
      deploy_model: 'success',
      skip_deployment: 'skipped',
      send_notification: 'success',
    });
    const data = step(state, 'wait_for_training_data').output as unknown as S3KeyMatches;
    assert.deepEqual(data.matches.map((m) => m.key), [dataKey]);
    const validated = step(state, 'data_preparation.validate_data').output as { rows: number; classes: number };
    assert.equal(validated.rows, 1797);
    assert.equal(validated.classes, 10);
    // The search: 12 grid points, the 1e-5 learning rates pruned early, the best survivor evaluated.
    const search = step(state, 'model_training.train_model').map;
    assert.equal(search?.total, 12);
    const grid = step(state, 'model_training.generate_hyperparams').output as { lr: number }[];
    const hopeless = grid.flatMap((point, index) => (point.lr === 0.00001 ? [index] : []));
    const pruned = (search?.prunedIndices ?? []).map((p) => p.index);
    // The median rule may also stop a slow starter; it must stop every trial that cannot learn.
    for (const index of hopeless) assert.ok(pruned.includes(index), `index ${index} (lr 1e-5) was not pruned: ${JSON.stringify(search)}`);
    assert.equal((search?.succeeded ?? 0) + (search?.pruned ?? 0), 12, JSON.stringify(search?.failures));
    const best = step(state, 'model_training.select_best_model').output as { accuracy: number; model_path: string; best_index: number };
    const trained = step(state, 'model_training.train_model').output as { accuracy: number }[];
    assert.equal(best.accuracy, Math.max(...trained.map((t) => t.accuracy)));
    // The model is in the best trial's artifacts prefix, a folder in the worker's state dir by default.
    const prefix = path.join(worker.stateDir, 'artifacts', 'ml_training_pipeline', state.run.runId, 'model_training.train_model', String(best.best_index));
    assert.ok(best.model_path.startsWith(`file://${prefix}/mlp-`), best.model_path);
    assert.ok(existsSync(best.model_path.slice('file://'.length)), `no model at ${best.model_path}`);
    const evaluation = step(state, 'model_training.evaluate_model').output as { accuracy: number; f1_score: number; model_path: string };
    assert.equal(evaluation.model_path, best.model_path);
    assert.ok(evaluation.accuracy > 0.9, `accuracy ${evaluation.accuracy}`);
    assert.ok(evaluation.f1_score > 0.9, `f1 ${evaluation.f1_score}`);
    assert.deepEqual(step(state, 'deployment_decision').chosen, ['deploy_model']);
    const deployed = step(state, 'deploy_model').output as { path: string; version: number };
    assert.ok(existsSync(deployed.path), `deployed model at ${deployed.path}`);
    const current = JSON.parse(readFileSync(path.join(path.dirname(path.dirname(deployed.path)), 'current.json'), 'utf8')) as { version: number };
    assert.equal(current.version, deployed.version);
    const message = sink.messages.at(-1)?.body;
    assert.match(String(message?.text), /deployed version: \d+/);
    assert.equal(message?.run_id, state.run.runId);
  });

  it('skips deployment when the model misses the threshold, and still notifies', async () => {
    const before = sink.messages.length;
    const { state, error } = await runToEnd(env, worker, pipeline, { params: { threshold: 1.01, epochs: 5 } });
    assert.equal(error, undefined, error);
    assert.equal(step(state, 'deploy_model').state, 'skipped');
    assert.equal(step(state, 'skip_deployment').state, 'success');
    assert.match(String((step(state, 'skip_deployment').output as { reason: string }).reason), /< threshold 1.01/);
    assert.equal(step(state, 'send_notification').state, 'success');
    assert.equal(sink.messages.length, before + 1);
    assert.match(String(sink.messages.at(-1)?.body.text), /deployed version: none/);
  });

  it('keeps the models in S3 when the worker keeps its artifacts there: evaluate and deploy read them from it', async () => {
    const { state, error } = await runToEnd(env, s3Worker, pipeline, { params: { threshold: 0.5, epochs: 10 } });
    assert.equal(error, undefined, error);
    const best = step(state, 'model_training.select_best_model').output as { model_path: string; best_index: number };
    const key = `ml_training_pipeline/${state.run.runId}/model_training.train_model/${best.best_index}/`;
    assert.ok(best.model_path.startsWith(`s3://trainyard-artifacts/${key}mlp-`), best.model_path);
    const model = await store.read(best.model_path.slice('s3://trainyard-artifacts/'.length));
    assert.ok(model.length > 1000, `the model object has ${model.length} bytes`);
    const evaluation = step(state, 'model_training.evaluate_model').output as { model_path: string; accuracy: number };
    assert.equal(evaluation.model_path, best.model_path);
    assert.ok(evaluation.accuracy > 0.5, `accuracy ${evaluation.accuracy}`);
    const deployed = step(state, 'deploy_model').output as { path: string; sha256: string };
    const sha256 = createHash('sha256').update(model).digest('hex');
    assert.equal(deployed.sha256, sha256);
    assert.equal(createHash('sha256').update(readFileSync(deployed.path)).digest('hex'), sha256);
    assert.ok(!existsSync(path.join(s3Worker.stateDir, 'artifacts')), 'artifacts went to the state dir as well');
  });
});
