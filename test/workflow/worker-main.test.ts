/** The worker process as production runs it: env config, serving runs, SIGTERM, bad config. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pipeline } from '../fixtures/echo-pipeline';
import { PIPELINE_RUN_WORKFLOW, type RunState } from '../../workflows/definitions';
import { type NodeProcess, exitCode, spawnNode } from '../support/process';
import { eventually, startDevServer, tempStateDir } from '../support/temporal';

const MAIN = path.resolve(__dirname, '..', '..', 'worker', 'main.js');

function startWorkerProcess(env: Record<string, string>): NodeProcess {
  return spawnNode(MAIN, { TRAINYARD_PIPELINES: 'test/fixtures/echo-pipeline.js', TRAINYARD_STATE_DIR: tempStateDir(), ...env });
}

const printed = ({ stdout, stderr }: { stdout: string; stderr: string }): string => stdout + stderr;

describe('worker/main', { timeout: 60_000 }, () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  it('serves runs on its task queue and stops cleanly on SIGTERM', async () => {
    const { child, output } = startWorkerProcess({ TEMPORAL_ADDRESS: env.address, TRAINYARD_TASK_QUEUE: 'worker-main-test' });
    await eventually('the worker to start', () => (printed(output()).includes('trainyard worker on') ? true : undefined), 30_000);
    assert.match(printed(output()), /pipelines: api_echo; schedules: none/);
    const result = (await env.client.workflow.execute(PIPELINE_RUN_WORKFLOW, {
      taskQueue: 'worker-main-test',
      workflowId: `worker-main-${Date.now()}`,
      args: [{ spec: pipeline.spec, pipelineVersion: pipeline.version, logicalDate: '2026-05-01' }],
    })) as RunState;
    assert.equal(result.status, 'success');
    assert.deepEqual(result.steps.find((s) => s.id === 'second')?.output, { day: '2026-05-01' });
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0, printed(output()));
  });

  it('says in one line which pipeline module it cannot load', async () => {
    const { child, output } = startWorkerProcess({ TEMPORAL_ADDRESS: env.address, TRAINYARD_PIPELINES: 'nowhere/missing-module' });
    assert.equal(await exitCode(child), 1);
    const lines = printed(output()).trim().split('\n');
    assert.equal(lines.length, 1, printed(output()));
    assert.match(lines[0] ?? '', /^trainyard worker: cannot load pipeline module 'nowhere\/missing-module'/);
  });
});
