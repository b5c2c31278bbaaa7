/**
 * The flagship example end to end on the local runner, against a real Temporal
 * dev server, a real MLflow server and the local S3 server: the search is
 * tracked in MLflow (one parent run, one nested run per trial), the best model
 * is registered, compared with @champion, approved by someone other than the
 * run's starter, promoted and served; a worse second run leaves @champion
 * where it was; a worker that keeps artifacts in S3 gets the same result.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TRAINING_DATA, localImages, pipeline } from '../../examples/ml-training/pipeline';
import { MlflowClient, REGISTRY_TAGS, TRAINYARD_TAGS } from '../../activities';
import { type Run, tagOf } from '../../activities/mlflow/client';
import { type ApprovalResult, type RunState, approveUpdate, runStateQuery } from '../../contract';
import type { Comparison, RegisteredVersion, S3KeyMatches } from '../../pipeline';
import { artifactsOptionsFrom, loadConfig } from '../../worker/config';
import { type TestArtifactStore, startArtifactStore } from '../support/artifact-store';
import { type TestMlflow, startTestMlflow } from '../support/mlflow';
import { keysUnder } from '../support/s3';
import { type WebhookSink, startWebhookSink } from '../support/webhook';
import { type TestWorker, eventually, startDevServer, startRun, startWorker, states, step, tempStateDir } from '../support/temporal';

const MODEL = 'production-model';
const STARTER = 'alice@example.com';
const REVIEWER = 'bob@example.com';

type Trial = { accuracy: number; mlflow_run_id: string; model_id: string; model_source: string; model_path?: string };
type Best = Trial & { best_index: number };
type Evaluation = { accuracy: number; f1_score: number; model_uri: string; version: number; source_run_id: string };
type Deployment = { version: number; path: string; sha256: string; model_uri: string; registered_model: string; alias: string | null; source_run_id: string };

/** The run's state once its approval step waits for a decision (training takes minutes). */
function awaitingApproval(handle: WorkflowHandle): Promise<RunState> {
  return eventually(
    `run ${handle.workflowId} to wait for approve_deployment`,
    async () => {
      const state = await handle.query(runStateQuery);
      if (state.status !== 'running') throw new Error(`the run ended (${state.status}) before asking for approval: ${JSON.stringify(states(state))}`);
      const gate = state.steps.find((s) => s.id === 'approve_deployment');
      return gate?.state === 'running' && gate.approval && !gate.approval.decision ? state : undefined;
    },
    600_000,
  );
}

async function finalState(handle: WorkflowHandle): Promise<RunState> {
  return (await handle.result()) as RunState;
}

