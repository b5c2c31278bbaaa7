/**
 * One MLflow run per try, even when the worker dies mid-try: a kill -9 of the
 * worker process during a trial, a new worker resumes the same try, and the
 * try's process (old and new) saw the same MLflow run, the only one with its tag.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MlflowClient, TRAINYARD_TAGS } from '../../activities';
import { tagClause, tagOf } from '../../activities/mlflow';
import { PIPELINE_RUN_WORKFLOW, type RunState } from '../../contract';
import { type TestMlflow, startTestMlflow } from '../../harness';
import { pipeline } from '../fixtures/tracked-lost-try-pipeline';
import { exitCode, processAlive, spawnNode } from '../support/process';
import { eventually, startDevServer, tempStateDir } from '../support/temporal';

const MAIN = path.resolve(__dirname, '..', '..', 'worker', 'main.js');

describe('MLflow runs when a worker is killed mid-try', { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let mlflow: TestMlflow;
  before(async () => {
    [env, mlflow] = await Promise.all([startDevServer(), startTestMlflow()]);
  });
  after(async () => {
    await env?.teardown();
    await mlflow?.stop();
  });

  it('resumes the killed try in the MLflow run it already had, and makes no second one', async () => {
    const log = path.join(tempStateDir(), 'trials.log');
    const workerEnv = {
      TEMPORAL_ADDRESS: env.address,
      TRAINYARD_TASK_QUEUE: 'tracked-lost-try',
      TRAINYARD_PIPELINES: 'test/fixtures/tracked-lost-try-pipeline.js',
      TRAINYARD_STATE_DIR: tempStateDir(),
      TRAINYARD_MLFLOW_TRACKING_URI: mlflow.url,
    };
    const first = spawnNode(MAIN, workerEnv);
    const started = (): string => first.output().stdout + first.output().stderr;
    await eventually('the first worker to start', () => (started().includes('trainyard worker on') ? true : undefined), 30_000);
    const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: 'tracked-lost-try',
      workflowId: `tracked-lost-try-${Date.now()}`,
      args: [{ spec: pipeline.spec, params: { log } }],
    });
    const lines = (): string[][] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')) : []);
    const [, orphanPid, firstRunId] = await eventually('trial 0 to start its process', () => lines().find((l) => l[0] === '0'));
    const orphan = Number(orphanPid);
    // Let the server hear of the process (the try's heartbeat) before the worker dies.
    await eventually('trial 0 to report its process', async () => {
      const { executions } = await env.client.workflowService.listWorkflowExecutions({ namespace: 'default', query: `WorkflowId STARTS_WITH "${handle.workflowId}"` });
      for (const e of executions) {
        const described = await env.client.workflow.getHandle(e.execution?.workflowId ?? '').describe();
        if (described.raw.pendingActivities?.some((a) => (a.heartbeatDetails?.payloads?.length ?? 0) > 0)) return true;
      }
      return undefined;
    });
    first.child.kill('SIGKILL');
    await exitCode(first.child);
    assert.ok(processAlive(orphan), 'the killed worker left its trial process running');

    const second = spawnNode(MAIN, workerEnv);
    try {
      const result = (await handle.result()) as RunState;
      assert.equal(result.status, 'success');
      const zero = lines().filter((l) => l[0] === '0');
      assert.equal(zero.length, 2, 'the resumed try ran the command once more');
      // The old process and the resumed one were given the same MLflow run.
      assert.equal(zero[1]?.[2], firstRunId);
      const client = new MlflowClient({ trackingUri: mlflow.url });
      const experimentId = (await client.getExperimentByName('tracked-lost-try'))?.experiment_id ?? '';
      const all = await client.searchRuns({ experimentIds: [experimentId], filter: tagClause(TRAINYARD_TAGS.runId, handle.workflowId) });
      const trialZero = all.filter((r) => tagOf(r, TRAINYARD_TAGS.try) === `${handle.workflowId} trial[0]#1`);
      assert.deepEqual(trialZero.map((r) => r.info.run_id), [firstRunId]);
      assert.equal(trialZero[0]?.info.status, 'FINISHED');
      // Control: the search does find the other trial's run, and the parent, and nothing else.
      assert.deepEqual(all.map((r) => tagOf(r, TRAINYARD_TAGS.level)).sort(), ['run', 'try', 'try']);
      await eventually('the process the killed worker left behind to be gone', () => (processAlive(orphan) ? undefined : true), 10_000);
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
      if (processAlive(orphan)) process.kill(-orphan, 'SIGKILL');
    }
  });
});
