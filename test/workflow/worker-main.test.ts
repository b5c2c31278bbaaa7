/** The worker process as production runs it: env config, serving runs, SIGTERM, bad config. */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pipeline } from '../fixtures/echo-pipeline';
import { PIPELINE_RUN_WORKFLOW, type RunState } from '../../workflows/definitions';
import { eventually, startDevServer, tempStateDir } from '../support/temporal';

const MAIN = path.resolve(__dirname, '..', '..', 'worker', 'main.js');

function startWorkerProcess(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string } {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, TRAINYARD_PIPELINES: 'test/fixtures/echo-pipeline.js', TRAINYARD_STATE_DIR: tempStateDir(), ...env },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return { child, output: () => output };
}

async function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

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
    await eventually('the worker to start', () => (output().includes('trainyard worker on') ? true : undefined), 30_000);
    assert.match(output(), /pipelines: api_echo; schedules: none/);
    const result = (await env.client.workflow.execute(PIPELINE_RUN_WORKFLOW, {
      taskQueue: 'worker-main-test',
      workflowId: `worker-main-${Date.now()}`,
      args: [{ spec: pipeline.spec, pipelineVersion: pipeline.version, logicalDate: '2026-05-01' }],
    })) as RunState;
    assert.equal(result.status, 'success');
    assert.deepEqual(result.steps.find((s) => s.id === 'second')?.output, { day: '2026-05-01' });
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0, output());
  });

  it('says in one line which pipeline module it cannot load', async () => {
    const { child, output } = startWorkerProcess({ TEMPORAL_ADDRESS: env.address, TRAINYARD_PIPELINES: 'nowhere/missing-module' });
    assert.equal(await exitCode(child), 1);
    const lines = output().trim().split('\n');
    assert.equal(lines.length, 1, output());
    assert.match(lines[0] ?? '', /^trainyard worker: cannot load pipeline module 'nowhere\/missing-module'/);
  });
});
