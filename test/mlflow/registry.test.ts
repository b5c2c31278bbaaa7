/**
 * The registry steps on a real MLflow server and a real Temporal server:
 * registering is idempotent under retry, the comparison decides both ways (and
 * with no champion yet), promoting moves the alias and tags the version it
 * replaced, and what Trainyard wrote reads back the same through the mlflow
 * Python client.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { MlflowClient, REGISTRY_TAGS, TRAINYARD_TAGS } from '../../activities';
import { createMlflowActivities, tagOf } from '../../activities/mlflow';
import type { PromoteInput, RegisterModelInput } from '../../activities/mlflow/registry';
import { type TestMlflow, startTestMlflow } from '../../harness';
import { type Comparison, type Promotion, type RegisteredVersion, defineTask, pipeline } from '../../pipeline';
import { approveUpdate, rejectUpdate, runStateQuery } from '../../contract';
import { eventually, runToEnd, startRun, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

const MODEL = 'registry-model';
const GATED = 'gated-model';

const keep = defineTask('registry.keep', (args: { reason: string }) => ({ kept: true, reason: args.reason }));

/** Register the candidate, compare it with @champion, promote it only if it is better. */
const release = pipeline({ id: 'release', params: { source: 'none', run_id: 'none', min_value: 0.5 } }, (p) => {
  const registered = p.registerModel('register', { model: MODEL, source: '{{ params.source }}', runId: '{{ params.run_id }}', tags: { team: 'ml' } });
  const compared = p.compareBaseline('compare', {
    model: MODEL,
    version: registered.get('version'),
    metric: 'test_accuracy',
    minValue: '{{ params.min_value }}',
    minImprovement: 0.01,
  });
  const decision = p.branch('decide', { cases: [{ if: 'xcom.compare.shouldPromote', then: 'promote' }], otherwise: 'keep' }, { after: [compared] });
  p.promote('promote', { model: MODEL, version: registered.get('version') }, { after: [decision] });
  p.task('keep', keep, { reason: compared.get('reason') }, { after: [decision] });
});

/** Register, wait for a person's approval of that exact version, then promote it. */
const gated = pipeline({ id: 'gated_release', params: { source: 'none', run_id: 'none' } }, (p) => {
  const registered = p.registerModel('register', { model: GATED, source: '{{ params.source }}', runId: '{{ params.run_id }}' });
  const approved = p.approval('approve', { model: GATED, version: registered.get('version'), timeout: '1h' });
  p.promote('promote', { model: GATED, version: registered.get('version') }, { after: [approved] });
});

const invalid = pipeline({ id: 'registry_invalid' }, (p) => {
  p.compareBaseline('compare', { model: MODEL, version: 999, metric: 'test_accuracy' });
});