describe('the ml-training example, end to end on the local runner with MLflow', { timeout: 1_200_000 }, () => {
  let env: TestWorkflowEnvironment;
  let sink: WebhookSink;
  /** The local S3 server: the day's data, MLflow's artifacts, and the second worker's artifacts. */
  let store: TestArtifactStore;
  let mlflow: TestMlflow;
  let client: MlflowClient;
  /** Keeps Trainyard's artifacts on disk. */
  let worker: TestWorker;
  /** Keeps Trainyard's artifacts in S3. */
  let s3Worker: TestWorker;
  const dataKey = TRAINING_DATA.key.replace('{{ ds }}', '2026-03-01');
  /** The first run's state and champion, which the second run is compared with. */
  let first: { state: RunState; evaluation: Evaluation; deployed: Deployment } | undefined;

  before(async () => {
    sink = await startWebhookSink();
    [env, store] = await Promise.all([startDevServer(), startArtifactStore('trainyard-artifacts', [TRAINING_DATA.bucket])]);
    mlflow = await startTestMlflow({ server: store.s3, client: store.client });
    client = new MlflowClient({ trackingUri: mlflow.url });
    // The day's data, as the upstream system delivers it: the example's first step waits for it.
    const csv = path.join(tempStateDir(), 'digits.csv');
    const made = spawnSync('python3', ['examples/ml-training/image/make_data.py', '--out', csv], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await store.put(TRAINING_DATA.bucket, dataKey, readFileSync(csv));
    const notifyEnv = { TRAINYARD_SLACK_WEBHOOK_URL: `${sink.url}/hook` };
    const tracking = { trackingUri: mlflow.url };
    // Steps read the day's data from S3 with the worker's credentials; this worker keeps artifacts on disk.
    const dataEnv = store.workerEnv(process.env);
    delete dataEnv.TRAINYARD_ARTIFACTS_URI;
    const stateDir = tempStateDir();
    worker = await startWorker(env, [pipeline], { localImages, notifyEnv, s3: store.options, stateDir, artifacts: artifactsOptionsFrom(dataEnv, stateDir), processEnv: dataEnv, mlflow: tracking });
    const workerEnv = store.workerEnv(process.env);
    s3Worker = await startWorker(env, [pipeline], { localImages, notifyEnv, s3: store.options, artifacts: loadConfig(workerEnv).artifacts, processEnv: workerEnv, mlflow: tracking });
  });
  after(async () => {
    await worker?.stop();
    await s3Worker?.stop();
    await env?.teardown();
    await mlflow?.stop();
    await store?.stop();
    sink?.close();
  });

  /** The nested runs under a parent run, by step id. */
  async function nestedRuns(experimentId: string, parentRunId: string): Promise<Map<string, Run[]>> {
    const runs = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`${TRAINYARD_TAGS.parentRun}\` = '${parentRunId}'`, maxResults: 1000 });
    const byStep = new Map<string, Run[]>();
    for (const run of runs) {
      const stepId = tagOf(run, TRAINYARD_TAGS.stepId) ?? '?';
      byStep.set(stepId, [...(byStep.get(stepId) ?? []), run]);
    }
    return byStep;
  }

  it('tracks the search in MLflow, registers the best trial, and after a second person approves promotes it to @champion and serves it', async () => {
    const handle = await startRun(env, worker, pipeline, { params: { threshold: 0.5 }, startedBy: STARTER });
    const waiting = await awaitingApproval(handle);
    // What the reviewer sees: the exact version, its test score, and why it beats the champion.
    const request = step(waiting, 'approve_deployment').approval;
    assert.ok(request);
    assert.equal(request.model, MODEL);
    assert.equal(request.version, '1');
    const evaluated = step(waiting, 'model_training.evaluate_model').output as Evaluation;
    assert.equal(request.details.test_accuracy, evaluated.accuracy);
    assert.match(request.details.reason as string, /against no @champion yet \(baseline 0\)/);
    assert.equal(request.metrics?.test_accuracy, evaluated.accuracy, 'the version\'s MLflow metrics are shown to the approver');
    assert.equal(step(waiting, 'promote_model').state, 'queued', 'nothing is promoted before the decision');
    assert.equal(await client.getModelVersionByAlias(MODEL, 'champion'), undefined);

    // The run's starter may not approve it; someone else does.
    const approve = (approver: string): Promise<ApprovalResult> =>
      handle.executeUpdate(approveUpdate, { args: [{ stepId: 'approve_deployment', modelName: MODEL, version: request.version, approver, comment: 'beats the baseline' }] });
    await assert.rejects(approve(STARTER), (err: unknown) => err instanceof WorkflowUpdateFailedError && /started this run and cannot approve it/.test(err.cause?.message ?? ''));
    const decision = await approve(REVIEWER);
    assert.equal(decision.decision, 'approved');

    const state = await finalState(handle);
    assert.deepEqual(states(state), {
      wait_for_training_data: 'success',
      'data_preparation.validate_data': 'success',
      'data_preparation.preprocess_data': 'success',
      'model_training.generate_hyperparams': 'success',
      'model_training.train_model': 'success',
      'model_training.select_best_model': 'success',
      'model_training.register_model': 'success',
      'model_training.evaluate_model': 'success',
      'model_training.compare_baseline': 'success',
      deployment_decision: 'success',
      approve_deployment: 'success',
      promote_model: 'success',
      deploy_model: 'success',
      skip_deployment: 'skipped',
      send_notification: 'success',
    });
    const data = step(state, 'wait_for_training_data').output as unknown as S3KeyMatches;
    assert.deepEqual(data.matches.map((m) => m.key), [dataKey]);
    const validated = step(state, 'data_preparation.validate_data').output as { rows: number; classes: number };
    assert.equal(validated.rows, 1797);
    assert.equal(validated.classes, 10);

    // The search: 12 grid points, the 1e-5 learning rates pruned early, the best survivor registered.
    const search = step(state, 'model_training.train_model').map;
    assert.equal(search?.total, 12);
    const grid = step(state, 'model_training.generate_hyperparams').output as { lr: number }[];
    const hopeless = grid.flatMap((point, index) => (point.lr === 0.00001 ? [index] : []));
    const pruned = (search?.prunedIndices ?? []).map((p) => p.index);
    // The median rule may also stop a slow starter; it must stop every trial that cannot learn.
    for (const index of hopeless) assert.ok(pruned.includes(index), `index ${index} (lr 1e-5) was not pruned: ${JSON.stringify(search)}`);
    assert.equal((search?.succeeded ?? 0) + (search?.pruned ?? 0), 12, JSON.stringify(search?.failures));
    const best = step(state, 'model_training.select_best_model').output as Best;
    const trained = step(state, 'model_training.train_model').output as Trial[];
    assert.equal(best.accuracy, Math.max(...trained.map((t) => t.accuracy)));
    // Trainyard's own copy of the model is in the best trial's artifacts prefix (a folder in the state dir).
    const prefix = path.join(worker.stateDir, 'artifacts', 'ml_training_pipeline', state.run.runId, 'model_training.train_model', String(best.best_index));
    assert.ok(best.model_path?.startsWith(`file://${prefix}/mlp-`), best.model_path);

    // MLflow: one parent run for the pipeline run, one nested run per trial, carrying its metrics.
    const tracked = state.run.mlflow;
    assert.ok(tracked, 'the run has an MLflow parent run');
    const experiment = await client.getExperiment(tracked.experimentId);
    assert.equal(experiment.name, 'daily-training-2026-03-01');
    const parent = await client.getRun(tracked.runId);
    assert.equal(parent.info.status, 'FINISHED');
    assert.equal(tagOf(parent, TRAINYARD_TAGS.pipelineId), 'ml_training_pipeline');
    assert.equal(tagOf(parent, TRAINYARD_TAGS.runId), state.run.runId);
    const byStep = await nestedRuns(tracked.experimentId, tracked.runId);
    const trials = byStep.get('model_training.train_model') ?? [];
    assert.equal(trials.length, 12, 'one MLflow run per trial, never two');
    const byIndex = new Map(trials.map((run) => [Number(tagOf(run, TRAINYARD_TAGS.mapIndex)), run]));
    assert.deepEqual([...byIndex.keys()].sort((a, b) => a - b), [...Array(12).keys()]);
    for (const [index, run] of byIndex) {
      const metrics = new Map((run.data.metrics ?? []).map((m) => [m.key, m]));
      assert.ok(metrics.has('val_accuracy'), `trial ${index} logged no val_accuracy: ${[...metrics.keys()].join(', ')}`);
      assert.ok((metrics.get('val_accuracy')?.step ?? 0) >= 4, `trial ${index} logged its per-epoch metric with the epoch as step`);
      assert.equal(tagOf(run, `${TRAINYARD_TAGS.mapValuePrefix}lr`), String(grid[index]?.lr));
      if (pruned.includes(index)) {
        assert.equal(run.info.status, 'KILLED', `pruned trial ${index}`);
        assert.match(tagOf(run, TRAINYARD_TAGS.reason) ?? '', /^pruned:/);
      } else {
        assert.equal(run.info.status, 'FINISHED', `trial ${index}`);
        assert.equal(run.data.params?.find((p) => p.key === 'lr')?.value, String(grid[index]?.lr), 'train.py logged its params');
      }
    }
    assert.equal(byIndex.get(best.best_index)?.info.run_id, best.mlflow_run_id, "the best trial's model was logged in its own run");
    for (const stepId of ['data_preparation.validate_data', 'data_preparation.preprocess_data', 'model_training.evaluate_model', 'deploy_model']) {
      assert.equal(byStep.get(stepId)?.length, 1, `${stepId} has one nested run`);
    }

    // The registry: version 1 is the best trial's model, scored on the test set, approved, and @champion.
    const registered = step(state, 'model_training.register_model').output as unknown as RegisteredVersion;
    assert.equal(registered.version, '1');
    const champion = await client.getModelVersionByAlias(MODEL, 'champion');
    assert.equal(champion?.version, '1');
    assert.equal(champion?.run_id, best.mlflow_run_id);
    assert.equal(tagOf(champion ?? {}, `${REGISTRY_TAGS.approvalPrefix}approver`), REVIEWER);
    const evaluation = step(state, 'model_training.evaluate_model').output as Evaluation;
    assert.equal(evaluation.model_uri, `models:/${MODEL}/1`);
    assert.ok(evaluation.accuracy > 0.9, `accuracy ${evaluation.accuracy}`);
    assert.ok(evaluation.f1_score > 0.9, `f1 ${evaluation.f1_score}`);
    const trainedRun = await client.getRun(best.mlflow_run_id);
    assert.equal(trainedRun.data.metrics?.find((m) => m.key === 'test_accuracy')?.value, evaluation.accuracy, "the test score is on the version's run");
    const compared = step(state, 'model_training.compare_baseline').output as unknown as Comparison;
    assert.equal(compared.shouldPromote, true);
    assert.deepEqual(step(state, 'deployment_decision').chosen, ['approve_deployment']);

    // The deploy serves @champion: version 1, the file the registry holds.
    const deployed = step(state, 'deploy_model').output as Deployment;
    assert.equal(deployed.version, 1);
    assert.equal(deployed.registered_model, MODEL);
    assert.equal(deployed.alias, 'champion');
    assert.equal(deployed.source_run_id, best.mlflow_run_id);
    assert.equal(createHash('sha256').update(readFileSync(deployed.path)).digest('hex'), deployed.sha256);
    const current = JSON.parse(readFileSync(path.join(path.dirname(path.dirname(deployed.path)), 'current.json'), 'utf8')) as { version: number; model_uri: string };
    assert.equal(current.version, 1);
    const message = sink.messages.at(-1)?.body;
    assert.match(String(message?.text), /production-model version 1, test accuracy [0-9.]+; .*; approval: approved; deployed version: 1$/);
    assert.equal(message?.run_id, state.run.runId);
    first = { state, evaluation, deployed };
  });

  it('registers a worse second run and compares it with @champion, but neither asks for approval nor promotes nor deploys it', async () => {
    assert.ok(first, 'the first run made a champion');
    const before = sink.messages.length;
    // One epoch per trial: a model that learns less than the champion did in 30.
    const handle = await startRun(env, worker, pipeline, { params: { threshold: 0.5, epochs: 1 }, startedBy: STARTER });
    const state = await finalState(handle);
    const registered = step(state, 'model_training.register_model').output as unknown as RegisteredVersion;
    assert.equal(registered.version, '2');
    const evaluation = step(state, 'model_training.evaluate_model').output as Evaluation;
    assert.equal(evaluation.model_uri, `models:/${MODEL}/2`);
    assert.ok(evaluation.accuracy < first.evaluation.accuracy, `one epoch (${evaluation.accuracy}) should not beat thirty (${first.evaluation.accuracy})`);
    const compared = step(state, 'model_training.compare_baseline').output as unknown as Comparison;
    assert.equal(compared.shouldPromote, false);
    assert.equal(compared.baseline.version, '1');
    assert.equal(compared.baseline.value, first.evaluation.accuracy);
    assert.match(compared.reason, /against @champion \(version 1, test_accuracy [0-9.]+\): improvement -?[0-9.]+ is below the minimum 0.001/);
    assert.deepEqual(step(state, 'deployment_decision').chosen, ['skip_deployment']);
    for (const id of ['approve_deployment', 'promote_model', 'deploy_model']) assert.equal(step(state, id).state, 'skipped', id);
    assert.deepEqual(step(state, 'skip_deployment').output, { deployed: false, reason: compared.reason });
    // The champion and what is served stay where they were.
    assert.equal((await client.getModelVersionByAlias(MODEL, 'champion'))?.version, '1');
    const version2 = await client.getModelVersion(MODEL, '2');
    assert.equal(tagOf(version2 ?? {}, REGISTRY_TAGS.shouldPromote), 'false');
    const current = JSON.parse(readFileSync(path.join(path.dirname(path.dirname(first.deployed.path)), 'current.json'), 'utf8')) as { version: number };
    assert.equal(current.version, 1);
    assert.equal(sink.messages.length, before + 1);
    assert.match(String(sink.messages.at(-1)?.body.text), /version 2, .*approval: not asked; deployed version: none$/);
  });

  it('keeps the models in S3 when the worker keeps its artifacts there, and MLflow keeps its copy in S3 too', async () => {
    const model = 'production-model-s3';
    const handle = await startRun(env, s3Worker, pipeline, { params: { threshold: 0.5, epochs: 10, model_name: model }, startedBy: STARTER });
    const waiting = await awaitingApproval(handle);
    const request = step(waiting, 'approve_deployment').approval;
    assert.equal(request?.model, model);
    await handle.executeUpdate(approveUpdate, { args: [{ stepId: 'approve_deployment', modelName: model, version: request?.version ?? '', approver: REVIEWER }] });
    const state = await finalState(handle);
    assert.equal(step(state, 'deploy_model').state, 'success');
    const best = step(state, 'model_training.select_best_model').output as Best;
    // Trainyard's copy, under the worker's S3 artifacts prefix.
    const key = `ml_training_pipeline/${state.run.runId}/model_training.train_model/${best.best_index}/`;
    assert.ok(best.model_path?.startsWith(`s3://trainyard-artifacts/${key}mlp-`), best.model_path);
    assert.ok((await store.read((best.model_path ?? '').slice('s3://trainyard-artifacts/'.length))).length > 1000);
    // MLflow's copy, the one the registry serves, in the MLflow server's bucket.
    const logged = await keysUnder(store.client, 'mlflow-artifacts', '');
    const files = logged.filter((k) => k.includes(`/models/${best.model_id}/artifacts/`)).map((k) => path.basename(k));
    assert.ok(files.includes('MLmodel'), `no MLmodel for ${best.model_id} in s3://mlflow-artifacts: ${files.join(', ')}`);
    assert.equal((await client.getModelVersionByAlias(model, 'champion'))?.version, '1');
    const deployed = step(state, 'deploy_model').output as Deployment;
    assert.equal(deployed.registered_model, model);
    assert.equal(deployed.version, 1);
    assert.equal(createHash('sha256').update(readFileSync(deployed.path)).digest('hex'), deployed.sha256);
    assert.ok(!existsSync(path.join(s3Worker.stateDir, 'artifacts')), 'artifacts went to the state dir as well');
  });
});
