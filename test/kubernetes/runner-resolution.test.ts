/**
 * Every way a run starts honours the runner: a `runner: 'kubernetes'` pipeline's
 * scheduled run and S3-event run put their pod steps on the local cluster, a run
 * request may still ask for the local runner, and a deployment default
 * (TRAINYARD_DEFAULT_RUNNER) reaches pipelines that name none, for API and
 * scheduled runs alike.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type RunState, runStateQuery } from '../../contract';
import { labelValue } from '../../activities/kubernetes/naming';
import { type Pipeline, type PodConfig, pipeline } from '../../pipeline';
import { createRegistry, ensureSchedules, scheduleIdOf } from '../../worker';
import { startApi } from '../support/api';
import { type TestCluster, listPods, startTestCluster } from '../support/kubernetes';
import { type TestS3, startTestS3 } from '../support/s3';
import { type TestWorker, eventually, startDevServer, startWorker } from '../support/temporal';

const BUCKET = 'runner-drops';
const TOKEN = 'runner-events-token';
const IMAGE = 'runner-tools:1';

/** Keeps its pods, so the test can find them after the run. */
const work: PodConfig = { image: IMAGE, cmds: ['true'], onFinishAction: 'keep_pod' };

const onKubernetes = pipeline({ id: 'on_kubernetes', runner: 'kubernetes', schedule: '@daily' }, (p) => {
  const data = p.s3KeySensor('wait_for_drop', { bucket: BUCKET, key: 'drops/{{ ds }}/data.csv', pokeInterval: '1h', timeout: '2h', startRunOnEvent: true });
  p.pod('work', work, { after: [data] });
});
const unnamed = pipeline({ id: 'runner_unnamed', schedule: '@daily' }, (p) => {
  p.pod('work', work);
});

describe('every run honours its runner', { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let cluster: TestCluster;
  let s3: TestS3;
  let worker: TestWorker;
  let app: INestApplication;
  let base: string;
  let defaulted: { app: INestApplication; base: string };

  before(async () => {
    [env, cluster, s3] = await Promise.all([startDevServer(), startTestCluster(), startTestS3([BUCKET])]);
    const imageDir = mkdtempSync(path.join(tmpdir(), 'trainyard-image-'));
    worker = await startWorker(env, [onKubernetes, unnamed], { kubeconfigPath: cluster.kubeconfigPath, s3: s3.options, localImages: { [IMAGE]: imageDir } });
    const registry = createRegistry([{ pipeline: onKubernetes }, { pipeline: unnamed }]);
    ({ app, base } = await startApi({ client: env.client, registry, taskQueue: worker.taskQueue, eventsToken: TOKEN }));
    defaulted = await startApi({ client: env.client, registry, taskQueue: worker.taskQueue, defaultRunner: 'kubernetes' });
  });
  after(async () => {
    await defaulted?.app.close();
    await app?.close();
    await worker?.stop();
    await env?.teardown();
    await Promise.all([cluster?.stop(), s3?.stop()]);
  });

  const podsOf = (runId: string) => listPods(cluster, 'default', `trainyard.io/run-id=${labelValue(runId)}`);
  const finished = (runId: string): Promise<RunState> => env.client.workflow.getHandle(runId).result() as Promise<RunState>;

  /** Triggers the pipeline's schedule (as the worker creates it) and waits for that run to end. */
  async function scheduledRun(p: Pipeline, defaultRunner?: 'kubernetes'): Promise<RunState> {
    await ensureSchedules(env.client, [p], worker.taskQueue, defaultRunner);
    const handle = env.client.schedule.getHandle(scheduleIdOf(p.spec.id));
    try {
      await handle.trigger();
      const runId = await eventually('the triggered run', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId, 30_000);
      return await finished(runId);
    } finally {
      await handle.delete();
    }
  }

  async function postRun(url: string, pipelineId: string, body: Record<string, unknown>): Promise<RunState> {
    const res = await fetch(`${url}/pipelines/${pipelineId}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 201, await res.clone().text());
    return finished(((await res.json()) as { runId: string }).runId);
  }

  it("a scheduled run of a runner: 'kubernetes' pipeline runs its pod step as a pod", async () => {
    await s3.put(BUCKET, `drops/${new Date().toISOString().slice(0, 10)}/data.csv`, 'a,b\n');
    const state = await scheduledRun(onKubernetes);
    assert.equal(state.status, 'success');
    assert.equal(state.run.runner, 'kubernetes');
    const pods = await podsOf(state.run.runId);
    assert.equal(pods.length, 1, 'one pod for the pod step');
    assert.equal(pods[0]?.metadata?.labels?.['trainyard.io/step'], 'work');
    assert.equal(pods[0]?.status?.phase, 'Succeeded');
  });

  it("an S3 event that starts a run of a runner: 'kubernetes' pipeline runs its pod step as a pod", async () => {
    await s3.put(BUCKET, 'drops/2026-03-05/data.csv', 'a,b\n');
    const res = await fetch(`${base}/events/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key: 'drops/2026-03-05/data.csv', size: 4 } } }] }),
    });
    assert.equal(res.status, 202);
    const { outcomes } = (await res.json()) as { outcomes: { action: string; runIds: string[] }[] };
    assert.equal(outcomes[0]?.action, 'started');
    const runId = outcomes[0]?.runIds[0] ?? '';
    const state = await finished(runId);
    assert.equal(state.status, 'success');
    assert.equal(state.run.runner, 'kubernetes');
    assert.equal(state.run.logicalDate, '2026-03-05T00:00:00.000Z');
    assert.equal((await podsOf(runId)).length, 1);
  });

  it('a request for the local runner wins over the pipeline: no pod is created', async () => {
    await s3.put(BUCKET, 'drops/2026-03-06/data.csv', 'a,b\n');
    const state = await postRun(base, 'on_kubernetes', { runner: 'local', logicalDate: '2026-03-06' });
    assert.equal(state.status, 'success');
    assert.equal(state.run.runner, 'local');
    assert.deepEqual(await podsOf(state.run.runId), []);
    // The same request without a runner takes the pipeline's: the control that the search finds pods.
    const control = await postRun(base, 'on_kubernetes', { logicalDate: '2026-03-06' });
    assert.equal(control.run.runner, 'kubernetes');
    assert.equal((await podsOf(control.run.runId)).length, 1);
  });

  it("the deployment's default runner reaches a pipeline that names none, for API and scheduled runs; without it, local", async () => {
    const viaApi = await postRun(defaulted.base, 'runner_unnamed', {});
    assert.equal(viaApi.run.runner, 'kubernetes');
    assert.equal((await podsOf(viaApi.run.runId)).length, 1);

    const scheduled = await scheduledRun(unnamed, 'kubernetes');
    assert.equal(scheduled.run.runner, 'kubernetes');
    assert.equal((await podsOf(scheduled.run.runId)).length, 1);

    const plain = await postRun(base, 'runner_unnamed', {});
    assert.equal(plain.run.runner, 'local');
    assert.deepEqual(await podsOf(plain.run.runId), []);
    const state = await env.client.workflow.getHandle(plain.run.runId).query(runStateQuery);
    assert.equal(state.steps[0]?.state, 'success');
  });
});