describe('the registry steps', { timeout: 180_000 }, () => {
  let mlflow: TestMlflow;
  let client: MlflowClient;
  let experimentId: string;
  before(async () => {
    mlflow = await startTestMlflow();
    client = new MlflowClient({ trackingUri: mlflow.url });
    experimentId = await client.getOrCreateExperiment('registry-candidates');
  });
  const temporal = useWorkflowWorker([release, gated, invalid], () => ({ mlflow: { trackingUri: mlflow.url } }));
  after(async () => {
    await mlflow?.stop();
  });

  /** A training run with a test accuracy, as the example's evaluate step leaves it. */
  const candidate = async (accuracy: number): Promise<{ source: string; run_id: string }> => {
    const run = await client.createRun({ experimentId });
    await client.logBatch(run.info.run_id, { metrics: [{ key: 'test_accuracy', value: accuracy }] });
    return { source: `${run.info.artifact_uri}/model`, run_id: run.info.run_id };
  };

  const release_ = async (accuracy: number, extra: Record<string, number> = {}) => {
    const params = { ...(await candidate(accuracy)), ...extra };
    const finished = await runToEnd(temporal.env, temporal.worker, release, { params });
    assert.equal(finished.error, undefined, finished.error);
    return { ...finished, params };
  };

  it('promotes the first model when there is no champion yet (baseline 0)', async () => {
    const { state, params } = await release_(0.9);
    const registered = step(state, 'register').output as RegisteredVersion;
    assert.deepEqual(registered, { model: MODEL, version: '1', source: params.source, runId: params.run_id, created: true });
    const compared = step(state, 'compare').output as Comparison;
    assert.deepEqual(compared.baseline, { alias: 'champion', version: null, value: 0 });
    assert.equal(compared.candidate.value, 0.9);
    assert.equal(compared.improvement, 0.9);
    assert.equal(compared.shouldPromote, true);
    assert.equal(step(state, 'promote').state, 'success');
    assert.deepEqual(step(state, 'promote').output, { model: MODEL, alias: 'champion', version: '1', previous: null, changed: true });
    assert.equal((await client.getModelVersionByAlias(MODEL, 'champion'))?.version, '1');
    const version = await client.getModelVersion(MODEL, '1');
    assert.equal(tagOf(version ?? {}, REGISTRY_TAGS.registeredBy), `${state.run.runId} register`);
    assert.equal(tagOf(version ?? {}, 'team'), 'ml');
    assert.equal(tagOf(version ?? {}, TRAINYARD_TAGS.runId), state.run.runId);
  });

  it('keeps the champion when the candidate does not beat it by the minimum improvement', async () => {
    const { state } = await release_(0.905);
    const compared = step(state, 'compare').output as Comparison;
    assert.deepEqual(compared.baseline, { alias: 'champion', version: '1', value: 0.9 });
    assert.equal(compared.improvement, 0.005);
    assert.equal(compared.shouldPromote, false);
    assert.match(compared.reason, /improvement 0.005 is below the minimum 0.01/);
    assert.equal(step(state, 'promote').state, 'skipped');
    assert.equal(step(state, 'keep').state, 'success');
    // The champion stayed where it was; the candidate knows what it was compared with.
    assert.equal((await client.getModelVersionByAlias(MODEL, 'champion'))?.version, '1');
    const version = await client.getModelVersion(MODEL, '2');
    assert.equal(tagOf(version ?? {}, REGISTRY_TAGS.comparedWith), 'champion=1');
    assert.equal(tagOf(version ?? {}, REGISTRY_TAGS.shouldPromote), 'false');
  });

  it('keeps the champion when the candidate misses the minimum value, however much better it is', async () => {
    const { state } = await release_(0.97, { min_value: 0.99 });
    const compared = step(state, 'compare').output as Comparison;
    assert.equal(compared.shouldPromote, false);
    assert.match(compared.reason, /does not clear the minimum 0.99/);
    assert.equal((await client.getModelVersionByAlias(MODEL, 'champion'))?.version, '1');
  });

  it('promotes a better model and tags the version it replaced', async () => {
    const { state } = await release_(0.95);
    const compared = step(state, 'compare').output as Comparison;
    assert.equal(compared.shouldPromote, true);
    assert.equal(compared.improvement, 0.05);
    const promotion = step(state, 'promote').output as Promotion;
    assert.deepEqual(promotion, { model: MODEL, alias: 'champion', version: '4', previous: '1', changed: true });
    assert.equal(tagOf((await client.getModelVersion(MODEL, '1')) ?? {}, `${REGISTRY_TAGS.replacedByPrefix}champion`), '4');
    assert.equal(tagOf((await client.getModelVersion(MODEL, '4')) ?? {}, `${REGISTRY_TAGS.previousPrefix}champion`), '1');
  });

  it('registers once and promotes once however often a try is retried', async () => {
    const activities = createMlflowActivities({ trackingUri: mlflow.url });
    const activity = new MockActivityEnvironment();
    const { source, run_id } = await candidate(0.5);
    const run = { pipelineId: 'release', pipelineVersion: 'v', runId: 'retried-run', logicalDate: '2026-06-01T00:00:00.000Z', params: {}, runner: 'local' as const };
    const register = (attempt: number): Promise<{ xcom: RegisteredVersion }> => activity.run((i: RegisterModelInput) => activities.registerModel(i), { run, stepId: 'register', attempt, model: MODEL, source, runId: run_id });
    const first = await register(1);
    const again = await register(2);
    assert.equal(first.xcom.created, true);
    assert.deepEqual(again.xcom, { ...first.xcom, created: false });
    const versions = await client.searchModelVersions(`name = '${MODEL}'`);
    assert.equal(versions.filter((v) => tagOf(v, REGISTRY_TAGS.registeredBy) === 'retried-run register').length, 1);

    const promote = (): Promise<{ xcom: Promotion }> => activity.run((i: PromoteInput) => activities.promoteModel(i), { run, stepId: 'promote', attempt: 1, model: MODEL, version: first.xcom.version, alias: 'challenger' });
    assert.deepEqual((await promote()).xcom, { model: MODEL, alias: 'challenger', version: first.xcom.version, previous: null, changed: true });
    assert.deepEqual((await promote()).xcom, { model: MODEL, alias: 'challenger', version: first.xcom.version, previous: null, changed: false });
  });

  for (const decision of ['approve', 'reject'] as const) {
    it(`shows the version's metrics to approvers and records the decision (${decision}) on the version`, async () => {
      const params = await candidate(decision === 'approve' ? 0.93 : 0.6);
      const handle = await startRun(temporal.env, temporal.worker, gated, { params, startedBy: 'alice@example.com' });
      const waiting = await eventually('the approval to show the version with its metrics', async () => {
        const approval = step(await handle.query(runStateQuery), 'approve').approval;
        return approval?.metrics ? approval : undefined;
      });
      assert.deepEqual(waiting.metrics, { test_accuracy: decision === 'approve' ? 0.93 : 0.6 });
      const update = decision === 'approve' ? approveUpdate : rejectUpdate;
      const record = await handle.executeUpdate(update, { args: [{ stepId: 'approve', modelName: GATED, version: waiting.version, approver: 'bob@example.com', comment: 'looked at it' }] });
      await handle.result();
      const state = await handle.query(runStateQuery);
      const tags = (await client.getModelVersion(GATED, waiting.version))?.tags ?? [];
      const approvalTags = Object.fromEntries(tags.filter((t) => t.key.startsWith(REGISTRY_TAGS.approvalPrefix)).map((t) => [t.key.slice(REGISTRY_TAGS.approvalPrefix.length), t.value]));
      assert.deepEqual(approvalTags, {
        decision: decision === 'approve' ? 'approved' : 'rejected',
        approver: 'bob@example.com',
        decided_at: record.decidedAt,
        comment: 'looked at it',
        run_id: handle.workflowId,
        step_id: 'approve',
      });
      const champion = await client.getModelVersionByAlias(GATED, 'champion');
      if (decision === 'approve') {
        assert.equal(step(state, 'promote').state, 'success');
        assert.equal(champion?.version, waiting.version);
      } else {
        assert.equal(step(state, 'promote').state, 'skipped');
        // The approved version of the earlier test stays the champion.
        assert.notEqual(champion?.version, waiting.version);
      }
    });
  }

  it('fails clearly, without retrying, on a version the model does not have', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, invalid);
    assert.match(error ?? '', /run failed/);
    assert.match(step(state, 'compare').error ?? '', /registered model 'registry-model' has no version 999/);
    assert.equal(step(state, 'compare').attempt, 1);
  });

  it('reads back the same through the mlflow Python client', () => {
    const script = `
import json, sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
v = c.get_model_version_by_alias("${MODEL}", "champion")
runs = c.search_runs([sys.argv[2]], filter_string="metrics.test_accuracy > 0.94")
print(json.dumps({"version": v.version, "run_id": v.run_id, "tags": v.tags, "runs": [r.info.run_id for r in runs]}))
`;
    const out = spawnSync('python3', ['-c', script, mlflow.url, experimentId], { encoding: 'utf8', env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true' } });
    assert.equal(out.status, 0, out.stderr);
    const seen = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as { version: string; run_id: string; tags: Record<string, string>; runs: string[] };
    assert.equal(seen.version, '4');
    assert.equal(seen.tags[`${REGISTRY_TAGS.previousPrefix}champion`], '1');
    assert.equal(seen.runs.length, 2, 'the 0.95 and 0.97 candidates');
    assert.ok(seen.runs.includes(seen.run_id));
  });
});
